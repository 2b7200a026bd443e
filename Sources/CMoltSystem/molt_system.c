#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* PAGEMAP_SCAN's interface (include/uapi/linux/fs.h, Linux 6.7), spelled out here because
 * the C library's kernel headers may predate it; the kernel checks `size`. */
typedef struct {
    uint64_t start, end, categories;
} pagemap_region;
typedef struct {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
} pagemap_scan;
#define PAGEMAP_SCAN_REQUEST _IOWR('f', 16, pagemap_scan)
#define PAGE_IS_HUGE (1u << 6)

int64_t molt_small_page_ranges(const void *start, size_t bytes, int64_t *ranges, int64_t capacity) {
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    uintptr_t base = (uintptr_t)start, end = base + bytes;
    pagemap_region found[64];
    /* Pages whose "huge" category is clear. */
    pagemap_scan scan = {.size = sizeof scan, .start = base, .end = end, .vec = (uintptr_t)found,
                         .vec_len = sizeof found / sizeof found[0], .category_inverted = PAGE_IS_HUGE,
                         .category_mask = PAGE_IS_HUGE, .return_mask = PAGE_IS_HUGE};
    int64_t count = 0;
    /* Each call fills `found` and says where it stopped (walk_end); the next starts there. */
    while (count >= 0 && scan.start < end) {
        int n = ioctl(fd, PAGEMAP_SCAN_REQUEST, &scan);
        if (n < 0 || scan.walk_end <= scan.start) count = -1;
        for (int i = 0; i < n && count >= 0; i++) {
            int64_t low = (int64_t)(found[i].start - base), high = (int64_t)(found[i].end - base);
            if (count > 0 && ranges[2 * count - 1] == low) {
                ranges[2 * count - 1] = high;
            } else if (count < capacity) {
                ranges[2 * count] = low;
                ranges[2 * count + 1] = high;
                count++;
            } else {
                count = -1;
            }
        }
        scan.start = scan.walk_end;
    }
    close(fd);
    return count;
}

int molt_drop_cached_pages(int fd, int64_t offset, int64_t length) {
    return posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_DONTNEED);
}
