#ifndef MOLT_KERNELS_H
#define MOLT_KERNELS_H

/* Matrix-vector and matrix-matrix products over weights stored as Formats/molt.md lays them
 * out (f32, f16, bf16, and the row-interleaved q8/q4 groups), read in place. Formats/kernels.md
 * describes the arithmetic, the paths and the measured speed. */

#include <stddef.h>
#include <stdint.h>
#include "molt_cpu.h" /* molt_path, the instruction-set levels */

typedef enum {
    MOLT_WEIGHT_F32 = 0,
    MOLT_WEIGHT_F16 = 1,
    MOLT_WEIGHT_BF16 = 2,
    MOLT_WEIGHT_Q8 = 3,
    MOLT_WEIGHT_Q4 = 4,
} molt_weight_type;

/* How matvec treats the activation vector for q8/q4 weights. INT8 quantizes it per block of
 * 32 to int8 with an f32 scale and uses integer dot products; INT16 does the same with int16
 * for q8 weights (q4 takes f32 activations then). Other weight types ignore both. */
typedef enum {
    MOLT_ACTIVATIONS_F32 = 0,
    MOLT_ACTIVATIONS_INT8 = 1,
    MOLT_ACTIVATIONS_INT16 = 2,
} molt_activations;

/* A [rows, columns] weight matrix; y = W x multiplies along `columns`. */
typedef struct {
    const void *data;
    int64_t rows;
    int64_t columns;
    int64_t row_stride; /* bytes from one row to the next */
    int64_t groups;     /* q8/q4: groups per row, ceil(columns / group_size); else 0 */
    int32_t type;       /* molt_weight_type */
    int32_t group_size; /* q8/q4: G, a multiple of 32 from 32 to 4096; else 0 */
} molt_matrix;

/* Fills `m` for `data`, which must hold rows * row_stride bytes. Returns 0, or -1 when the
 * shape or group size is invalid or the sizes overflow. */
int molt_matrix_init(molt_matrix *m, molt_weight_type type, const void *data, int64_t rows, int64_t columns,
                     int32_t group_size);

/* Whether this CPU (and OS) supports `path`. */
static inline int molt_path_supported(molt_path path) {
    return path >= MOLT_PATH_SCALAR && path <= molt_cpu_best_path();
}

/* A persistent pool of worker threads; the calling thread is worker 0, so a pool of 1 has no
 * threads. Runs are serialized: a pool runs one kernel at a time, and a kernel must not be
 * started from inside a pool task. */
typedef struct molt_pool molt_pool;
molt_pool *molt_pool_create(int threads);
void molt_pool_destroy(molt_pool *pool);
int molt_pool_threads(const molt_pool *pool);

/* Runs fn(context, task) for every task in 0..<tasks on the pool's threads, the caller's among
 * them, and returns when all are done: for the runtime's own loops, which then use the threads
 * the kernels keep spinning between products instead of waking others. `fn` must not call
 * into the pool. */
typedef void (*molt_parallel_fn)(void *context, int64_t task);
void molt_pool_parallel(molt_pool *pool, int64_t tasks, molt_parallel_fn fn, void *context);

/* y[v][rows] = W x[v] for each of `count` vectors of `columns` floats, row-major. Each y[v][r]
 * is computed by one thread in an order that depends only on the path and activations, never
 * on the thread count or on the other vectors: several vectors give each the bits it gets
 * alone, while the weights are read from memory once for all of them. Returns 0, -1 if the
 * path is not supported here, -2 if memory ran out. */
int molt_matvec(molt_pool *pool, const molt_matrix *w, const float *x, int64_t count, float *y, molt_path path,
                molt_activations activations);

/* Y[t, rows] = X[t, columns] W^T, row-major. With f32 activations (any weights; q4 asked for
 * int16), every Y element is the sequential fused multiply-add over the columns in order of
 * X's row and W's dequantized row. With INT8 and q8/q4 weights, or INT16 and q8 weights, X's
 * rows are rounded per block of 32 to int8 (int16) as for matvec, each block's integer dot
 * product is exact, and the f32 steps that combine them have a fixed order
 * (Formats/kernels.md). Either way the result is the same on every path, thread count and t.
 * Returns as molt_matvec. */
int molt_matmul(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y, molt_path path,
                molt_activations activations);

/* Row `row` of W as `columns` f32 values, as the matmul dequantizes it (bit-equal to MoltQuant's
 * Reconstruction on every path): for looking up embedding rows in a packed matrix. Returns 0,
 * -2 if memory ran out. */
int molt_dequantize_row(const molt_matrix *w, int64_t row, float *out);

/* The Mamba scan over `steps` positions for channels first..<end: per channel, the state row
 * h[N] (at state + ch * N) becomes exp(delta * A[ch]) * h + delta * x * B and y = h . C + D x,
 * with u, delta and y [steps, di] and position t's B at bc + t * bc_stride, its C N after.
 * Disjoint channel ranges can run concurrently. AVX-512 paths vectorise over N (up to 16);
 * others, and paths this CPU lacks, call libm. */
void molt_selective_scan(int64_t steps, const float *u, const float *delta, int64_t di, const float *bc,
                         int64_t bc_stride, int64_t n, const float *a, const float *d, float *state, float *y,
                         int64_t first, int64_t end, molt_path path);

/* x = softplus(x + bias) = log(1 + e^(x + bias)) over `count` values (x + bias above 20 stays),
 * with the paths as above. */
void molt_softplus(float *x, const float *bias, int64_t count, molt_path path);

/* out = silu(in) * gate (gate NULL: out = silu(in)) over `count` values, silu(v) = v / (1 + e^-v):
 * after Mamba's convolution (in place) and as its gate (out = gate = y, in = z); paths as above.
 * out may be in or gate. */
void molt_silu(float *out, const float *in, const float *gate, int64_t count, molt_path path);

/* out = gelu(in) * gate (gate NULL: out = gelu(in)) over `count` values, gelu(v) = v Φ(v) the
 * exact (erf) form, Φ the standard normal distribution function. out may be in or gate. */
void molt_gelu(float *out, const float *in, const float *gate, int64_t count, molt_path path);

/* Read bandwidth: the best of `repeats` passes summing a `bytes` buffer (mapped, advised
 * for or against transparent huge pages as `huge_pages` says, and faulted in first) with
 * `threads` threads. bytes_per_second is negative if memory ran out; huge_page_share is the
 * share of the buffer the kernel backed with huge pages, negative where it does not say. */
typedef struct {
    double bytes_per_second;
    double huge_page_share;
} molt_bandwidth;
molt_bandwidth molt_read_bandwidth(int threads, size_t bytes, int repeats, int huge_pages);
/* The same passes over memory the caller has, read only (a model's file mapping: the pages
 * decode reads); the last bytes % 64 are left out. Negative if fewer than 64 bytes are given,
 * `memory` is not 8-byte aligned, or the pool could not start. */
double molt_read_bandwidth_of(int threads, const void *memory, size_t bytes, int repeats);

#endif
