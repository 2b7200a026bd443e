#ifndef MOLT_ACTIVATION_H
#define MOLT_ACTIVATION_H
#include "internal.h"

/* Scratch bytes molt_activation_prepare needs for `w`. */
size_t molt_activation_bytes(const molt_matrix *w, int int8);

/* Prepares x (w->columns floats) for w's row kernels in `scratch`: the padded copy and group
 * sums of q8/q4, and with `int8` the quantized blocks, in the SIMD kernels' order if `simd`.
 * Every kernel of one (type, int8) pair sees the same quantized values. */
void molt_activation_prepare(const molt_matrix *w, const float *x, int int8, int simd, void *scratch,
                             molt_activation *a);
#endif
