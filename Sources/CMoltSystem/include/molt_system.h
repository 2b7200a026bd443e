#ifndef MOLT_SYSTEM_H
#define MOLT_SYSTEM_H

#include <stdint.h>
#include <sys/types.h>

#include "molt_cpu.h"

/// copy_file_range(2), which Swift's Glibc module does not export (it needs _GNU_SOURCE).
/// Copies `length` bytes from `in_fd` at `*in_offset` to `out_fd` at its file position,
/// inside the kernel. Returns bytes copied, or -1 with errno set.
ssize_t molt_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, size_t length);

/// Lowers the calling thread's scheduling priority to `niceness` (0-19; Linux keeps it per
/// thread, and threads it creates inherit it). Returns 0, or -1 with errno set.
int molt_set_thread_niceness(int niceness);

#endif
