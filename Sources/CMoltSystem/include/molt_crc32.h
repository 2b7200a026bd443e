#ifndef MOLT_CRC32_H
#define MOLT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Ways to fold CRC-32 (zlib's) over long inputs, each needing the ones before it on the CPU. */
typedef enum {
    MOLT_CRC32_TABLE = 0, /* none here: the caller's table-driven CRC (zlib's) does it all */
    MOLT_CRC32_XMM = 1,   /* PCLMULQDQ on 16-byte lanes */
    MOLT_CRC32_YMM = 2,   /* VPCLMULQDQ on 32-byte lanes (AVX2) */
    MOLT_CRC32_ZMM = 3,   /* VPCLMULQDQ on 64-byte lanes (AVX-512) */
} molt_crc32_path;

/* The widest path this CPU (and its OS) supports. */
molt_crc32_path molt_crc32_best_path(void);

/* Bytes a path folds at a time: 128, 256 for ZMM, 0 for TABLE. */
size_t molt_crc32_block_size(molt_crc32_path path);

/* Folds `blocks` blocks of `data` (of the path's block size) into `state`, continuing from
 * zlib's crc32 value `crc`. Returns the bytes of state written: their crc32 from 0xffffffff
 * (zlib's convention) is the crc32 of `data` from `crc`. Returns 0, and does nothing, when
 * `blocks` is 0 or the CPU lacks the path. */
size_t molt_crc32_fold(molt_crc32_path path, uint32_t crc, const void *data, size_t blocks, uint8_t state[256]);

#endif
