#ifndef MOLT_MATMUL_H
#define MOLT_MATMUL_H
#include "internal.h"

/* One instruction set's pieces of the blocked matmul (matmul.c). */
typedef struct {
    /* Rows of X and of W (columns of Y) in one register tile; columns per K block, so that a
     * block of the panel (kc * nr floats) and of X (kc * mr) fit in L1 together. */
    int64_t mr, nr, kc;
    /* Row `row` of W as f32 into `out` (groups * G floats for q8/q4), bit-equal to MoltQuant's
     * Reconstruction. */
    void (*dequantize)(const molt_matrix *w, int64_t row, float *out);
    /* The panel [k][nr] from `n` dequantized rows (row j at rows + j * ld); columns past n are
     * zero. With few rows of X, as experts see in a prefill, building panels costs more than
     * the tiles that use them, so this is vectorised where it can be. */
    void (*transpose)(const float *rows, int64_t ld, int64_t n, int64_t k, int64_t nr, float *panel);
    /* Y[m, n] (+)= a packed block of X [kc][mr] times a packed panel of W [kc][nr]: each Y
     * element continues its sequential fused multiply-add over k; `first` starts it from zero
     * instead of Y. m <= mr, n <= nr: only m rows and n columns of Y are touched. */
    void (*tile)(int64_t m, const float *x, const float *panel, int64_t kc, float *y, int64_t ldy, int64_t n,
                 int first);
    /* The other route, taken when not NULL (the panel fields are then unused): Y[m, n] for
     * m <= 16 rows of X, packed transposed [k][16] (lanes past m zero), and n <= 16 dequantized
     * rows of W (row j at rows + j * ld): each W value is broadcast over a vector of X's rows,
     * so W needs no transpose. Each Y element is the same sequential fused multiply-add. */
    void (*broadcast_tile)(const float *rows, int64_t ld, const float *xt, int64_t k, int64_t m, float *y, int64_t ldy,
                           int64_t n);
} molt_gemm_kernel;

extern const molt_gemm_kernel molt_gemm_scalar, molt_gemm_avx2, molt_gemm_avx512;

/* The integer matmul of q8 and q4 weights per path (matmul_int8.h) with int8 activations, or
 * int16 for q8, returning as molt_matmul. */
typedef int (*molt_matmul_int8_fn)(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                                   molt_activations precision);
int molt_matmul_int8_scalar(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                            molt_activations precision);
int molt_matmul_int8_avx2(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                          molt_activations precision);
int molt_matmul_int8_avx512(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                            molt_activations precision);
int molt_matmul_int8_vnni(molt_pool *pool, const molt_matrix *w, const float *x, int64_t t, float *y,
                          molt_activations precision);
#endif
