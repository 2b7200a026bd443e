/* f32, f16 and bf16 rows, and q8 and q4 rows with f32 activations, times one vector
 * (Formats/kernels.md, "Matrix-vector: f32 activations"). One algorithm over the lanes of a
 * matvec_lanes_*.h (their f32 steps and stored-value loads), included by matvec_avx2.c and
 * matvec_avx512.c as matvec_int16.h is; the portable reference the paths are tested against
 * stays written out in matvec_scalar.c.
 *
 * Per row, in this order (each path's bits depend on it, so it is the order each path's
 * hand-written kernel had):
 *   f32/f16/bf16: s0 = s1 = s2 = s3 = 0; 4 * LANES columns a step, the j-th LANES into sj;
 *       then LANES columns a step into s0; the last < LANES columns, zero-padded, into
 *       ROWS_TAIL (the including file's: s1 on AVX2, s0 on AVX-512);
 *       y = fsum((s0 + s1) + (s2 + s3))
 *   q8: per group: sum = 0; LANES values a step: sum = fma(q, x, sum);
 *       groups alternate (MOLT_ALTERNATE): acc = fma(sum, scale, acc);  y = fsum(acc0 + acc1)
 *   q4: per group: low, high as q8's sum over the low and high nibbles' values;
 *       acc = fma(low + high, scale, acc), alternating;  y = fsum(acc0 + acc1) + minimum_term
 *       (the minimums' term, sum over groups of minimum * (sum of x over the group), the
 *       including file's). Where the including file defines Q4_ROW32 (AVX-512: its
 *       table-lookup kernel), G = 32 takes that instead.
 * LANES divides G (a multiple of 32), so a group is whole steps. Besides the lanes, the
 * including file gives LANES, ROWS_TAIL, FLOAT_HALVES (1: also f16 and bf16 rows),
 * Q8_PREFETCH (1: q8 prefetches each group's bytes MOLT_PREFETCH_BYTES ahead), half_to_float
 * (an f16 scale) and minimum_term. */

#define FLOAT_INLINE static inline __attribute__((always_inline))

FLOAT_INLINE fvec f32_values(const uint8_t *p) { return fload((const float *)p); }

/* VALUES(p) reads LANES elements of BYTES bytes each at p as f32. */
#define FLOAT_ROWS(NAME, BYTES, VALUES)                                                                       \
    static void NAME(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) { \
        int64_t n = w->columns;                                                                              \
        const float *x = a->x;                                                                               \
        for (int64_t r = begin; r < end; r++) {                                                              \
            const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;                               \
            fvec s0 = fzero(), s1 = s0, s2 = s0, s3 = s0;                                                    \
            int64_t i = 0;                                                                                   \
            for (; i + 4 * LANES <= n; i += 4 * LANES) {                                                     \
                s0 = fmadd(VALUES(row + (i)*BYTES), fload(x + i), s0);                                       \
                s1 = fmadd(VALUES(row + (i + LANES) * BYTES), fload(x + i + LANES), s1);                     \
                s2 = fmadd(VALUES(row + (i + 2 * LANES) * BYTES), fload(x + i + 2 * LANES), s2);             \
                s3 = fmadd(VALUES(row + (i + 3 * LANES) * BYTES), fload(x + i + 3 * LANES), s3);             \
            }                                                                                                \
            for (; i + LANES <= n; i += LANES) s0 = fmadd(VALUES(row + i * BYTES), fload(x + i), s0);        \
            if (i < n) {                                                                                     \
                uint8_t wt[LANES * BYTES] = {0};                                                             \
                float xt[LANES] = {0};                                                                       \
                memcpy(wt, row + i * BYTES, (size_t)(n - i) * BYTES);                                        \
                memcpy(xt, x + i, (size_t)(n - i) * 4);                                                      \
                ROWS_TAIL = fmadd(VALUES(wt), fload(xt), ROWS_TAIL);                                         \
            }                                                                                                \
            y[r] = fsum(fadd(fadd(s0, s1), fadd(s2, s3)));                                                   \
        }                                                                                                    \
    }

FLOAT_ROWS(rows_f32, 4, f32_values)
#if FLOAT_HALVES
FLOAT_ROWS(rows_f16, 2, f16_values)
FLOAT_ROWS(rows_bf16, 2, bf16_values)
#endif

/* One group of q8 into acc. */
FLOAT_INLINE fvec q8_group(const uint8_t *row, const uint8_t *scales, const float *x, int64_t g, int64_t group,
                           fvec acc) {
    const uint8_t *q = row + group * g;
    x += group * g;
    if (Q8_PREFETCH) _mm_prefetch((const char *)(q + MOLT_PREFETCH_BYTES), _MM_HINT_T0);
    fvec sum = fzero();
    for (int64_t i = 0; i < g; i += LANES) sum = fmadd(q8_values(q + i), fload(x + i), sum);
    return fmadd(sum, fsplat(half_to_float(scales + 2 * group)), acc);
}

static void rows_q8(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride, *scales = row + w->groups * g;
        fvec acc0 = fzero(), acc1 = acc0;
#define STEP(GROUP, ACC) ACC = q8_group(row, scales, a->x, g, GROUP, ACC)
        MOLT_ALTERNATE(w->groups, STEP)
#undef STEP
        y[r] = fsum(fadd(acc0, acc1));
    }
}

/* One group of q4 into acc: its G / 2 packed bytes hold values j (low nibble) and G / 2 + j
 * (high nibble). */
FLOAT_INLINE fvec q4_group(const uint8_t *row, const uint8_t *scales, const float *x, int64_t g, int64_t group,
                           fvec acc) {
    int64_t half = g / 2;
    const uint8_t *packed = row + group * half;
    x += group * g;
    fvec low = fzero(), high = low;
    for (int64_t j = 0; j < half; j += LANES) {
        fvec lo, hi;
        q4_values(packed + j, &lo, &hi);
        low = fmadd(lo, fload(x + j), low);
        high = fmadd(hi, fload(x + half + j), high);
    }
    return fmadd(fadd(low, high), fsplat(half_to_float(scales + 2 * group)), acc);
}

static void rows_q4(const molt_matrix *w, const molt_activation *a, float *y, int64_t begin, int64_t end) {
    int64_t g = w->group_size;
    for (int64_t r = begin; r < end; r++) {
        const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
        const uint8_t *scales = row + w->groups * g / 2, *minimums = scales + 2 * w->groups;
        float offset = minimum_term(minimums, a->group_sums, w->groups);
#ifdef Q4_ROW32
        if (g == 32) {
            y[r] = Q4_ROW32(row, scales, a->x, w->groups) + offset;
            continue;
        }
#endif
        fvec acc0 = fzero(), acc1 = acc0;
#define STEP(GROUP, ACC) ACC = q4_group(row, scales, a->x, g, GROUP, ACC)
        MOLT_ALTERNATE(w->groups, STEP)
#undef STEP
        y[r] = fsum(fadd(acc0, acc1)) + offset;
    }
}
