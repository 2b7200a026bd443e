/* The pieces of the f32 matmul (matmul.c) that every instruction set shares: a row of W
 * dequantized to f32 and, for the paths that sweep panels (PANEL_ROWS defined), the register
 * tile. One algorithm over the lanes of a matmul_lanes_*.h, included once per instruction set
 * by matmul_scalar.c, matmul_avx2.c and matmul_avx512.c, as matmul_int8.h is.
 *
 * The including file includes matmul.h first and may define DEQUANTIZE_PREFETCH_BYTES: how
 * far ahead of its loads the dequantization prefetches (0: not at all). */

#ifndef DEQUANTIZE_PREFETCH_BYTES
#define DEQUANTIZE_PREFETCH_BYTES 0
#endif

static inline void prefetch_ahead(const uint8_t *p) {
    if (DEQUANTIZE_PREFETCH_BYTES) __builtin_prefetch(p + DEQUANTIZE_PREFETCH_BYTES);
}

/* Row r of W as f32 into `out` (groups * G floats for q8/q4), bit-equal to MoltQuant's
 * Reconstruction, LANES values at a time. G is a multiple of 32, so q8 and q4 groups are
 * whole vectors; f16 and bf16 rows end with a scalar tail. */
static void dequantize(const molt_matrix *w, int64_t r, float *out) {
    const uint8_t *row = (const uint8_t *)w->data + r * w->row_stride;
    int64_t g = w->group_size, half = g / 2, columns = w->columns, i = 0;
    switch (w->type) {
    case MOLT_WEIGHT_F32:
        memcpy(out, row, (size_t)columns * 4);
        break;
    case MOLT_WEIGHT_F16:
    case MOLT_WEIGHT_BF16: {
        int f16 = w->type == MOLT_WEIGHT_F16;
        for (; i + LANES <= columns; i += LANES) {
            prefetch_ahead(row + 2 * i);
            fstoreu(out + i, f16 ? f16_values(row + 2 * i) : bf16_values(row + 2 * i));
        }
        for (; i < columns; i++) {
            uint16_t h = molt_load_u16(row + 2 * i);
            out[i] = f16 ? molt_f16_to_f32(h) : molt_bf16_to_f32(h);
        }
        break;
    }
    case MOLT_WEIGHT_Q8:
        for (int64_t group = 0; group < w->groups; group++) {
            fvec scale = fsplat(half_to_float(row + w->groups * g + 2 * group));
            for (i = 0; i < g; i += LANES) {
                prefetch_ahead(row + group * g + i);
                fstoreu(out + group * g + i, fmul(scale, q8_values(row + group * g + i)));
            }
        }
        break;
    case MOLT_WEIGHT_Q4:
        for (int64_t group = 0; group < w->groups; group++) {
            const uint8_t *packed = row + group * half;
            fvec scale = fsplat(half_to_float(row + w->groups * half + 2 * group));
            fvec minimum = fsplat(half_to_float(row + w->groups * half + 2 * (w->groups + group)));
            for (i = 0; i < half; i += LANES) {
                fvec low, high;
                prefetch_ahead(packed + i);
                q4_values(packed + i, &low, &high);
                /* scale * q is exact (f16 scale, 4-bit q), so the fused form rounds once, as
                 * Reconstruction does */
                fstoreu(out + group * g + i, fmadd(scale, low, minimum));
                fstoreu(out + group * g + half + i, fmadd(scale, high, minimum));
            }
        }
        break;
    }
}

#ifdef PANEL_ROWS
/* Vectors in a row of the tile: PANEL_COLUMNS columns of Y. */
#define PANEL_VECTORS (PANEL_COLUMNS / LANES)

/* Y[m, n] (+)= a block of X [kc][PANEL_ROWS] times a panel of W [kc][PANEL_COLUMNS], as
 * molt_gemm_kernel.tile: PANEL_ROWS x PANEL_VECTORS accumulators, each element's fused
 * multiply-adds in k order. m is a constant at every call site, so they stay in registers. */
static inline __attribute__((always_inline)) void tile_rows(const int64_t m, const float *x, const float *panel,
                                                            int64_t kc, float *y, int64_t ldy, int64_t n, int first) {
    fvec c[PANEL_ROWS][PANEL_VECTORS];
    for (int64_t i = 0; i < m; i++)
        for (int v = 0; v < PANEL_VECTORS; v++)
            c[i][v] = first ? fzero() : fload_first(y + i * ldy + v * LANES, n - v * LANES);
    for (int64_t k = 0; k < kc; k++) {
        fvec b[PANEL_VECTORS];
        for (int v = 0; v < PANEL_VECTORS; v++) b[v] = fload(panel + PANEL_COLUMNS * k + v * LANES);
        for (int64_t i = 0; i < m; i++) {
            fvec a = fsplat(x[PANEL_ROWS * k + i]);
            for (int v = 0; v < PANEL_VECTORS; v++) c[i][v] = fmadd(a, b[v], c[i][v]);
        }
    }
    for (int64_t i = 0; i < m; i++)
        for (int v = 0; v < PANEL_VECTORS; v++) fstore_first(y + i * ldy + v * LANES, n - v * LANES, c[i][v]);
}

static void tile(int64_t m, const float *x, const float *panel, int64_t kc, float *y, int64_t ldy, int64_t n,
                 int first) {
    switch (m) {
#define CASE(M) \
    case M: tile_rows(M, x, panel, kc, y, ldy, n, first); break;
        CASE(1) CASE(2) CASE(3) CASE(4)
#if PANEL_ROWS > 4
        CASE(5) CASE(6)
#endif
#undef CASE
    }
}
#endif
