/* One lane: the portable path quantizes one group at a time. Included by path_scalar.c only. */
#define LANES 1
#define SPLAT_LANES(v) (v)

typedef float vf;
typedef int vm;
typedef int32_t vi;

static inline vf vset(float a) { return a; }
static inline vf vload(const float *p) { return *p; }
static inline void vstore(float *p, vf v) { *p = v; }
static inline vf vadd(vf a, vf b) { return a + b; }
static inline vf vsub(vf a, vf b) { return a - b; }
static inline vf vmul(vf a, vf b) { return a * b; }
static inline vf vdiv(vf a, vf b) { return a / b; }
/* Compare-and-select with a fixed operand order: the signed zero that survives a tie is part
 * of the stored bytes (a group's minimum). */
static inline vf lmin(vf a, vf b) { return b < a ? b : a; }
static inline vf lmax(vf a, vf b) { return b > a ? b : a; }
static inline vf vabs(vf a) { return molt_bits_float(molt_float_bits(a) & 0x7FFFFFFFu); }
static inline vm vlt(vf a, vf b) { return a < b; }
static inline vm vgt(vf a, vf b) { return a > b; }
static inline vm veq(vf a, vf b) { return a == b; }
static inline vm mand(vm a, vm b) { return a & b; }
static inline vm mnot(vm a) { return !a; }
static inline int many(vm a) { return a; }
static inline int mall(vm a) { return a; }
static inline vf vsel(vm m, vf a, vf b) { return m ? a : b; }
static inline vm vfinite(vf a) { return molt_is_finite(a); }
/* Round half to even for |v| < 2^22: after adding 1.5 * 2^23 no fraction bits are left. */
static inline vf vround(vf v) { return (v + 12582912.0f) - 12582912.0f; }
static inline vf vhalf(vf v) { return molt_round_to_half(v); }

static inline vi vtoi(vf a) { return (int32_t)a; }
static inline vi vi_or(vi a, vi b) { return a | b; }
static inline vi vi_shl(vi a, int n) { return (vi)((uint32_t)a << n); }
static inline vi vi_and(vi a, int32_t m) { return a & m; }
static inline vi vi_zero(void) { return 0; }
static inline void vi_store(uint32_t *p, vi a) { *p = (uint32_t)a; }
