/* The integer matmul's register tile (matmul_int8.h): included there once with TILE int8_tile
 * and V(name) the path's lanes (name), and on the paths with 16 lanes (a zmm register, or a
 * pair of ymm) once more with TILE int8_tile_half and V(name) name##_half, the lower 8 lanes in
 * one ymm register, for a block of X with 8 rows or fewer (the last block of an expert's rows,
 * often): Zen 4 runs a zmm instruction as two ymm halves, so that block then costs half. Each
 * lane computes the same sequence either way. */

/* Y for ROWS (a constant at each call site, so the accumulators stay in registers) rows of W
 * from row j0 of `u` and one block of X, into out[row][lane]. A block of 32 values is
 * 8 * width steps of 4 bytes. */
static inline __attribute__((always_inline)) void TILE(const int ROWS, const int kind, const int8_job *job,
                                                       const unpacked_rows *u, int64_t j0, const int8_t *xq,
                                                       const float *xs, const float *xg, float out[TILE_ROWS][LANES]) {
    const int q4 = kind == KIND_Q4, width = kind == KIND_WIDE ? 2 : 1;
    int64_t stride = job->padded * width, groups = job->w->groups, per_group = job->w->group_size / 32;
    V(fvec) sum[TILE_ROWS];
    for (int j = 0; j < ROWS; j++) sum[j] = V(fzero)();
    for (int64_t b = 0, group = 0, in_group = 0; b < job->blocks; b++) {
        V(ivec) acc[TILE_ROWS];
        for (int j = 0; j < ROWS; j++)
            acc[j] = V(istart)(kind == KIND_Q8 && Q8_BIASED ? u->starts[(j0 + j) * job->blocks + b] : 0);
        for (int64_t s = 0; s < 8 * width; s++) {
            V(xvec) x = V(xload)(xq + (8 * width * b + s) * 4 * LANES);
            int64_t at = 32 * width * b + 4 * s;
            for (int j = 0; j < ROWS; j++) {
                const uint8_t *weights = u->values + (j0 + j) * stride + at;
                acc[j] = kind == KIND_Q4   ? V(q4_step)(acc[j], weights, x)
                         : kind == KIND_Q8 ? V(q8_step)(acc[j], weights, u->magnitudes + (j0 + j) * stride + at, x)
                                           : V(wide_step)(acc[j], weights, x);
            }
        }
        V(fvec) block_scales = V(fload)(xs + b * LANES);
        for (int j = 0; j < ROWS; j++)
            sum[j] = V(fscaled)(sum[j], q4 ? V(q4_finish)(acc[j]) : acc[j], u->scales[(j0 + j) * groups + group], block_scales);
        /* Counted: b / per_group would be a division per block. */
        if (++in_group == per_group) {
            in_group = 0;
            group++;
        }
    }
    if (q4) {
        /* The rows' chains of fused adds side by side: one after the other they waited on
         * each other's latency (an eighth of a q4 product at 16 rows of X). */
        V(fvec) offset[TILE_ROWS];
        for (int j = 0; j < ROWS; j++) offset[j] = V(fzero)();
        for (int64_t group = 0; group < groups; group++) {
            V(fvec) sums = V(fload)(xg + group * LANES);
            for (int j = 0; j < ROWS; j++) offset[j] = V(foffset)(offset[j], u->minimums[(j0 + j) * groups + group], sums);
        }
        for (int j = 0; j < ROWS; j++) sum[j] = V(fadd)(sum[j], offset[j]);
    }
    for (int j = 0; j < ROWS; j++) V(fstore)(out[j], sum[j]);
}
