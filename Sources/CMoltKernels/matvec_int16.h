/* q8 rows times int16 activations for V vectors at once: the matvec a decode step of V
 * sequences runs on every q8 matrix (Formats/kernels.md, "Matrix-vector (decode)"). One
 * algorithm over the lanes of a matvec_lanes_*.h, included once per instruction set by the
 * matvec_int16_*.c files, as CMoltQuant does with its lanes; the one-vector kernel is its V = 1.
 *
 * Each block of 32 values is one exact integer dot product of the int8 weights and the int16
 * activations (|sum| < 32 * 127 * 32767 < 2^31), turned into f32 once and scaled by the
 * weight group's scale times the activation block's. A block's weights are widened to int16
 * once and its weight scales converted once for all V vectors; per vector, in this order:
 *   acc0 = acc1 = 0; for each block b: acc(b even ? 0 : 1) = fma((float)dot_b, scale_g * xscale_b, acc)
 *   y = reduce(acc0 + acc1)     (the lanes' fixed reduction)
 * so a vector's result has the same bits whatever V and whichever other vectors share the
 * pass (molt_matvec's promise). The paths differ only in the width of acc and the reduction.
 *
 * The lanes give: fvec, wvec, WINDOW (blocks per scale window), MATVEC_VECTORS (the largest
 * V, what fits the register file), fzero, fsplat, fmul, fmadd, half_to_float (one f16 scale),
 * widen (a block's 32 weights), dot16 (with 32 int16 activations: int32 lanes, converted),
 * weight_scales (f16 scales of up to WINDOW blocks from b0, with the lanes' `skip`),
 * block_scales (the matching activation scales), spread (lane i of a window to every lane) and
 * reduce. */

#define Q8_INT16_INLINE static inline __attribute__((always_inline))

/* The weight scale of block b's group. */
Q8_INT16_INLINE float group_scale(const uint8_t *scales, int64_t b, int64_t g) {
    return half_to_float(scales + 2 * (b * MOLT_BLOCK / g));
}

/* One block of every vector into acc: the window's lane `lane` (G = 32), or the block's
 * weight scale times each vector's block scale. */
Q8_INT16_INLINE void q8_int16_block(const uint8_t *p, const molt_activation *a, const int V, int64_t b, int per_window,
                                    const fvec *window, int lane, float weight, fvec *acc) {
    wvec q = widen(p);
    for (int v = 0; v < V; v++) {
        fvec scale = per_window ? spread(window[v], lane) : fsplat(weight * a[v].block_scales[b]);
        acc[v] = fmadd(dot16(q, a[v].x16 + b * MOLT_BLOCK), scale, acc[v]);
    }
}

/* Block k of the window from b0: blocks alternate between the accumulators. */
Q8_INT16_INLINE void q8_int16_window_block(const uint8_t *row, const molt_activation *a, const int V, int64_t b0, int k,
                                           int per_window, const fvec *window, int skip, const uint8_t *scales,
                                           int64_t g, fvec *acc0, fvec *acc1) {
    int64_t b = b0 + k;
    const uint8_t *p = row + b * MOLT_BLOCK;
    /* Once per cache line (two blocks) is enough. */
    if (!(k & 1)) _mm_prefetch((const char *)(p + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    float weight = per_window ? 0 : group_scale(scales, b, g);
    q8_int16_block(p, a, V, b, per_window, window, skip + k, weight, k & 1 ? acc1 : acc0);
}

/* y[v * rows + r] for v in 0..<V, r in begin..<end; per_window says G = 32 (block = group),
 * the default, whose scales come a window at a time: other G take one scalar per block. */
Q8_INT16_INLINE void q8_int16_rows(const molt_matrix *w, const molt_activation *a, const int V, const int per_window,
                                   float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size, blocks = w->groups * g / MOLT_BLOCK;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;
        fvec acc0[MATVEC_VECTORS], acc1[MATVEC_VECTORS], window[MATVEC_VECTORS];
        for (int v = 0; v < V; v++) acc0[v] = acc1[v] = fzero();
        for (int64_t b0 = 0; b0 < blocks; b0 += WINDOW) {
            int64_t count = blocks - b0 < WINDOW ? blocks - b0 : WINDOW;
            /* A window of combined scales per vector, spread by a permute. */
            int skip = 0;
            if (per_window) {
                fvec weights = weight_scales(scales, b0, blocks, count, &skip);
                for (int v = 0; v < V; v++) window[v] = fmul(weights, block_scales(a[v].block_scales, b0, skip, count));
            }
            if (per_window && count == WINDOW && skip == 0) {
                /* A whole window, unrolled: each block's lane and accumulator are constants. */
#pragma clang loop unroll(full)
                for (int k = 0; k < WINDOW; k++) q8_int16_window_block(row, a, V, b0, k, 1, window, 0, scales, g, acc0, acc1);
            } else {
                for (int64_t k = 0; k < count; k++)
                    q8_int16_window_block(row, a, V, b0, (int)k, per_window, window, skip, scales, g, acc0, acc1);
            }
        }
        for (int v = 0; v < V; v++) y[v * w->rows + r] = reduce(acc0[v], acc1[v]);
    }
}

/* Rows shorter than a window (dt_proj's 72 columns: 3 blocks) take their scales a block at a
 * time: the same products as a window's (weight scale times block scale, one f32 rounding), but
 * without building a partial window through memory and a loop over variable lanes, which made
 * such a row cost about 80 cycles for 3 blocks (half that now). */
#define Q8_INT16_ROWS(V) \
    static void q8_int16_rows_##V(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) { \
        if (w->group_size == MOLT_BLOCK && w->groups >= WINDOW)                                                          \
            q8_int16_rows(w, a, V, 1, y, begin, end);                                                                    \
        else                                                                                                             \
            q8_int16_rows(w, a, V, 0, y, begin, end);                                                                    \
    }
Q8_INT16_ROWS(1)
Q8_INT16_ROWS(2)
Q8_INT16_ROWS(3)
#if MATVEC_VECTORS >= 4
Q8_INT16_ROWS(4)
#endif

/* Any number of vectors, MATVEC_VECTORS at a time, then the rest together. */
static void q8_int16_rows_many(const molt_matrix *w, const molt_activation *a, int64_t count, float *y, int64_t begin,
                               int64_t end) {
    static const molt_rows_fn by_count[] = {NULL, q8_int16_rows_1, q8_int16_rows_2, q8_int16_rows_3,
#if MATVEC_VECTORS >= 4
                                            q8_int16_rows_4
#endif
    };
    molt_rows_in_batches(by_count, MATVEC_VECTORS, w, a, count, y, begin, end);
}

const molt_rows_fn Q8_INT16_NAME = q8_int16_rows_1;
const molt_rows_many_fn Q8_INT16_MANY_NAME = q8_int16_rows_many;
