/* Y = X W^T. q8 and q4 weights with int8 activations, and q8 with int16, take the integer
 * products of matmul_int8.h; everything else one of two f32 routes. Panels of W (scalar, AVX2): X is first packed into blocks
 * of `mr` rows, k-major ([K][mr]), so that a tile reads it from one pointer; then each task
 * dequantizes `nr` rows of W to f32, transposed into a panel [K][nr], and sweeps all of X over
 * it in register tiles, K in blocks (kernel->kc) so that the tile's slices of X and W stay in
 * L1. Broadcasts of W (AVX-512): X is packed transposed, 16 rows to a block ([K][16]); each
 * task dequantizes 16 rows of W and, for each block of X, broadcasts each W value over the
 * block's lanes. With the few rows of X an expert sees in a prefill, transposing W cost as
 * much as the tiles that use it; on Zen 4 the broadcasts are as fast with many rows too.
 * Either way every Y element is the sequential fused multiply-add over k of its row of X and
 * its dequantized row of W (blocking only stores and reloads the running sum), so no path,
 * route, tile shape, thread count or T changes a bit of the result. */
#include <stdlib.h>
#include "activation.h"
#include "matmul.h"

typedef struct {
    const molt_gemm_kernel *kernel;
    const molt_matrix *w;
    const float *x; /* packed */
    int64_t t;
    float *y;
    molt_pool *pool;
    int failed;
} matmul_job;

static int64_t padded_columns(const molt_matrix *w) {
    return molt_is_quantized(w->type) ? w->groups * w->group_size : w->columns;
}

static void matmul_task(void *context, int64_t task, int worker) {
    matmul_job *job = context;
    const molt_gemm_kernel *kernel = job->kernel;
    const molt_matrix *w = job->w;
    int64_t k = w->columns, nr = kernel->nr, n0 = task * nr;
    int64_t n = w->rows - n0 < nr ? w->rows - n0 : nr;
    int64_t ld = padded_columns(w);
    float *panel = molt_pool_scratch(job->pool, worker, (size_t)(k * nr + n * ld) * 4);
    if (!panel) {
        job->failed = 1;
        return;
    }
    float *rows = panel + k * nr;
    for (int64_t j = 0; j < n; j++) kernel->dequantize(w, n0 + j, rows + j * ld);
    kernel->transpose(rows, ld, n, k, nr, panel);
    for (int64_t k0 = 0; k0 < k; k0 += kernel->kc) {
        int64_t kc = k - k0 < kernel->kc ? k - k0 : kernel->kc;
        for (int64_t t0 = 0; t0 < job->t; t0 += kernel->mr) {
            int64_t m = job->t - t0 < kernel->mr ? job->t - t0 : kernel->mr;
            kernel->tile(m, job->x + t0 * k + k0 * kernel->mr, panel + k0 * nr, kc, job->y + t0 * w->rows + n0,
                         w->rows, n, k0 == 0);
        }
    }
}

/* The rows buffer's stride: a cache line more than a row, so that the 16 rows a broadcast
 * tile reads side by side do not all fall in the same L1 sets (rows of 1024 or 3072 floats
 * are whole multiples of 4 KiB, and then were read a third slower). */
static int64_t broadcast_stride(const molt_matrix *w) { return padded_columns(w) + 16; }

static void broadcast_task(void *context, int64_t task, int worker) {
    matmul_job *job = context;
    const molt_matrix *w = job->w;
    int64_t k = w->columns, ld = broadcast_stride(w), n0 = task * 16;
    int64_t n = w->rows - n0 < 16 ? w->rows - n0 : 16;
    float *rows = molt_pool_scratch(job->pool, worker, (size_t)(16 * ld) * 4);
    if (!rows) {
        job->failed = 1;
        return;
    }
    for (int64_t j = 0; j < n; j++) job->kernel->dequantize(w, n0 + j, rows + j * ld);
    /* Rows past the matrix's last are computed and dropped; zeros keep them finite. */
    memset(rows + n * ld, 0, (size_t)((16 - n) * ld) * 4);
    for (int64_t t0 = 0; t0 < job->t; t0 += 16) {
        int64_t m = job->t - t0 < 16 ? job->t - t0 : 16;
        job->kernel->broadcast_tile(rows, ld, job->x + t0 * k, k, m, job->y + t0 * w->rows + n0, w->rows, n);
    }
}

static const molt_gemm_kernel *gemm_kernel(molt_path path) {
    return path == MOLT_PATH_SCALAR ? &molt_gemm_scalar : path == MOLT_PATH_AVX2 ? &molt_gemm_avx2 : &molt_gemm_avx512;
}

int molt_dequantize_row(const molt_matrix *w, int64_t row, float *out) {
    const molt_gemm_kernel *kernel = gemm_kernel(molt_cpu_best_path());
    int64_t padded = padded_columns(w);
    if (padded == w->columns) {
        kernel->dequantize(w, row, out);
        return 0;
    }
    float *whole = malloc((size_t)padded * 4);
    if (!whole) return -2;
    kernel->dequantize(w, row, whole);
    memcpy(out, whole, (size_t)w->columns * 4);
    free(whole);
    return 0;
}

int molt_matmul(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y, molt_path path,
                molt_activations activations) {
    if (!molt_path_supported(path)) return -1;
    if (t <= 0 || w->rows == 0) return 0;
    if (w->columns == 0) {
        memset(y, 0, (size_t)(t * w->rows) * 4);
        return 0;
    }
    molt_activations precision = molt_effective_activations(w, activations);
    if (precision != MOLT_ACTIVATIONS_F32) {
        molt_matmul_int8_fn int8 = path == MOLT_PATH_SCALAR ? molt_matmul_int8_scalar
                                   : path == MOLT_PATH_AVX2         ? molt_matmul_int8_avx2
                                   : path == MOLT_PATH_AVX512       ? molt_matmul_int8_avx512
                                                                    : molt_matmul_int8_vnni;
        return int8(pool, w, x, t, y, precision);
    }
    const molt_gemm_kernel *kernel = gemm_kernel(path);
    /* Both routes pack X k-major in blocks of rows: `mr` for the panels' tiles, 16 lanes for
     * the broadcasts. */
    int64_t k = w->columns, mr = kernel->broadcast_tile ? 16 : kernel->mr, blocks = (t + mr - 1) / mr;
    molt_pool_lock(pool);
    float *packed = molt_pool_scratch(pool, molt_pool_threads(pool), (size_t)(blocks * mr * k) * 4);
    if (!packed) {
        molt_pool_unlock(pool);
        return -2;
    }
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t c = 0; c < k; c++)
            for (int64_t i = 0; i < mr; i++)
                packed[(b * k + c) * mr + i] = b * mr + i < t ? x[(b * mr + i) * k + c] : 0;
    matmul_job job = {.kernel = kernel, .w = w, .x = packed, .t = t, .y = y, .pool = pool};
    if (kernel->broadcast_tile)
        molt_pool_run(pool, (w->rows + 15) / 16, broadcast_task, &job);
    else
        molt_pool_run(pool, (w->rows + kernel->nr - 1) / kernel->nr, matmul_task, &job);
    molt_pool_unlock(pool);
    return job.failed ? -2 : 0;
}
