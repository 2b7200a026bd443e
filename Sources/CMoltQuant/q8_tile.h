/* q8 on a tile of LANES groups, one per lane (element j of every group at x + LANES * j): the
 * search of Formats/quantization.md, lane by lane. Included by the path_*.c files after their
 * lanes_*.h, so it is compiled once per instruction set.
 *
 * Each group's sums have the shape the Swift quantizer gave them (8 partial sums, partial i
 * over elements i, i + 8, ..., then added 0..7), so the bytes stay those of earlier releases. */

static const float q8_targets[4] = {126.0f, 126.5f, 127.0f, 127.5f};

/* Clamping first keeps the rounding in range (and turns infinities into the bounds); the
 * bounds are integers, so clamp-then-round equals round-then-clamp. */
static inline vf quantize(vf v, vf low, vf high) { return vround(lmin(lmax(v, low), high)); }

/* Element j's weight times v when `weighted` (Formats/quantization.md), else v. */
#define Q8_WEIGH(j, v) (weighted ? vmul(vload(w + LANES * (j)), v) : (v))

/* Sum of w (x - scale k)^2 for k = nearest integers to x * inverse. */
__attribute__((always_inline)) static inline vf q8_error(const float *x, int64_t g, const float *w, int weighted, vf scale, vf inverse) {
    vf total = vset(-0.0f), low = vset(-127.0f), high = vset(127.0f);
    for (int64_t i = 0; i < 8; i++) {
        vf sum = vset(0.0f);
        for (int64_t j = i; j < g; j += 8) {
            vf v = vload(x + LANES * j);
            vf d = vsub(v, vmul(scale, quantize(vmul(v, inverse), low, high)));
            sum = vadd(sum, vmul(Q8_WEIGH(j, d), d));
        }
        total = vadd(total, sum);
    }
    return total;
}

typedef struct {
    vf scale;   /* f16-exact, 0 for an all-zero group */
    vf inverse; /* the stored integers are the nearest ones to x * inverse */
} q8_choice;

/* Returns MOLT_QUANT_NOT_FINITE or MOLT_QUANT_TOO_LARGE if any lane is refused. `k` holds
 * LANES * g floats of scratch; `w` the tile's weights when `weighted`. */
__attribute__((always_inline)) static inline molt_quant_status q8_tile(const float *x, int64_t g, int search, const float *w, int weighted,
                                                                       float *k, q8_choice *choice) {
    vf finite = vset(0.0f), absmax = vset(0.0f), zero = vset(0.0f);
    for (int64_t j = 0; j < g; j++) {
        vf v = vload(x + LANES * j);
        finite = vadd(finite, vmul(v, zero)); /* NaN once any value is NaN or infinite */
        absmax = lmax(absmax, vabs(v));
    }
    if (!mall(veq(finite, zero))) return MOLT_QUANT_NOT_FINITE;
    vm empty = mnot(vgt(absmax, zero));
    /* Round to nearest: the baseline every candidate must beat. */
    vf best = lmax(vhalf(vdiv(absmax, vset(127.0f))), vset(MOLT_SMALLEST_HALF));
    if (!mall(vfinite(best))) return MOLT_QUANT_TOO_LARGE;
    vf best_inverse = vdiv(vset(1.0f), best);
    if (search) {
        vf best_error = q8_error(x, g, w, weighted, best, best_inverse);
        vf low = vset(-127.0f), high = vset(127.0f);
        for (int t = 0; t < 4; t++) {
            /* Integers for the largest |x| mapped to the target; scale by least squares. */
            vf inverse = vdiv(vset(q8_targets[t]), absmax);
            vf xk = vset(-0.0f), kk = vset(-0.0f);
            for (int64_t i = 0; i < 8; i++) {
                vf xk_i = vset(0.0f), kk_i = vset(0.0f);
                for (int64_t j = i; j < g; j += 8) {
                    vf v = vload(x + LANES * j);
                    vf q = quantize(vmul(v, inverse), low, high);
                    vstore(k + LANES * j, q);
                    xk_i = vadd(xk_i, vmul(Q8_WEIGH(j, v), q));
                    kk_i = vadd(kk_i, vmul(Q8_WEIGH(j, q), q));
                }
                xk = vadd(xk, xk_i);
                kk = vadd(kk, kk_i);
            }
            vf scale = vhalf(vdiv(xk, kk));
            /* Measured directly: q8's error is ~1e-5 of the energy, too small for the
             * expanded formula in f32. */
            vf error = vset(-0.0f);
            for (int64_t i = 0; i < 8; i++) {
                vf sum = vset(0.0f);
                for (int64_t j = i; j < g; j += 8) {
                    vf d = vsub(vload(x + LANES * j), vmul(scale, vload(k + LANES * j)));
                    sum = vadd(sum, vmul(Q8_WEIGH(j, d), d));
                }
                error = vadd(error, sum);
            }
            vm better = mand(mand(vgt(scale, zero), vfinite(scale)), vlt(error, best_error));
            best_error = vsel(better, error, best_error);
            best = vsel(better, scale, best);
            best_inverse = vsel(better, inverse, best_inverse);
        }
        /* For the chosen scale the nearest integers are optimal; keep them if rounding the
         * fitted scale to f16 left the candidate's integers off by one somewhere. */
        vf nearest_inverse = vdiv(vset(1.0f), best);
        vf refined = q8_error(x, g, w, weighted, best, nearest_inverse);
        best_inverse = vsel(vlt(refined, best_error), nearest_inverse, best_inverse);
    }
    choice->scale = vsel(empty, zero, best);
    choice->inverse = best_inverse;
    return MOLT_QUANT_OK;
}
