/* q8 rows times int16 activations for V vectors at once: the matvec a decode step of V
 * sequences runs on every q8 matrix (Formats/kernels.md, "Matrix-vector (decode)"). One
 * algorithm over the lanes of a matvec_lanes_*.h, included once per instruction set by the
 * matvec_int16_*.c files, as CMoltQuant does with its lanes; the one-vector kernel is its V = 1.
 *
 * Each block of 32 values is one exact integer dot product of the int8 weights and the int16
 * activations (|sum| < 32 * 127 * 32767 < 2^31), turned into f32 once and scaled by the
 * weight group's scale times the activation block's. A block's weights are widened to int16
 * once for all V vectors; per vector, in this order:
 *   acc0 = acc1 = 0; for each block b: acc(b even ? 0 : 1) = fma((float)dot_b, scale_g * xscale_b, acc)
 *   y = reduce(acc0 + acc1)     (the lanes' fixed reduction)
 * so a vector's result has the same bits whatever V and whichever other vectors share the
 * pass (molt_matvec's promise). The paths differ only in the width of acc and the reduction.
 *
 * The combined scales (scale_g * xscale_b) of a span of up to SPAN blocks go to a small array
 * on the stack before its first block, and each block's fused multiply-add reads its own with
 * a broadcast load, work for a load port: spreading a lane of a register took an index and a
 * permute per block and vector on the vector pipes the block's own work keeps busy. Blocks go
 * in pairs, one per accumulator, with no branch between them. On Zen 4 this took the
 * one-vector kernel from 27 to 38 GB/s from L2 (BENCHMARKS.md, "q8 x int16 kernel").
 *
 * The lanes give: fvec, wvec, WINDOW (blocks per scale window, even), SPAN (a multiple of
 * WINDOW), MATVEC_VECTORS (the largest V, what fits the register file), fzero, fsplat, fload,
 * fstore, fmul, fmadd, widen (a block's 32 weights), dot16 (with 32 int16 activations: int32
 * lanes, converted), weight_scales (WINDOW f16 scales), weight_scales_tail and
 * block_scales_tail (those of a short last window) and reduce. */

#define Q8_INT16_INLINE static inline __attribute__((always_inline))

/* The weight scale of block b's group. */
Q8_INT16_INLINE float group_scale(const uint8_t *scales, int64_t b, int64_t g) {
    return molt_f16_to_f32(molt_load_u16(scales + 2 * (b * MOLT_BLOCK / g)));
}

/* Block b of every vector into acc, scaled by combined[v][k]. */
Q8_INT16_INLINE void q8_int16_block(const uint8_t *row, const int16_t *const *x, const int V, int64_t b,
                                    const float (*combined)[SPAN + WINDOW], int64_t k, fvec *acc) {
    wvec q = widen(row + b * MOLT_BLOCK);
    for (int v = 0; v < V; v++) acc[v] = fmadd(dot16(q, x[v] + b * MOLT_BLOCK), fsplat(combined[v][k]), acc[v]);
}

/* Blocks b0..<b0 + count (b0 even) of every vector, block b0 + i scaled by combined[v][k0 + i];
 * blocks alternate between the accumulators. */
Q8_INT16_INLINE void q8_int16_blocks(const uint8_t *row, const int16_t *const *x, const int V, int64_t b0, int64_t count,
                                     const float (*combined)[SPAN + WINDOW], int64_t k0, fvec *acc0, fvec *acc1) {
    int64_t i = 0;
    for (; i + 1 < count; i += 2) {
        /* Once per cache line (two blocks) is enough. */
        _mm_prefetch((const char *)(row + (b0 + i) * MOLT_BLOCK + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
        q8_int16_block(row, x, V, b0 + i, combined, k0 + i, acc0);
        q8_int16_block(row, x, V, b0 + i + 1, combined, k0 + i + 1, acc1);
    }
    if (i < count) q8_int16_block(row, x, V, b0 + i, combined, k0 + i, acc0);
}

/* y[v * rows + r] for v in 0..<V, r in begin..<end; per_window says G = 32 (block = group),
 * the default, whose scales are combined a window at a time: other G take one scalar product
 * per block. */
Q8_INT16_INLINE void q8_int16_rows(const molt_matrix *w, const molt_activation *a, const int V, const int per_window,
                                   float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size, blocks = w->groups * g / MOLT_BLOCK;
    const int16_t *x[MATVEC_VECTORS];
    for (int v = 0; v < V; v++) x[v] = a[v].x16;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;
        fvec acc0[MATVEC_VECTORS], acc1[MATVEC_VECTORS];
        for (int v = 0; v < V; v++) acc0[v] = acc1[v] = fzero();
        /* A span's scales are all combined before its first block, so the broadcast loads
         * find them stored long before (not waiting on a store just made). */
        for (int64_t s0 = 0, count; s0 < blocks; s0 += count) {
            float combined[MATVEC_VECTORS][SPAN + WINDOW] __attribute__((aligned(64)));
            /* A last span takes up to a window more, so that it is never shorter than a window
             * when the row is not (its short window stays inside the span). */
            count = blocks - s0 <= SPAN + WINDOW ? blocks - s0 : SPAN;
            int64_t k = 0;
            if (per_window) {
                for (; k + WINDOW <= count; k += WINDOW) {
                    fvec weights = weight_scales(scales + 2 * (s0 + k));
                    for (int v = 0; v < V; v++) fstore(combined[v] + k, fmul(weights, fload(a[v].block_scales + s0 + k)));
                }
                /* A short last window (the lanes' weight_scales_tail). */
                if (k < count) {
                    int skip = 0;
                    fvec weights = weight_scales_tail(scales, s0 + k, blocks, &skip);
                    if (skip >= 0)
                        for (int v = 0; v < V; v++)
                            fstore(combined[v] + k - skip, fmul(weights, block_scales_tail(a[v].block_scales, s0 + k, skip, blocks)));
                    else
                        for (; k < count; k++)
                            for (int v = 0; v < V; v++) combined[v][k] = group_scale(scales, s0 + k, g) * a[v].block_scales[s0 + k];
                }
            } else
                for (; k < count; k++) {
                    float weight = group_scale(scales, s0 + k, g);
                    for (int v = 0; v < V; v++) combined[v][k] = weight * a[v].block_scales[s0 + k];
                }
            for (k = 0; k + WINDOW <= count; k += WINDOW) q8_int16_blocks(row, x, V, s0 + k, WINDOW, combined, k, acc0, acc1);
            q8_int16_blocks(row, x, V, s0 + k, count - k, combined, k, acc0, acc1);
        }
        for (int v = 0; v < V; v++) y[v * w->rows + r] = reduce(acc0[v], acc1[v]);
    }
}

#define Q8_INT16_ROWS(V) \
    static void q8_int16_rows_##V(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) { \
        if (w->group_size == MOLT_BLOCK)                                                                                 \
            q8_int16_rows(w, a, V, 1, y, begin, end);                                                                    \
        else                                                                                                             \
            q8_int16_rows(w, a, V, 0, y, begin, end);                                                                    \
    }
Q8_INT16_ROWS(1)
Q8_INT16_ROWS(2)
Q8_INT16_ROWS(3)
Q8_INT16_ROWS(4)

/* Any number of vectors, MATVEC_VECTORS at a time, then the rest together. */
static void q8_int16_rows_many(const molt_matrix *w, const molt_activation *a, int64_t count, float *y, int64_t begin,
                               int64_t end) {
    static const molt_rows_fn by_count[MATVEC_VECTORS + 1] = {NULL, q8_int16_rows_1, q8_int16_rows_2, q8_int16_rows_3,
                                                              q8_int16_rows_4};
    for (int64_t v = 0; v < count; v += MATVEC_VECTORS) {
        int64_t n = count - v < MATVEC_VECTORS ? count - v : MATVEC_VECTORS;
        by_count[n](w, a + v, y + v * w->rows, begin, end);
    }
}

const molt_rows_fn Q8_INT16_NAME = q8_int16_rows_1;
const molt_rows_many_fn Q8_INT16_MANY_NAME = q8_int16_rows_many;
