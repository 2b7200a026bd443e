#define _GNU_SOURCE
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
