#ifndef MOLT_SYSTEM_H
#define MOLT_SYSTEM_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "molt_cpu.h"

/// copy_file_range(2), which Swift's Glibc module does not export (it needs _GNU_SOURCE).
/// Copies `length` bytes from `in_fd` at `*in_offset` to `out_fd` at its file position,
/// inside the kernel. Returns bytes copied, or -1 with errno set.
ssize_t molt_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, size_t length);

/// Lowers the calling thread's scheduling priority to `niceness` (0-19; Linux keeps it per
/// thread, and threads it creates inherit it). Returns 0, or -1 with errno set.
int molt_set_thread_niceness(int niceness);

/// The sum of one field of /proc/self/smaps ("FilePmdMapped", "AnonHugePages", ...), in KiB,
/// over the mappings that overlap [start, start + bytes). Returns -1 where the kernel does not
/// say (no /proc, or no such field).
int64_t molt_mapping_kib(const void *start, size_t bytes, const char *field);

/// madvise(MADV_HUGEPAGE): asks for transparent huge pages for the range, which for a file
/// mapping also makes readahead fill the page cache with 2 MiB folios. Returns 0, or -1 with
/// errno set.
int molt_advise_huge_pages(void *start, size_t bytes);

/// madvise(MADV_POPULATE_READ) (Linux 5.14): faults the range in for reading, as touching
/// every page would, in one call. Returns 0, or -1 with errno set.
int molt_populate_read(void *start, size_t bytes);

/// The parts of [start, start + bytes) not mapped by huge pages just now (4 KiB pages, or not
/// present), as up to `capacity` pairs [begin, end) of byte offsets from `start`, in order,
/// adjacent parts merged, by the pagemap's PAGEMAP_SCAN ioctl (Linux 6.7). Returns how many
/// pairs, or -1 where the kernel cannot say or more than `capacity` would be needed.
int64_t molt_small_page_ranges(const void *start, size_t bytes, int64_t *ranges, int64_t capacity);

/// Drops a range of a file's clean page-cache pages that no process maps
/// (posix_fadvise POSIX_FADV_DONTNEED). Returns 0, or an error number.
int molt_drop_cached_pages(int fd, int64_t offset, int64_t length);

#endif
