#ifndef MOLT_ACTIVATION_H
#define MOLT_ACTIVATION_H
#include "internal.h"

/* Scratch bytes molt_activation_prepare needs for `w`. */
size_t molt_activation_bytes(const molt_matrix *w, molt_activations precision);

/* Prepares x (w->columns floats) for w's row kernels in `scratch`: the padded copy and group
 * sums of q8/q4, and the quantized blocks of int8 (in the SIMD kernels' order if `simd`) or
 * int16 activations. Every kernel of one (type, precision) pair sees the same values. The
 * precision must be one the matrix takes (molt_effective_activations). */
void molt_activation_prepare(const molt_matrix *w, const float *x, molt_activations precision, int simd, void *scratch,
                             molt_activation *a);

/* The precision w's kernels use when asked for `precision`: f32 for float weights, and for
 * q4 asked for int16. */
molt_activations molt_effective_activations(const molt_matrix *w, molt_activations precision);
#endif
