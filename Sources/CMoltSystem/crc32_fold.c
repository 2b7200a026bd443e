#include "molt_crc32.h"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* CRC-32 (zlib's polynomial, bit-reflected) by carry-less multiplication, after Intel's "Fast
 * CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Gopal et al., 2009).
 * The input is eight 16-byte lanes wide. Each lane L is replaced, one block on, by
 * L.low * k(D + 32) xor L.high * k(D - 32) xor the lane D bits further on, which leaves the
 * CRC unchanged; D is 1024 bits (a 128-byte block), or 2048 for the 256-byte blocks of the
 * AVX-512 path. The constants are the bit-reflected remainders of x^n mod P, shifted left
 * once: k(n) = reflect32(x^n mod P) << 1 (k(544) = 0x154442bd4 is the one in the paper).
 * What is left, the lanes of the last block, is a message with the same CRC from state 0, which
 * the caller finishes with a table-driven CRC. */

#if defined(__x86_64__) || defined(__i386__)
#define K1024 0x1e88ef372, 0x14a7fe880 /* k(1056), k(992) */
#define K2048 0x11542778a, 0x1322d1430 /* k(2080), k(2016) */

#define XMM_TARGET __attribute__((target("pclmul,sse4.1")))
#define YMM_TARGET __attribute__((target("pclmul,sse4.1,avx2,vpclmulqdq")))
#define ZMM_TARGET __attribute__((target("pclmul,sse4.1,avx2,avx512f,avx512vl,vpclmulqdq")))

XMM_TARGET static size_t fold_xmm(uint32_t crc, const uint8_t *p, size_t blocks, uint8_t *state) {
    const __m128i k = _mm_set_epi64x(0x14a7fe880, 0x1e88ef372);
    __m128i x[8];
    for (int j = 0; j < 8; j++) x[j] = _mm_loadu_si128((const __m128i *)(p + 16 * j));
    x[0] = _mm_xor_si128(x[0], _mm_cvtsi32_si128((int)~crc));
    for (size_t b = 1; b < blocks; b++) {
        p += 128;
        for (int j = 0; j < 8; j++) {
            __m128i product = _mm_xor_si128(_mm_clmulepi64_si128(x[j], k, 0x00), _mm_clmulepi64_si128(x[j], k, 0x11));
            x[j] = _mm_xor_si128(product, _mm_loadu_si128((const __m128i *)(p + 16 * j)));
        }
    }
    for (int j = 0; j < 8; j++) _mm_storeu_si128((__m128i *)(state + 16 * j), x[j]);
    return 128;
}

YMM_TARGET static size_t fold_ymm(uint32_t crc, const uint8_t *p, size_t blocks, uint8_t *state) {
    const __m256i k = _mm256_broadcastsi128_si256(_mm_set_epi64x(0x14a7fe880, 0x1e88ef372));
    __m256i x[4];
    for (int j = 0; j < 4; j++) x[j] = _mm256_loadu_si256((const __m256i *)(p + 32 * j));
    x[0] = _mm256_xor_si256(x[0], _mm256_zextsi128_si256(_mm_cvtsi32_si128((int)~crc)));
    for (size_t b = 1; b < blocks; b++) {
        p += 128;
        for (int j = 0; j < 4; j++) {
            __m256i product = _mm256_xor_si256(_mm256_clmulepi64_epi128(x[j], k, 0x00), _mm256_clmulepi64_epi128(x[j], k, 0x11));
            x[j] = _mm256_xor_si256(product, _mm256_loadu_si256((const __m256i *)(p + 32 * j)));
        }
    }
    for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(state + 32 * j), x[j]);
    return 128;
}

ZMM_TARGET static size_t fold_zmm(uint32_t crc, const uint8_t *p, size_t blocks, uint8_t *state) {
    const __m512i k = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1322d1430, 0x11542778a));
    __m512i x[4];
    for (int j = 0; j < 4; j++) x[j] = _mm512_loadu_si512(p + 64 * j);
    x[0] = _mm512_xor_si512(x[0], _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    for (size_t b = 1; b < blocks; b++) {
        p += 256;
        for (int j = 0; j < 4; j++) /* 0x96: a xor b xor c */
            x[j] = _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x[j], k, 0x00), _mm512_clmulepi64_epi128(x[j], k, 0x11),
                                             _mm512_loadu_si512(p + 64 * j), 0x96);
    }
    for (int j = 0; j < 4; j++) _mm512_storeu_si512(state + 64 * j, x[j]);
    return 256;
}
#endif

molt_crc32_path molt_crc32_best_path(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int best = -1;
    if (best < 0) { /* idempotent, so a racing first call is harmless */
        __builtin_cpu_init();
        int clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
        int wide = clmul && __builtin_cpu_supports("vpclmulqdq");
        if (wide && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) best = MOLT_CRC32_ZMM;
        else if (wide && __builtin_cpu_supports("avx2")) best = MOLT_CRC32_YMM;
        else best = clmul ? MOLT_CRC32_XMM : MOLT_CRC32_TABLE;
    }
    return (molt_crc32_path)best;
#else
    return MOLT_CRC32_TABLE;
#endif
}

size_t molt_crc32_block_size(molt_crc32_path path) {
    return path == MOLT_CRC32_ZMM ? 256 : path == MOLT_CRC32_TABLE ? 0 : 128;
}

size_t molt_crc32_fold(molt_crc32_path path, uint32_t crc, const void *data, size_t blocks, uint8_t state[256]) {
    if (blocks == 0 || path > molt_crc32_best_path()) return 0;
#if defined(__x86_64__) || defined(__i386__)
    switch (path) {
    case MOLT_CRC32_XMM: return fold_xmm(crc, data, blocks, state);
    case MOLT_CRC32_YMM: return fold_ymm(crc, data, blocks, state);
    case MOLT_CRC32_ZMM: return fold_zmm(crc, data, blocks, state);
    case MOLT_CRC32_TABLE: break;
    }
#else
    (void)crc, (void)data, (void)state;
#endif
    return 0;
}
