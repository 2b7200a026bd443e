#ifndef MOLT_ACTIVATION_H
#define MOLT_ACTIVATION_H
#include "internal.h"

/* Scratch bytes molt_activation_prepare needs for `w`. */
size_t molt_activation_bytes(const molt_matrix *w, molt_activations precision);

/* How molt_activation_prepare works: MOLT_PREPARE_PORTABLE quantizes in portable C, in the
 * natural order; MOLT_PREPARE_SIMD (1) with AVX2, int8 in the SIMD row kernels' order (q4:
 * nibble order) with their lane scales; MOLT_PREPARE_SIMD_NATURAL with AVX2, in the natural
 * order (the integer matmul, which packs X itself). The SIMD ones need AVX2. */
enum { MOLT_PREPARE_PORTABLE = 0, MOLT_PREPARE_SIMD = 1, MOLT_PREPARE_SIMD_NATURAL = 2 };

/* Prepares x (w->columns floats) for w's row kernels in `scratch`: the padded copy and group
 * sums of q8/q4, and the quantized blocks of int8 or int16 activations, as `simd` (above)
 * says. Every kernel of one (type, precision) pair sees the same values: each way gives the
 * same bits. The precision must be one the matrix takes (molt_effective_activations). */
void molt_activation_prepare(const molt_matrix *w, const float *x, molt_activations precision, int simd, void *scratch,
                             molt_activation *a);

/* The precision w's kernels use when asked for `precision`: f32 for float weights, and for
 * q4 asked for int16. */
molt_activations molt_effective_activations(const molt_matrix *w, molt_activations precision);
#endif
