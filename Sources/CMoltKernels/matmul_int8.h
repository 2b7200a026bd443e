/* The integer matmul for q8 and q4 weights, Y = X W^T with X quantized per block of 32 to
 * int8, or for q8 to int16 (Formats/kernels.md, "Matrix-matrix (prefill)"). One algorithm
 * over the lanes of a matmul_lanes_*.h, included once per instruction set by the
 * matmul_int8_*.c files, as CMoltQuant does with its lanes.
 *
 * Lanes run over rows of W: a task repacks LANES rows of W into a panel, each 4 bytes of a row
 * (4 int8 or nibble values, or 2 int16) side by side with the other rows' ([K/4][LANES][4]
 * bytes, twice that for int16), with the rows' scales side by side per group, so that one
 * register holds 4 bytes of every row (llama.cpp's Q4_0_8_8 and ik_llama's _R4 layouts, made
 * at run time). X stays a row at a time, as quantized: 4 bytes of a row of X broadcast over
 * the panel's register give each lane its products, and X_TILE rows of X share each load of
 * the panel and what a path derives from it (AVX2's |w|). A row's LANES results are
 * consecutive elements of a row of Y, stored as one vector.
 *
 * Every element of Y is computed by one lane in this order, on every path:
 *   sum = 0; for each block b of 32 values (group g):
 *       sum = fma((float)dot_b, scale_g * xscale_b, sum)     (dot_b exact in int32)
 *   q4: offset = 0; for each group g: offset = fma(minimum_g, xsum_g, offset); y = sum + offset
 * so the paths, the thread count and the number of rows of X never change a bit.
 *
 * The including file includes matmul.h and activation.h first (outside its target region). */

/* The weights and activations a product multiplies; WIDE is q8 with int16 activations, whose
 * values (weights and X) take two bytes. */
enum { KIND_Q8, KIND_Q4, KIND_WIDE };

typedef struct {
    const molt_matrix *w;
    int kind;
    /* width: bytes per value of X and of the unpacked W (2 for KIND_WIDE, else 1). */
    int64_t t, padded, blocks, width;
    /* X quantized, a row at a time: values [t][padded * width bytes] (q8 biased by +128 on
     * paths with Q8_BIASED), block scales [t][blocks], q4 group sums [t][groups]. */
    const float *x;
    const int8_t *xq;
    const float *xs, *xg;
    float *y;
    molt_pool *pool;
    int failed;
} int8_job;

/* LANES rows of W repacked: values [padded * width / 4][LANES][4 bytes] (q4: the nibbles as
 * bytes; KIND_WIDE: int16), scales and q4 minimums [groups][LANES], and with Q8_BIASED each
 * q8 block's starting sums -128 * sum(w) [blocks][LANES]. `rows`, `row_scales` and
 * `row_minimums` hold 4 rows unpacked as stored before they are interleaved. */
typedef struct {
    uint8_t *values, *rows;
    float *scales, *minimums, *row_scales, *row_minimums;
    int32_t *starts;
} panel;

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

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
    for (int64_t group = 0; group < groups; group++)
        unpack_nibbles(row + group * half, half, values + group * g, values + group * g + half);
    halves_to_floats(row + groups * half, groups, scales);
    halves_to_floats(row + groups * half + 2 * groups, groups, minimums);
}

static size_t panel_bytes(const int8_job *job) {
    size_t bytes = (size_t)(job->padded * job->width), groups = (size_t)job->w->groups;
    return align64(LANES * bytes) + align64(4 * bytes) + 2 * align64(LANES * groups * 4) +
           2 * align64(4 * groups * 4) + align64((size_t)(LANES * job->blocks) * 4);
}

static panel panel_in(const int8_job *job, uint8_t *scratch) {
    size_t bytes = (size_t)(job->padded * job->width), groups = (size_t)job->w->groups;
    panel p;
    p.values = scratch;
    p.rows = p.values + align64(LANES * bytes);
    p.scales = (float *)(p.rows + align64(4 * bytes));
    p.minimums = (float *)((uint8_t *)p.scales + align64(LANES * groups * 4));
    p.row_scales = (float *)((uint8_t *)p.minimums + align64(LANES * groups * 4));
    p.row_minimums = (float *)((uint8_t *)p.row_scales + align64(4 * groups * 4));
    p.starts = (int32_t *)((uint8_t *)p.row_minimums + align64(4 * groups * 4));
    return p;
}

/* Rows first .. first + n - 1 (n <= LANES) of W into the panel, 4 rows at a time; lanes past
 * n hold zeros (their results are dropped). */
static void fill_panel(const int8_job *job, const panel *p, int64_t first, int64_t n) {
    const molt_matrix *w = job->w;
    int64_t bytes = job->padded * job->width, groups = w->groups;
    int q4 = w->type == MOLT_WEIGHT_Q4;
    for (int64_t q = 0; q < LANES; q += 4) {
        for (int64_t e = 0; e < 4; e++) {
            int64_t lane = q + e;
            uint8_t *row = p->rows + e * bytes;
            float *scales = p->row_scales + e * groups, *minimums = p->row_minimums + e * groups;
            if (lane < n) {
                /* The weights are usually cold (a prefill reads each expert once): fetching
                 * the next row while this one is unpacked keeps the unpacking from waiting. */
                if (lane + 1 < n) {
                    const char *next = (const char *)w->data + (first + lane + 1) * w->row_stride;
                    for (int64_t at = 0; at < w->row_stride; at += 64) __builtin_prefetch(next + at);
                }
                weight_row(job, first + lane, row, scales, minimums);
            } else {
                memset(row, 0, (size_t)bytes);
                memset(scales, 0, (size_t)groups * 4);
                memset(minimums, 0, (size_t)groups * 4);
            }
            for (int64_t group = 0; group < groups; group++) p->scales[group * LANES + lane] = scales[group];
            for (int64_t group = 0; q4 && group < groups; group++) p->minimums[group * LANES + lane] = minimums[group];
        }
        interleave4(p->rows, bytes, bytes, p->values + 4 * q, 4 * LANES);
    }
#if Q8_BIASED
    if (job->kind == KIND_Q8)
        for (int64_t b = 0; b < job->blocks; b++) q8_starts(p->values + 32 * b * LANES, p->starts + b * LANES);
#endif
}

/* Y for ROWS (a constant at each call site, so the accumulators stay in registers) rows of X
 * from xq, xs, xg and the panel's rows of W, into y (row stride ldy; the first n lanes of each
 * row stored). A block of 32 values is 8 * width steps of 4 bytes. */
static inline __attribute__((always_inline)) void int8_tile(const int ROWS, const int kind, const int8_job *job,
                                                            const panel *p, const int8_t *xq, const float *xs,
                                                            const float *xg, float *y, int64_t ldy, int64_t n) {
    const int q4 = kind == KIND_Q4, width = kind == KIND_WIDE ? 2 : 1;
    int64_t stride = job->padded * width, blocks = job->blocks, groups = job->w->groups;
    int64_t per_group = job->w->group_size / 32;
    fvec sum[X_TILE];
    for (int r = 0; r < ROWS; r++) sum[r] = fzero();
    for (int64_t b = 0, group = 0, in_group = 0; b < blocks; b++) {
        ivec start = kind == KIND_Q8 && Q8_BIASED ? iload(p->starts + b * LANES) : istart(0);
        ivec acc[X_TILE];
        for (int r = 0; r < ROWS; r++) acc[r] = start;
        for (int64_t s = 0; s < 8 * width; s++) {
            wvec weights = wload(p->values + (8 * width * b + s) * 4 * LANES);
            const int8_t *x = xq + 32 * width * b + 4 * s;
            for (int r = 0; r < ROWS; r++)
                acc[r] = kind == KIND_Q4   ? q4_step(acc[r], weights, x + r * stride)
                         : kind == KIND_Q8 ? q8_step(acc[r], weights, x + r * stride)
                                           : wide_step(acc[r], weights, x + r * stride);
        }
        fvec scales = fload(p->scales + group * LANES);
        for (int r = 0; r < ROWS; r++)
            sum[r] = fscaled(sum[r], q4 ? q4_finish(acc[r]) : acc[r], xs[r * blocks + b], scales);
        /* Counted: b / per_group would be a division per block. */
        if (++in_group == per_group) {
            in_group = 0;
            group++;
        }
    }
    if (q4)
        for (int r = 0; r < ROWS; r++) {
            fvec offset = fzero();
            for (int64_t group = 0; group < groups; group++)
                offset = foffset(offset, xg[r * groups + group], fload(p->minimums + group * LANES));
            sum[r] = fadd(sum[r], offset);
        }
    for (int r = 0; r < ROWS; r++) {
        if (n == LANES) {
            fstoreu(y + r * ldy, sum[r]);
        } else {
            float out[LANES] __attribute__((aligned(64)));
            fstore(out, sum[r]);
            memcpy(y + r * ldy, out, (size_t)n * 4);
        }
    }
}

static void int8_task(void *context, int64_t task, int worker) {
    int8_job *job = context;
    const molt_matrix *w = job->w;
    int64_t first = task * LANES, n = w->rows - first < LANES ? w->rows - first : LANES;
    void *scratch = molt_pool_scratch(job->pool, worker, panel_bytes(job));
    if (!scratch) {
        job->failed = 1;
        return;
    }
    panel p = panel_in(job, scratch);
    fill_panel(job, &p, first, n);
    int64_t stride = job->padded * job->width;
    for (int64_t i0 = 0; i0 < job->t; i0 += X_TILE) {
        int64_t rows = job->t - i0 < X_TILE ? job->t - i0 : X_TILE;
        const int8_t *xq = job->xq + i0 * stride;
        const float *xs = job->xs + i0 * job->blocks, *xg = job->xg + i0 * w->groups;
        float *y = job->y + i0 * w->rows + first;
        switch (rows * 3 + job->kind) {
#define CASE(R)                                                                                  \
    case 3 * R + KIND_Q8: int8_tile(R, KIND_Q8, job, &p, xq, xs, xg, y, w->rows, n); break;       \
    case 3 * R + KIND_Q4: int8_tile(R, KIND_Q4, job, &p, xq, xs, xg, y, w->rows, n); break;       \
    case 3 * R + KIND_WIDE: int8_tile(R, KIND_WIDE, job, &p, xq, xs, xg, y, w->rows, n); break;
            CASE(1) CASE(2) CASE(3) CASE(4)
#if X_TILE > 4
            CASE(5) CASE(6) CASE(7) CASE(8)
#endif
#undef CASE
        }
    }
}

/* Row `task` of X quantized as the matrix-vector kernels do (molt_activation_prepare) into
 * its place: a pool task, so both cores quantize. */
static void pack_x_row(void *context, int64_t task, int worker) {
    int8_job *job = context;
    const molt_matrix *w = job->w;
    molt_activations precision = job->kind == KIND_WIDE ? MOLT_ACTIVATIONS_INT16 : MOLT_ACTIVATIONS_INT8;
    void *row_scratch = molt_pool_scratch(job->pool, worker, molt_activation_bytes(w, precision));
    if (!row_scratch) {
        job->failed = 1;
        return;
    }
    molt_activation a = {0};
    molt_activation_prepare(w, job->x + task * w->columns, precision, PREPARE_X, row_scratch, &a);
    int64_t padded = job->padded;
    int8_t *xq = (int8_t *)job->xq + task * padded * job->width;
    if (job->kind == KIND_WIDE)
        memcpy(xq, a.x16, (size_t)padded * 2);
    else if (job->kind == KIND_Q8 && Q8_BIASED)
        for (int64_t c = 0; c < padded; c++) xq[c] = (int8_t)(uint8_t)(a.xq[c] + 128);
    else
        memcpy(xq, a.xq, (size_t)padded);
    memcpy((float *)job->xs + task * job->blocks, a.block_scales, (size_t)job->blocks * 4);
    if (w->type == MOLT_WEIGHT_Q4)
        memcpy((float *)job->xg + task * w->groups, a.group_sums, (size_t)w->groups * 4);
}

int MATMUL_INT8_NAME(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                     molt_activations precision) {
    int8_job job = {.w = w, .x = x, .t = t, .y = y, .pool = pool};
    job.kind = precision == MOLT_ACTIVATIONS_INT16 ? KIND_WIDE : w->type == MOLT_WEIGHT_Q4 ? KIND_Q4 : KIND_Q8;
    job.width = job.kind == KIND_WIDE ? 2 : 1;
    job.padded = w->groups * w->group_size;
    job.blocks = job.padded / 32;
    size_t values = align64((size_t)(t * job.padded * job.width));
    size_t scales = align64((size_t)(t * job.blocks) * 4);
    size_t sums = align64((size_t)(t * w->groups) * 4);
    molt_pool_lock(pool);
    uint8_t *scratch = molt_pool_scratch(pool, molt_pool_threads(pool), values + scales + sums);
    if (!scratch) {
        molt_pool_unlock(pool);
        return -2;
    }
    job.xq = (const int8_t *)scratch;
    job.xs = (const float *)(scratch + values);
    job.xg = (const float *)(scratch + values + scales);
    molt_pool_run(pool, t, pack_x_row, &job);
    if (!job.failed) molt_pool_run(pool, (w->rows + LANES - 1) / LANES, int8_task, &job);
    molt_pool_unlock(pool);
    return job.failed ? -2 : 0;
}
