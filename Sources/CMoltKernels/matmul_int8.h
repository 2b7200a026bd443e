/* The integer matmul for q8 and q4 weights, Y = X W^T with X quantized per block of 32 to
 * int8, or for q8 to int16 (Formats/kernels.md, "Matrix-matrix (prefill)"). One algorithm
 * over the lanes of a matmul_lanes_*.h, included once per instruction set by the
 * matmul_int8_*.c files, as CMoltQuant does with its lanes.
 *
 * Lanes run over rows of X: X is quantized and packed once per product, LANES rows to a
 * block, each 4 bytes of a row (4 int8 or 2 int16 values) side by side with the other rows'
 * ([K/4][LANES][4] bytes, twice that for int16), so that one register holds 4 bytes of every
 * row and 4 bytes of weights broadcast over it give each lane its products. W is read row by
 * row, as stored: a task unpacks TASK_ROWS rows (weight_group; q8 widened to int16 for int16
 * activations) and sweeps every block of X over them, TILE_ROWS rows of W at a time; on the
 * paths with HALF_LANES (AVX2, AVX-512, VNNI) a block of that many rows or fewer takes the tile
 * over the lower half of the lanes (matmul_int8_tile.h).
 *
 * Every element of Y is computed by one lane in this order, on every path:
 *   sum = 0; for each block b of 32 values (group g):
 *       sum = fma((float)dot_b, scale_g * xscale_b, sum)     (dot_b exact in int32)
 *   q4: offset = 0; for each group g: offset = fma(minimum_g, xsum_g, offset); y = sum + offset
 * so the paths, the thread count and the number of rows of X never change a bit.
 *
 * The including file includes matmul.h and activation.h first (outside its target region). */

/* Rows of W a task prepares: a multiple of every TILE_ROWS. */
#define TASK_ROWS 32

/* The weights and activations a product multiplies; WIDE is q8 with int16 activations, whose
 * values (weights and X) take two bytes. */
enum { KIND_Q8, KIND_Q4, KIND_WIDE };

typedef struct {
    const molt_matrix *w;
    int kind;
    /* width: bytes per value of X and of the unpacked W (2 for KIND_WIDE, else 1). */
    int64_t t, padded, blocks, x_blocks, width;
    /* X packed: values [x_blocks][padded * width / 4][LANES][4 bytes], block scales
     * [x_blocks][blocks][LANES], q4 group sums [x_blocks][groups][LANES]. */
    const float *x;
    const int8_t *xq;
    const float *xs, *xg;
    float *y;
    molt_pool *pool;
    int failed;
} int8_job;

/* One task's rows of W, unpacked: values [TASK_ROWS][padded * width] (q4: the nibbles;
 * KIND_WIDE: int16), q8's magnitudes |w| (int8 activations, paths without Q8_BIASED) or the
 * blocks' starting sums -128 * sum(w) (with it), scales and q4 minimums [TASK_ROWS][groups]. */
typedef struct {
    uint8_t *values, *magnitudes;
    int32_t *starts;
    float *scales, *minimums;
} unpacked_rows;

/* Row `r` of W unpacked: its values (q4: nibbles 0..15 in order; q8: int8 bits, widened to
 * int16 for KIND_WIDE) and each group's scale and q4 minimum, all groups at once: the one
 * place that reads the row layout of Formats/molt.md. */
static inline void weight_row(const int8_job *job, int64_t r, uint8_t *values, float *scales, float *minimums) {
    const molt_matrix *w = job->w;
    const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
    int64_t g = w->group_size, half = g / 2, groups = w->groups;
    if (w->type == MOLT_WEIGHT_Q8) {
        if (job->kind == KIND_WIDE)
            widen_bytes(row, groups * g, values);
        else
            memcpy(values, row, (size_t)(groups * g));
        halves_to_floats(row + groups * g, groups, scales);
        return;
    }
    unpack_groups(row, groups, g, values);
    halves_to_floats(row + groups * half, groups, scales);
    halves_to_floats(row + groups * half + 2 * groups, groups, minimums);
}

static size_t unpacked_bytes(const int8_job *job) {
    int64_t groups = job->w->groups;
    return (size_t)TASK_ROWS * (size_t)(2 * job->padded + 4 * job->blocks + 8 * groups);
}

static unpacked_rows unpack_rows(const int8_job *job, void *scratch, int64_t first, int64_t n) {
    const molt_matrix *w = job->w;
    int64_t padded = job->padded, groups = w->groups;
    unpacked_rows u;
    u.values = scratch;
    /* KIND_WIDE's values take the magnitudes' room too. */
    u.magnitudes = u.values + TASK_ROWS * padded;
    u.starts = (int32_t *)(u.magnitudes + TASK_ROWS * padded);
    u.scales = (float *)(u.starts + TASK_ROWS * job->blocks);
    u.minimums = u.scales + TASK_ROWS * groups;
    for (int64_t j = 0; j < n; j++) {
        /* The weights are usually cold (a prefill reads each expert once): fetching the next
         * row while this one is unpacked keeps the unpacking from waiting on memory. */
        if (j + 1 < n) {
            const char *next = (const char *)w->data + (first + j + 1) * w->row_stride;
            for (int64_t at = 0; at < w->row_stride; at += 64) __builtin_prefetch(next + at);
        }
        uint8_t *values = u.values + j * padded * job->width;
        weight_row(job, first + j, values, u.scales + j * groups, u.minimums + j * groups);
        if (job->kind != KIND_Q8) continue;
        if (Q8_BIASED) {
            for (int64_t b = 0; b < job->blocks; b++) {
                int32_t sum = 0;
                for (int i = 0; i < 32; i++) sum += (int8_t)values[32 * b + i];
                u.starts[j * job->blocks + b] = -128 * sum;
            }
        } else {
            for (int64_t i = 0; i < padded; i++) {
                int v = (int8_t)values[i];
                u.magnitudes[j * padded + i] = (uint8_t)(v < 0 ? -v : v);
            }
        }
    }
    return u;
}

#define TILE int8_tile
#define V(name) name
#include "matmul_int8_tile.h"
#undef TILE
#undef V
#ifdef HALF_LANES
#define TILE int8_tile_half
#define V(name) name##_half
#include "matmul_int8_tile.h"
#undef TILE
#undef V
#endif

static void int8_task(void *context, int64_t task, int worker) {
    int8_job *job = context;
    const molt_matrix *w = job->w;
    int64_t first = task * TASK_ROWS, n = w->rows - first < TASK_ROWS ? w->rows - first : TASK_ROWS;
    void *scratch = molt_pool_scratch(job->pool, worker, unpacked_bytes(job));
    if (!scratch) {
        job->failed = 1;
        return;
    }
    unpacked_rows u = unpack_rows(job, scratch, first, n);
    float out[TILE_ROWS][LANES] __attribute__((aligned(64)));
    for (int64_t xb = 0; xb < job->x_blocks; xb++) {
        const int8_t *xq = job->xq + xb * job->padded * job->width * LANES;
        const float *xs = job->xs + xb * job->blocks * LANES, *xg = job->xg + xb * w->groups * LANES;
        int64_t m = job->t - xb * LANES < LANES ? job->t - xb * LANES : LANES;
        for (int64_t j0 = 0; j0 < n; j0 += TILE_ROWS) {
            int64_t rows = n - j0 < TILE_ROWS ? n - j0 : TILE_ROWS;
#define CASE(TILE, R)                                                                         \
    case 3 * R + KIND_Q8: TILE(R, KIND_Q8, job, &u, j0, xq, xs, xg, out); break;                \
    case 3 * R + KIND_Q4: TILE(R, KIND_Q4, job, &u, j0, xq, xs, xg, out); break;                \
    case 3 * R + KIND_WIDE: TILE(R, KIND_WIDE, job, &u, j0, xq, xs, xg, out); break;
#if TILE_ROWS > 4
#define TILES(TILE) CASE(TILE, 1) CASE(TILE, 2) CASE(TILE, 3) CASE(TILE, 4) CASE(TILE, 5) CASE(TILE, 6) CASE(TILE, 7) CASE(TILE, 8)
#else
#define TILES(TILE) CASE(TILE, 1) CASE(TILE, 2) CASE(TILE, 3) CASE(TILE, 4)
#endif
#ifdef HALF_LANES
            if (m <= HALF_LANES) {
                switch (rows * 3 + job->kind) { TILES(int8_tile_half) }
            } else
#endif
            {
                switch (rows * 3 + job->kind) { TILES(int8_tile) }
            }
#undef TILES
#undef CASE
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < rows; j++) job->y[(xb * LANES + i) * w->rows + first + j0 + j] = out[j][i];
        }
    }
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Row `task` of X (zeros past t) quantized as the matrix-vector kernels do
 * (molt_activation_prepare) and packed into its lane: a pool task, so both cores quantize. */
static void pack_x_row(void *context, int64_t task, int worker) {
    int8_job *job = context;
    const molt_matrix *w = job->w;
    int64_t padded = job->padded, groups = w->groups, xb = task / LANES, i = task % LANES;
    molt_activations precision = job->kind == KIND_WIDE ? MOLT_ACTIVATIONS_INT16 : MOLT_ACTIVATIONS_INT8;
    molt_activation a = {0};
    if (task < job->t) {
        void *row_scratch = molt_pool_scratch(job->pool, worker, molt_activation_bytes(w, precision));
        if (!row_scratch) {
            job->failed = 1;
            return;
        }
        molt_activation_prepare(w, job->x + task * w->columns, precision, PREPARE_X, row_scratch, &a);
    }
    int8_t *xq = (int8_t *)job->xq;
    float *xs = (float *)job->xs, *xg = (float *)job->xg;
    if (job->kind == KIND_WIDE) {
        int16_t *values = (int16_t *)xq + xb * padded * LANES;
        for (int64_t c = 0; c < padded; c += 2)
            for (int e = 0; e < 2; e++) values[c * LANES + 2 * i + e] = a.x16 ? a.x16[c + e] : 0;
    } else {
        int bias = job->kind == KIND_Q8 && Q8_BIASED ? 128 : 0;
        int8_t *values = xq + xb * padded * LANES;
        for (int64_t c = 0; c < padded; c += 4)
            for (int e = 0; e < 4; e++) values[c * LANES + 4 * i + e] = (int8_t)(uint8_t)((a.xq ? a.xq[c + e] : 0) + bias);
    }
    for (int64_t b = 0; b < job->blocks; b++) xs[(xb * job->blocks + b) * LANES + i] = a.block_scales ? a.block_scales[b] : 0;
    for (int64_t group = 0; w->type == MOLT_WEIGHT_Q4 && group < groups; group++)
        xg[(xb * groups + group) * LANES + i] = a.group_sums ? a.group_sums[group] : 0;
}

int MATMUL_INT8_NAME(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                     molt_activations precision) {
    int8_job job = {.w = w, .x = x, .t = t, .y = y, .pool = pool};
    job.kind = precision == MOLT_ACTIVATIONS_INT16 ? KIND_WIDE : w->type == MOLT_WEIGHT_Q4 ? KIND_Q4 : KIND_Q8;
    job.width = job.kind == KIND_WIDE ? 2 : 1;
    job.padded = w->groups * w->group_size;
    job.blocks = job.padded / 32;
    job.x_blocks = (t + LANES - 1) / LANES;
    size_t values = align64((size_t)(job.x_blocks * job.padded * job.width * LANES));
    size_t scales = align64((size_t)(job.x_blocks * job.blocks * LANES) * 4);
    size_t sums = align64((size_t)(job.x_blocks * w->groups * LANES) * 4);
    molt_pool_lock(pool);
    uint8_t *scratch = molt_pool_scratch(pool, molt_pool_threads(pool), values + scales + sums);
    if (!scratch) {
        molt_pool_unlock(pool);
        return -2;
    }
    job.xq = (const int8_t *)scratch;
    job.xs = (const float *)(scratch + values);
    job.xg = (const float *)(scratch + values + scales);
    molt_pool_run(pool, job.x_blocks * LANES, pack_x_row, &job);
    if (!job.failed) molt_pool_run(pool, (w->rows + TASK_ROWS - 1) / TASK_ROWS, int8_task, &job);
    molt_pool_unlock(pool);
    return job.failed ? -2 : 0;
}
