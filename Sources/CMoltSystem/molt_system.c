#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "molt_system.h"

ssize_t molt_copy_file_range(int in_fd, int64_t *in_offset, int out_fd, size_t length) {
    off64_t offset = *in_offset;
    ssize_t n = copy_file_range(in_fd, &offset, out_fd, NULL, length, 0);
    *in_offset = offset;
    return n;
}

int molt_set_thread_niceness(int niceness) {
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), niceness);
}

int64_t molt_mapping_kib(const void *start, size_t bytes, const char *field) {
    FILE *smaps = fopen("/proc/self/smaps", "r");
    if (!smaps) return -1;
    uintptr_t begin = (uintptr_t)start, end = begin + bytes;
    size_t length = strlen(field);
    char line[512];
    int inside = 0, seen = 0;
    int64_t total = 0;
    while (fgets(line, sizeof line, smaps)) {
        unsigned long low, high;
        char *dash = strchr(line, '-'), *space = strchr(line, ' ');
        /* A mapping's first line is "low-high perms ...": its dash comes before any space. */
        if (dash && space && dash < space && sscanf(line, "%lx-%lx ", &low, &high) == 2) {
            inside = low < end && high > begin;
        } else if (inside && strncmp(line, field, length) == 0 && line[length] == ':') {
            total += strtoll(line + length + 1, NULL, 10);
            seen = 1;
        }
    }
    fclose(smaps);
    return seen ? total : -1;
}

int molt_advise_huge_pages(void *start, size_t bytes) {
#ifdef MADV_HUGEPAGE
    return madvise(start, bytes, MADV_HUGEPAGE);
#else
    (void)start, (void)bytes;
    errno = ENOSYS;
    return -1;
#endif
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

int molt_populate_read(void *start, size_t bytes) { return madvise(start, bytes, MADV_POPULATE_READ); }

int molt_drop_cached_pages(int fd, int64_t offset, int64_t length) {
    return posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_DONTNEED);
}
