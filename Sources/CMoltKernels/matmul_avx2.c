/* AVX2 pieces of the matmul: the shared ones (matmul_float.h) on eight f32 lanes, with a
 * 6 x 16 register tile (12 accumulators of 8), and the panels' vector transpose. The target
 * attribute covers every function of the headers included below. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include "matmul.h"

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "matmul_lanes_avx2.h"
#define PANEL_ROWS 6
#define PANEL_COLUMNS 16
#include "matmul_float.h"

/* 8 x 8 blocks in ymm registers. Each register is loaded as two 128-bit halves, row i's in
 * the low lane and row i + 4's in the high one, so that the lane crossing a transpose needs
 * is done by the loads; two rounds of in-lane shuffles finish it. Ragged blocks (fewer than 8
 * rows or columns left) go through the scalar path. */
static void transpose(const float *rows, int64_t ld, int64_t n, int64_t k, int64_t nr, float *panel) {
    for (int64_t j0 = 0; j0 < nr; j0 += 8) {
        int64_t c0 = 0;
        if (j0 + 8 <= n) {
            const float *r = rows + j0 * ld;
            for (; c0 + 8 <= k; c0 += 8) {
                __m256 t[8], u[4];
                for (int h = 0; h < 2; h++)
                    for (int i = 0; i < 4; i++)
                        t[4 * h + i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r + i * ld + c0 + 4 * h)),
                                                            _mm_loadu_ps(r + (i + 4) * ld + c0 + 4 * h), 1);
                for (int h = 0; h < 2; h++) {
                    u[0] = _mm256_unpacklo_ps(t[4 * h], t[4 * h + 1]);
                    u[1] = _mm256_unpackhi_ps(t[4 * h], t[4 * h + 1]);
                    u[2] = _mm256_unpacklo_ps(t[4 * h + 2], t[4 * h + 3]);
                    u[3] = _mm256_unpackhi_ps(t[4 * h + 2], t[4 * h + 3]);
                    float *out = panel + (c0 + 4 * h) * nr + j0;
                    _mm256_storeu_ps(out, _mm256_shuffle_ps(u[0], u[2], 0x44));
                    _mm256_storeu_ps(out + nr, _mm256_shuffle_ps(u[0], u[2], 0xEE));
                    _mm256_storeu_ps(out + 2 * nr, _mm256_shuffle_ps(u[1], u[3], 0x44));
                    _mm256_storeu_ps(out + 3 * nr, _mm256_shuffle_ps(u[1], u[3], 0xEE));
                }
            }
        }
        for (int64_t c = c0; c < k; c++)
            for (int64_t j = j0; j < j0 + 8; j++) panel[c * nr + j] = j < n ? rows[j * ld + c] : 0;
    }
}

const molt_gemm_kernel molt_gemm_avx2 = {PANEL_ROWS, PANEL_COLUMNS, 256, dequantize, transpose, tile, NULL};
#pragma clang attribute pop
#else
#include "matmul.h"
const molt_gemm_kernel molt_gemm_avx2;
#endif
