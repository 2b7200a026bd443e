#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include "internal.h"
#include "molt_system.h"

/* Pieces small enough that both threads stay busy to the end of a pass. */
#define PIECE_BYTES (1u << 20)
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

typedef struct {
    const uint64_t *words;
    size_t words_per_piece, count;
    uint64_t sums[256];
} read_job;

/* Eight running sums: the loop vectorizes and the loads, not the adds, bound it. */
static void read_piece(void *context, int64_t piece, int worker) {
    read_job *job = context;
    size_t begin = (size_t)piece * job->words_per_piece, end = begin + job->words_per_piece;
    if (end > job->count) end = job->count;
    uint64_t s[8] = {0};
    for (size_t i = begin; i + 8 <= end; i += 8)
        for (int j = 0; j < 8; j++) s[j] += job->words[i + j];
    job->sums[worker & 255] += s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The best of `repeats` passes summing `bytes` at `words` in pieces on the pool's threads. */
static double best_rate(molt_pool *pool, const uint64_t *words, size_t bytes, int repeats) {
    read_job job = {.words = words, .words_per_piece = PIECE_BYTES / 8, .count = bytes / 8};
    int64_t pieces = (int64_t)((bytes + PIECE_BYTES - 1) / PIECE_BYTES);
    double best = 0;
    for (int r = 0; r < (repeats < 1 ? 1 : repeats); r++) {
        double start = seconds();
        molt_pool_run_ranges(pool, pieces, read_piece, &job);
        double rate = (double)bytes / (seconds() - start);
        if (rate > best) best = rate;
    }
    volatile uint64_t sink = 0;
    for (int i = 0; i < 256; i++) sink += job.sums[i];
    (void)sink;
    return best;
}

/* A mapping of its own (so /proc/self/smaps describes it alone), aligned to a huge page so a
 * huge-page buffer can be all huge pages, advised one way or the other before it is touched:
 * with transparent huge pages on "always" or "madvise", the advice is what decides. */
static void *map_buffer(size_t bytes, int huge_pages) {
    size_t span = bytes + HUGE_PAGE_BYTES;
    char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *start = (char *)(((uintptr_t)raw + HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(HUGE_PAGE_BYTES - 1));
    if (start > raw) munmap(raw, (size_t)(start - raw));
    size_t tail = (size_t)(raw + span - (start + bytes));
    if (tail) munmap(start + bytes, tail);
#ifdef MADV_HUGEPAGE
    madvise(start, bytes, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
#else
    (void)huge_pages;
#endif
    return start;
}

molt_bandwidth molt_read_bandwidth(int threads, size_t bytes, int repeats, int huge_pages) {
    molt_bandwidth result = {.bytes_per_second = -1, .huge_page_share = -1};
    bytes &= ~(size_t)63;
    if (!bytes) return result;
    molt_pool *pool = molt_pool_create(threads);
    uint64_t *words = map_buffer(bytes, huge_pages);
    if (!pool || !words) {
        molt_pool_destroy(pool);
        if (words) munmap(words, bytes);
        return result;
    }
    memset(words, 1, bytes); /* fault every page in before timing */
    int64_t huge_kib = molt_mapping_kib(words, bytes, "AnonHugePages");
    result.huge_page_share = huge_kib < 0 ? -1 : (double)huge_kib * 1024 / (double)bytes;
    result.bytes_per_second = best_rate(pool, words, bytes, repeats);
    molt_pool_destroy(pool);
    munmap(words, bytes);
    return result;
}

double molt_read_bandwidth_of(int threads, const void *memory, size_t bytes, int repeats) {
    bytes &= ~(size_t)63;
    if (!bytes || ((uintptr_t)memory & 7)) return -1;
    molt_pool *pool = molt_pool_create(threads);
    if (!pool) return -1;
    double rate = best_rate(pool, memory, bytes, repeats);
    molt_pool_destroy(pool);
    return rate;
}
