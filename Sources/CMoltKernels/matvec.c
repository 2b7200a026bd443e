#include "activation.h"

/* Enough tasks per thread to even out a thread slowed by other work, few enough that claiming
 * them costs nothing; 16 rows at least so a task amortizes its setup. */
#define TASKS_PER_THREAD 8
#define MIN_ROWS_PER_TASK 16

typedef struct {
    molt_rows_fn rows;
    const molt_matrix *w;
    molt_activation activation;
    float *y;
    int64_t rows_per_task;
} matvec_job;

static void matvec_task(void *context, int64_t task, int worker) {
    (void)worker;
    matvec_job *job = context;
    int64_t begin = task * job->rows_per_task, end = begin + job->rows_per_task;
    job->rows(job->w, &job->activation, job->y, begin, end < job->w->rows ? end : job->w->rows);
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
        case MOLT_PATH_AVX512: return molt_rows_int8_avx2[q];
        case MOLT_PATH_AVX512_VNNI: return molt_rows_int8_vnni[q];
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

int molt_matvec(molt_pool *pool, const molt_matrix *w, const float *x, float *y, molt_path path,
                molt_activations activations) {
    if (!molt_path_supported(path)) return -1;
    if (w->rows == 0) return 0;
    molt_activations precision = molt_effective_activations(w, activations);
    matvec_job job = {.rows = select_rows(w->type, path, precision), .w = w, .y = y};
    molt_pool_lock(pool);
    int threads = molt_pool_threads(pool);
    void *scratch = molt_pool_scratch(pool, threads, molt_activation_bytes(w, precision));
    if (!scratch) {
        molt_pool_unlock(pool);
        return -2;
    }
    molt_activation_prepare(w, x, precision, path != MOLT_PATH_SCALAR, scratch, &job.activation);
    int64_t per_task = (w->rows + threads * TASKS_PER_THREAD - 1) / (threads * TASKS_PER_THREAD);
    job.rows_per_task = per_task < MIN_ROWS_PER_TASK ? MIN_ROWS_PER_TASK : per_task;
    molt_pool_run(pool, (w->rows + job.rows_per_task - 1) / job.rows_per_task, matvec_task, &job);
    molt_pool_unlock(pool);
    return 0;
}
