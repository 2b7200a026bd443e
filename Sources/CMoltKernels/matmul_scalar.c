/* The f32 matmul's pieces (matmul.h) on portable lanes (matmul_float.h): the reference the
 * SIMD paths are tested against, and the path for CPUs without AVX2. fmaf is one instruction
 * where the hardware has it (and correctly rounded in software where it does not), which
 * keeps this path bit-equal to the SIMD ones. */
#include "matmul.h"
#include "matmul_lanes_portable.h"
#define PANEL_ROWS 4
#define PANEL_COLUMNS 16
#include "matmul_float.h"

static void transpose(const float *rows, int64_t ld, int64_t n, int64_t k, int64_t nr, float *panel) {
    for (int64_t c = 0; c < k; c++)
        for (int64_t j = 0; j < nr; j++) panel[c * nr + j] = j < n ? rows[j * ld + c] : 0;
}

const molt_gemm_kernel molt_gemm_scalar = {PANEL_ROWS, PANEL_COLUMNS, 256, dequantize, transpose, tile, NULL};
