/* q4 on a tile of LANES groups, one per lane (element j of every group at x + LANES * j): the
 * search of Formats/quantization.md, lane by lane. Included by the path_*.c files after their
 * lanes_*.h and q8_tile.h (for quantize), so it is compiled once per instruction set.
 *
 * Ragged tiles (a group shorter than G) weigh the padding 0; `ragged` is a constant at every
 * call, so whole tiles compile without the masks. Padding repeats a data value, which keeps
 * the group's extremes. */

static const float q4_targets[6] = {14.5f, 14.75f, 15.0f, 15.25f, 15.5f, 15.75f};
#define Q4_REFINEMENT_ROUNDS 3

/* v where element j is data, else 0. */
#define MASK(j, v) (ragged ? vsel(vlt(vset((float)(j)), count), v, vset(0.0f)) : (v))
/* v times element j's weight: its search weight (`weighted`, padding weighs 0), else as MASK. */
#define WEIGH(j, v) (weighted ? vmul(vload(w + LANES * (j)), v) : MASK(j, v))

/* Sums over one assignment of integers k, per lane: what least squares and the error need. */
typedef struct {
    vf k, kk, xk;
} q4_moments;

typedef struct {
    vf scale, minimum, centred, error;
    vm ok;
} q4_fit;

/* Weighted squared error of q = nearest integers to (x - minimum) / scale. */
__attribute__((always_inline)) static inline vf q4_error(const float *x, int64_t g, vf count, int ragged, const float *w, int weighted, vf scale,
                                                        vf minimum) {
    vf inverse = vdiv(vset(1.0f), scale), error = vset(0.0f), low = vset(0.0f), high = vset(15.0f);
    for (int64_t j = 0; j < g; j++) {
        vf v = vload(x + LANES * j);
        vf d = vsub(v, vadd(vmul(scale, quantize(vmul(vsub(v, minimum), inverse), low, high)), minimum));
        error = vadd(error, vmul(WEIGH(j, d), d));
    }
    return error;
}

/* The integers for (scale, offset) on values `centred` on the group minimum. An offset of 0
 * (`offset` false) is left out: v - 0 is v, and v * inverse is then never below 0 (or NaN,
 * which the clamp would keep), so the lower clamp is left out too. */
__attribute__((always_inline)) static inline q4_moments q4_gather(const float *centred, int64_t g, vf count, int ragged,
                                                                  const float *w, int weighted, vf inverse, int offset, vf by) {
    q4_moments m = {vset(0.0f), vset(0.0f), vset(0.0f)};
    vf low = vset(0.0f), high = vset(15.0f);
    for (int64_t j = 0; j < g; j++) {
        vf v = vload(centred + LANES * j);
        vf k = offset ? quantize(vmul(vsub(v, by), inverse), low, high) : vround(lmin(vmul(v, inverse), high));
        vf wk = WEIGH(j, k);
        m.k = vadd(m.k, wk);
        m.kk = vadd(m.kk, vmul(wk, k));
        m.xk = vadd(m.xk, vmul(wk, v));
    }
    return m;
}

/* Least squares for (scale, min) given the integers, each rounded to f16, and the error of the
 * rounded pair, sum w (x - s k - b)^2 expanded, on centred values (which keeps the formula's
 * cancellation small: q4's error is ~1e-3 of the centred energy, f32 sums good to ~1e-6). */
static inline q4_fit q4_solve(q4_moments m, vf n, vf sum_x, vf sum_xx, vf group_low) {
    vf determinant = vsub(vmul(n, m.kk), vmul(m.k, m.k));
    vm solvable = vgt(determinant, vset(0.0f));
    vf scale = vdiv(vsub(vmul(n, m.xk), vmul(m.k, sum_x)), vsel(solvable, determinant, vset(1.0f)));
    q4_fit f;
    f.scale = vhalf(scale);
    f.minimum = vhalf(vadd(vdiv(vsub(sum_x, vmul(scale, m.k)), n), group_low));
    f.centred = vsub(f.minimum, group_low);
    vf s = f.scale, c = f.centred, two = vset(2.0f);
    vf linear = vmul(two, vadd(vmul(s, m.xk), vmul(c, sum_x)));
    vf quadratic = vadd(vmul(s, vadd(vmul(s, m.kk), vmul(vmul(two, c), m.k))), vmul(vmul(n, c), c));
    f.error = vadd(vsub(sum_xx, linear), quadratic);
    f.ok = mand(mand(solvable, vgt(s, vset(0.0f))), mand(vfinite(s), vfinite(f.minimum)));
    return f;
}

typedef struct {
    vf scale;    /* f16-exact; 0 for a constant group */
    vf minimum;  /* f16-exact */
    vf inverse;  /* the stored integers are the nearest ones to (x - offset) * inverse ... */
    vf offset;   /* ... clamped to [0, 15] */
    vm constant; /* ... except in constant groups, whose integers are all 0 */
} q4_choice;

/* Returns MOLT_QUANT_NOT_FINITE or MOLT_QUANT_TOO_LARGE if any lane is refused. `count` is the
 * number of data values in each lane's group; `centred` holds LANES * g floats of scratch;
 * `w` the tile's weights when `weighted` (then n in the least squares is the weights' sum).
 * Passes that need the same inputs share a loop (each sum still sees its values in order). */
__attribute__((always_inline)) static inline molt_quant_status q4_tile(const float *x, int64_t g, vf count, int ragged, int search,
                                                                       const float *w, int weighted, float *centred,
                                                                       q4_choice *choice) {
    vf zero = vset(0.0f), finite = vmul(vload(x), zero), low = vload(x), high = low;
    for (int64_t j = 1; j < g; j++) {
        vf v = vload(x + LANES * j);
        finite = vadd(finite, vmul(v, zero)); /* NaN once any value is NaN or infinite */
        low = lmin(low, v);
        high = lmax(high, v);
    }
    if (!mall(veq(finite, zero))) return MOLT_QUANT_NOT_FINITE;
    vf minimum = vhalf(low);
    vm constant = veq(high, low);
    vf range = vsel(constant, vset(1.0f), vsub(high, low));
    vf nearest_scale = lmax(vhalf(vdiv(range, vset(15.0f))), vset(MOLT_SMALLEST_HALF));
    if (!mall(mand(mand(vfinite(minimum), vfinite(vhalf(high))), vfinite(nearest_scale)))) return MOLT_QUANT_TOO_LARGE;

    vf best_scale = nearest_scale, best_minimum = minimum;
    if (search) {
        /* Round to nearest's error (as q4_error), and the sums of the centred values. */
        vf nearest_error = zero, sum_x = zero, sum_xx = zero, sum_w = zero, nearest_inverse = vdiv(vset(1.0f), nearest_scale);
        for (int64_t j = 0; j < g; j++) {
            vf x_j = vload(x + LANES * j), v = vsub(x_j, low);
            vf d = vsub(x_j, vadd(vmul(nearest_scale, quantize(vmul(vsub(x_j, minimum), nearest_inverse), zero, vset(15.0f))), minimum));
            nearest_error = vadd(nearest_error, vmul(WEIGH(j, d), d));
            vstore(centred + LANES * j, v);
            vf wx = WEIGH(j, v);
            sum_x = vadd(sum_x, wx);
            sum_xx = vadd(sum_xx, vmul(wx, v));
            if (weighted) sum_w = vadd(sum_w, vload(w + LANES * j));
        }
        vf n = weighted ? sum_w : count;
        vf best_error = nearest_error, best_centred = vsub(minimum, low);
        for (int t = 0; t < 6; t++) {
            q4_fit f = q4_solve(q4_gather(centred, g, count, ragged, w, weighted, vdiv(vset(q4_targets[t]), range), 0, zero), n, sum_x,
                                sum_xx, low);
            vm better = mand(f.ok, vlt(f.error, best_error));
            best_scale = vsel(better, f.scale, best_scale);
            best_minimum = vsel(better, f.minimum, best_minimum);
            best_centred = vsel(better, f.centred, best_centred);
            best_error = vsel(better, f.error, best_error);
        }
        /* Alternate: nearest integers for the current (scale, min), then refit. A lane that
         * stops improving would get the same candidate again, so stopping when no lane
         * improves gives every lane the result it would get alone. */
        for (int round = 0; round < Q4_REFINEMENT_ROUNDS; round++) {
            q4_fit f = q4_solve(q4_gather(centred, g, count, ragged, w, weighted, vdiv(vset(1.0f), best_scale), 1, best_centred), n,
                                sum_x, sum_xx, low);
            vm better = mand(f.ok, vlt(f.error, best_error));
            if (!many(better)) break;
            best_scale = vsel(better, f.scale, best_scale);
            best_minimum = vsel(better, f.minimum, best_minimum);
            best_centred = vsel(better, f.centred, best_centred);
            best_error = vsel(better, f.error, best_error);
        }
        /* Never worse than round to nearest, measured on the values as they will be stored. */
        vm keep = vlt(q4_error(x, g, count, ragged, w, weighted, best_scale, best_minimum), nearest_error);
        best_scale = vsel(keep, best_scale, nearest_scale);
        best_minimum = vsel(keep, best_minimum, minimum);
    }
    choice->inverse = vdiv(vset(1.0f), best_scale);
    choice->offset = best_minimum;
    /* A constant group is its minimum: scale 0, q 0. */
    choice->scale = vsel(constant, zero, best_scale);
    choice->minimum = vsel(constant, minimum, best_minimum);
    choice->constant = constant;
    return MOLT_QUANT_OK;
}
