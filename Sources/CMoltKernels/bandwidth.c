#include <stdlib.h>
#include <time.h>
#include "internal.h"

/* Pieces small enough that both threads stay busy to the end of a pass. */
#define PIECE_BYTES (1u << 20)

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

double molt_read_bandwidth(int threads, size_t bytes, int repeats) {
    bytes &= ~(size_t)63;
    molt_pool *pool = molt_pool_create(threads);
    uint64_t *words = bytes ? aligned_alloc(64, bytes) : NULL;
    if (!pool || !words) {
        molt_pool_destroy(pool);
        free(words);
        return -1;
    }
    memset(words, 1, bytes); /* fault every page in before timing */
    read_job job = {.words = words, .words_per_piece = PIECE_BYTES / 8, .count = bytes / 8};
    int64_t pieces = (int64_t)((bytes + PIECE_BYTES - 1) / PIECE_BYTES);
    double best = 0;
    for (int r = 0; r < (repeats < 1 ? 1 : repeats); r++) {
        double start = seconds();
        molt_pool_run(pool, pieces, read_piece, &job);
        double rate = (double)bytes / (seconds() - start);
        if (rate > best) best = rate;
    }
    volatile uint64_t sink = 0;
    for (int i = 0; i < 256; i++) sink += job.sums[i];
    (void)sink;
    molt_pool_destroy(pool);
    free(words);
    return best;
}
