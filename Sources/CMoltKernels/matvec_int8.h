/* q8 and q4 rows times int8 activations for V vectors at once: the matvec a decode step of V
 * sequences runs on every quantized matrix that takes int8 activations (Formats/kernels.md,
 * "Matrix-vector (decode)"). One algorithm over the lanes of a matvec_lanes_*.h plus the
 * integer steps of the including file (matvec_int8_avx2.c, matvec_int8_vnni.c), as
 * matvec_int16.h; the one-vector kernel is its V = 1.
 *
 * A step takes 4 * LANES packed bytes of the row, one int32 lane per 4 of them, summed
 * exactly in integers (the including file says how), turned into f32 once and scaled:
 *   q8: lane sum * (weight scale of the lane's group * the lane's activation scale)
 *   q4: (low and high nibbles' products in the same lane) * (weight scale * block scale)
 *       of the lane's group (G = 32: block = group)
 * Steps alternate between two accumulators, then
 *   q8: y = reduce(acc0, acc1)
 *   q4: y = q4_total(acc0, acc1, offset), offset being the minimums' term, sum over groups of
 *       minimum * (sum of x over the group), taken a window of groups at a time in the same pass.
 * A step's weights are loaded, prefetched and unpacked once, and the scale windows converted
 * once, for all V vectors; each vector's sums run in exactly this order, so its result has
 * the same bits whatever V and whichever other vectors share the pass (molt_matvec's promise).
 * q4 with G other than 32 (not the default) runs the path's one-vector kernel, INT8_Q4_ONE,
 * once per vector.
 *
 * From the matvec lanes it takes the f32 steps and the scale windows of the int16 kernel,
 * weight_scales (the f16 scales of up to WINDOW groups from g0, with the lanes' `skip`) and
 * block_scales (the matching activation block scales). Besides, the including file gives:
 * LANES, INT8_VECTORS (the largest V, what fits the register file), q8w / q4w (a step's
 * weights prepared for the dot products), load_step (the step's bytes, only `remaining` of
 * them when fewer are left), q8_weights / q4_weights, q8_dot / q4_dot (with the step's int8
 * activations: f32 lanes), spread_groups (lane i of the step takes window lane first + i /
 * lanes_per_group), walk_scales (the weight scale of each lane of the next step, any G),
 * sums_window (the group sums matching weight_scales' window), q4_total and UNROLL_WINDOWS. */

#define INT8_INLINE static inline __attribute__((always_inline))
#define STEP_BYTES (4 * LANES)

/* One q8 step of every vector into acc: the weights at p, `scale` the weight scale of each
 * lane; b the step's first byte (= value) of the row. */
INT8_INLINE void q8_step(const uint8_t *p, int64_t remaining, const molt_activation *a, const int V, int64_t b,
                         fvec scale, fvec *acc) {
    _mm_prefetch((const char *)(p + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    q8w q = q8_weights(load_step(p, remaining));
    for (int v = 0; v < V; v++)
        acc[v] = fmadd(q8_dot(q, a[v].xq + b), fmul(scale, fload(a[v].lane_scales + b / 4)), acc[v]);
}

/* G = 32 (per_window) takes its weight scales a window of groups at a time, spread over the
 * lanes by a permute; other G walk the groups step by step. */
INT8_INLINE void int8_q8_rows(const molt_matrix *w, const molt_activation *a, const int V, const int per_window,
                              float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size, bytes = w->groups * g, steps = (bytes + STEP_BYTES - 1) / STEP_BYTES;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + bytes;
        fvec acc0[INT8_VECTORS], acc1[INT8_VECTORS];
        for (int v = 0; v < V; v++) acc0[v] = acc1[v] = fzero();
        if (per_window) {
            for (int64_t g0 = 0; g0 < w->groups; g0 += WINDOW) {
                int64_t count = w->groups - g0 < WINDOW ? w->groups - g0 : WINDOW;
                int skip;
                fvec window = weight_scales(scales, g0, w->groups, count, &skip);
                /* A window holds an even number of steps, so k's parity is the step's. */
                int64_t first = g0 * MOLT_BLOCK, steps_here = (count * MOLT_BLOCK + STEP_BYTES - 1) / STEP_BYTES;
#define STEP(K, ACC) q8_step(row + first + (K) * STEP_BYTES, bytes - first - (K) * STEP_BYTES, a, V, \
                             first + (K) * STEP_BYTES, spread_groups(window, skip + (int)(K) * (LANES / 8), 8), ACC)
                MOLT_ALTERNATE(steps_here, STEP)
#undef STEP
            }
        } else {
            molt_group_walk walk = molt_group_walk_start(g);
#define STEP(K, ACC) q8_step(row + (K) * STEP_BYTES, bytes - (K) * STEP_BYTES, a, V, (K) * STEP_BYTES, \
                             walk_scales(scales, w->groups, &walk), ACC)
            MOLT_ALTERNATE(steps, STEP)
#undef STEP
        }
        for (int v = 0; v < V; v++) y[v * w->rows + r] = reduce(acc0[v], acc1[v]);
    }
}

/* One q4 step (G = 32) of every vector into acc: LANES / 4 groups, the k-th step of the
 * window of combined scales `window` (whose lane skip is the window's first group). */
INT8_INLINE void q4_step(const uint8_t *p, int64_t remaining, const molt_activation *a, const int V, int64_t b,
                         const fvec *window, int lane, fvec *acc) {
    _mm_prefetch((const char *)(p + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    q4w q = q4_weights(load_step(p, remaining));
    int64_t x = molt_nibble_offset(b);
    for (int v = 0; v < V; v++) acc[v] = fmadd(q4_dot(q, a[v].xq + x), spread_groups(window[v], lane, 4), acc[v]);
}

INT8_INLINE void int8_q4_rows(const molt_matrix *w, const molt_activation *a, const int V, float *y, int64_t begin,
                              int64_t end) {
    if (w->group_size != MOLT_BLOCK) {
        for (int v = 0; v < V; v++) INT8_Q4_ONE(w, &a[v], y + v * w->rows, begin, end);
        return;
    }
    int64_t groups = w->groups, bytes = groups * w->group_size / 2;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + bytes, *minimums = scales + 2 * groups;
        fvec acc0[INT8_VECTORS], acc1[INT8_VECTORS], offset[INT8_VECTORS], window[INT8_VECTORS];
        for (int v = 0; v < V; v++) acc0[v] = acc1[v] = offset[v] = fzero();
        for (int64_t g0 = 0; g0 < groups; g0 += WINDOW) {
            int64_t count = groups - g0 < WINDOW ? groups - g0 : WINDOW;
            int skip;
            fvec weights = weight_scales(scales, g0, groups, count, &skip);
            fvec lows = weight_scales(minimums, g0, groups, count, &skip);
            for (int v = 0; v < V; v++) {
                window[v] = fmul(weights, block_scales(a[v].block_scales, g0, skip, count));
                offset[v] = fmadd(lows, sums_window(a[v].group_sums, g0, skip, count, groups), offset[v]);
            }
            /* A window holds an even number of steps, so k's parity is the step's. */
            int64_t first = g0 * MOLT_BLOCK / 2, steps = (count * MOLT_BLOCK / 2 + STEP_BYTES - 1) / STEP_BYTES;
#define STEP(K, ACC) q4_step(row + first + (K) * STEP_BYTES, bytes - first - (K) * STEP_BYTES, a, V, \
                             first + (K) * STEP_BYTES, window, skip + (int)(K) * (LANES / 4), ACC)
#if UNROLL_WINDOWS
            MOLT_ALTERNATE_UNROLLED(WINDOW * MOLT_BLOCK / 2 / STEP_BYTES, steps, STEP)
#else
            MOLT_ALTERNATE(steps, STEP)
#endif
#undef STEP
        }
        for (int v = 0; v < V; v++) y[v * w->rows + r] = q4_total(acc0[v], acc1[v], offset[v]);
    }
}

#define INT8_ROWS(V)                                                                                                   \
    static void int8_q8_rows_##V(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) { \
        if (w->group_size == MOLT_BLOCK)                                                                               \
            int8_q8_rows(w, a, V, 1, y, begin, end);                                                                   \
        else                                                                                                           \
            int8_q8_rows(w, a, V, 0, y, begin, end);                                                                   \
    }                                                                                                                  \
    static void int8_q4_rows_##V(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) { \
        int8_q4_rows(w, a, V, y, begin, end);                                                                          \
    }
INT8_ROWS(1)
INT8_ROWS(2)
INT8_ROWS(3)
#if INT8_VECTORS >= 4
INT8_ROWS(4)
#endif

/* Any number of vectors, INT8_VECTORS at a time, then the rest together. */
#if INT8_VECTORS >= 4
#define INT8_BY_COUNT(KIND) {NULL, int8_##KIND##_rows_1, int8_##KIND##_rows_2, int8_##KIND##_rows_3, int8_##KIND##_rows_4}
#else
#define INT8_BY_COUNT(KIND) {NULL, int8_##KIND##_rows_1, int8_##KIND##_rows_2, int8_##KIND##_rows_3}
#endif
#define INT8_MANY(KIND)                                                                                              \
    static void int8_##KIND##_rows_many(const molt_matrix *w, const molt_activation *a, int64_t count, float *y,     \
                                        int64_t begin, int64_t end) {                                                \
        static const molt_rows_fn by_count[] = INT8_BY_COUNT(KIND);                                                  \
        molt_rows_in_batches(by_count, INT8_VECTORS, w, a, count, y, begin, end);                                  \
    }
INT8_MANY(q8)
INT8_MANY(q4)

#ifdef INT8_Q8_NAME
const molt_rows_fn INT8_Q8_NAME = int8_q8_rows_1;
#endif
/* Indexed by type - MOLT_WEIGHT_Q8. */
const molt_rows_many_fn INT8_MANY_NAME[2] = {int8_q8_rows_many, int8_q4_rows_many};
