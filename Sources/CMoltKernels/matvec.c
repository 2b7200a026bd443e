#include "activation.h"

/* Enough tasks per thread to even out a thread slowed by other work, and to keep short the
 * last task, during which the other threads may have nothing left (32 rather than 8: decode
 * 0.5-0.7% faster on a 2-core Zen 3, alternating both in one process); few enough that
 * claiming them costs nothing; 16 rows at least so a task amortizes its setup. */
#define TASKS_PER_THREAD 32
#define MIN_ROWS_PER_TASK 16
/* With several vectors, a task takes its rows in pieces of about this many bytes, small enough
 * to stay in L1 while every vector passes over them: the weights come from memory once. */
#define SHARED_PIECE_BYTES (24 * 1024)

typedef struct {
    molt_rows_fn rows;
    /* NULL where no kernel takes several vectors: `rows` runs once per vector then. */
    molt_rows_many_fn many;
    const molt_matrix *w;
    const molt_activation *activations;
    int64_t count;
    float *y;
    int64_t rows_per_task, rows_per_piece;
} matvec_job;

static void matvec_task(void *context, int64_t task, int worker) {
    (void)worker;
    matvec_job *job = context;
    int64_t begin = task * job->rows_per_task, end = begin + job->rows_per_task;
    if (end > job->w->rows) end = job->w->rows;
    for (int64_t piece = begin; piece < end; piece += job->rows_per_piece) {
        int64_t stop = end - piece < job->rows_per_piece ? end : piece + job->rows_per_piece;
        if (job->many)
            job->many(job->w, job->activations, job->count, job->y, piece, stop);
        else
            for (int64_t v = 0; v < job->count; v++)
                job->rows(job->w, &job->activations[v], job->y + v * job->w->rows, piece, stop);
    }
}

/* AVX-512 without VNNI takes AVX2's int8 kernels; VNNI with f32 activations, AVX-512's; both
 * take AVX2's f16 and bf16 kernels (faster on Zen 4, see matvec_avx512.c). */
static molt_rows_fn select_rows(int32_t type, molt_path path, molt_activations precision) {
    if (precision == MOLT_ACTIVATIONS_INT16) {
        switch (path) {
        case MOLT_PATH_SCALAR: return molt_rows_q8_int16_scalar;
        case MOLT_PATH_AVX2: return molt_rows_q8_int16_avx2;
        case MOLT_PATH_AVX512: return molt_rows_q8_int16_avx512;
        case MOLT_PATH_AVX512_VNNI: return molt_rows_q8_int16_vnni;
        }
    }
    if (precision == MOLT_ACTIVATIONS_INT8) {
        int q = type - MOLT_WEIGHT_Q8;
        switch (path) {
        case MOLT_PATH_SCALAR: return molt_rows_int8_scalar[q];
        case MOLT_PATH_AVX2:
        case MOLT_PATH_AVX512: return type == MOLT_WEIGHT_Q8 ? molt_rows_int8_q8_avx2 : molt_rows_int8_q4_avx2;
        case MOLT_PATH_AVX512_VNNI: return type == MOLT_WEIGHT_Q8 ? molt_rows_int8_q8_vnni : molt_rows_int8_q4_vnni;
        }
    }
    switch (path) {
    case MOLT_PATH_SCALAR: return molt_rows_scalar[type];
    case MOLT_PATH_AVX2: return molt_rows_avx2[type];
    case MOLT_PATH_AVX512:
    case MOLT_PATH_AVX512_VNNI:
        return type == MOLT_WEIGHT_F16 || type == MOLT_WEIGHT_BF16 ? molt_rows_avx2[type] : molt_rows_avx512[type];
    }
    return NULL;
}

/* The kernels that take several vectors at once, NULL for the others. */
static molt_rows_many_fn select_many(int32_t type, molt_path path, molt_activations precision) {
    if (precision == MOLT_ACTIVATIONS_INT16) {
        switch (path) {
        case MOLT_PATH_SCALAR: return NULL;
        case MOLT_PATH_AVX2: return molt_rows_many_q8_int16_avx2;
        case MOLT_PATH_AVX512: return molt_rows_many_q8_int16_avx512;
        case MOLT_PATH_AVX512_VNNI: return molt_rows_many_q8_int16_vnni;
        }
    }
    if (precision == MOLT_ACTIVATIONS_INT8) {
        int q = type - MOLT_WEIGHT_Q8;
        switch (path) {
        case MOLT_PATH_SCALAR: return NULL;
        case MOLT_PATH_AVX2:
        case MOLT_PATH_AVX512: return molt_rows_many_int8_avx2[q];
        case MOLT_PATH_AVX512_VNNI: return molt_rows_many_int8_vnni[q];
        }
    }
    return NULL;
}

int molt_matvec(molt_pool *pool, const molt_matrix *w, const float *x, int64_t count, float *y, molt_path path,
                molt_activations activations) {
    if (!molt_path_supported(path)) return -1;
    if (w->rows == 0 || count <= 0) return 0;
    molt_activations precision = molt_effective_activations(w, activations);
    matvec_job job = {.rows = select_rows(w->type, path, precision),
                      .many = count > 1 ? select_many(w->type, path, precision) : NULL,
                      .w = w,
                      .count = count,
                      .y = y};
    molt_pool_lock(pool);
    int threads = molt_pool_threads(pool);
    /* Each vector's prepared activation, then the descriptors pointing into them. */
    size_t bytes = (molt_activation_bytes(w, precision) + 63) & ~(size_t)63;
    size_t descriptors = (size_t)count * sizeof(molt_activation);
    uint8_t *scratch = molt_pool_scratch(pool, threads, (size_t)count * bytes + descriptors);
    if (!scratch) {
        molt_pool_unlock(pool);
        return -2;
    }
    molt_activation *prepared = (molt_activation *)(scratch + (size_t)count * bytes);
    for (int64_t v = 0; v < count; v++)
        molt_activation_prepare(w, x + v * w->columns, precision, path != MOLT_PATH_SCALAR, scratch + (size_t)v * bytes,
                                &prepared[v]);
    job.activations = prepared;
    int64_t per_task = (w->rows + threads * TASKS_PER_THREAD - 1) / (threads * TASKS_PER_THREAD);
    job.rows_per_task = per_task < MIN_ROWS_PER_TASK ? MIN_ROWS_PER_TASK : per_task;
    int64_t per_piece = (int64_t)SHARED_PIECE_BYTES / (w->row_stride > 0 ? w->row_stride : 1);
    job.rows_per_piece = count == 1 ? job.rows_per_task : per_piece < 1 ? 1 : per_piece;
    molt_pool_run_ranges(pool, (w->rows + job.rows_per_task - 1) / job.rows_per_task, matvec_task, &job);
    molt_pool_unlock(pool);
    return 0;
}
