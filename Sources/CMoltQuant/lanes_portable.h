/* Eight lanes of generic vectors (clang's vector extension): eight groups at a time, in
 * whatever the target has (two SSE2 registers on baseline x86-64, two NEON ones on ARM).
 * Included by path_portable.c only. Lane-wise IEEE arithmetic, like the other paths. */
#define LANES 8

/* These vectors pass between static helpers in pairs of 128-bit registers; nothing else sees
 * that calling convention, so clang's ABI warning does not apply. */
#pragma clang diagnostic ignored "-Wpsabi"

typedef float vf __attribute__((vector_size(32)));
typedef int32_t vi __attribute__((vector_size(32)));
typedef uint32_t vu __attribute__((vector_size(32)));
typedef vi vm; /* -1 where true, 0 where false */

static inline vf vset(float a) { return (vf){a, a, a, a, a, a, a, a}; }
static inline vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf vadd(vf a, vf b) { return a + b; }
static inline vf vsub(vf a, vf b) { return a - b; }
static inline vf vmul(vf a, vf b) { return a * b; }
static inline vf vdiv(vf a, vf b) { return a / b; }
static inline vm vlt(vf a, vf b) { return a < b; }
static inline vm vgt(vf a, vf b) { return a > b; }
static inline vm veq(vf a, vf b) { return a == b; }
static inline vm mand(vm a, vm b) { return a & b; }
static inline vm mnot(vm a) { return ~a; }
static inline int many(vm a) {
    int32_t any = 0;
    for (int l = 0; l < LANES; l++) any |= a[l];
    return any != 0;
}
static inline int mall(vm a) {
    int32_t all = -1;
    for (int l = 0; l < LANES; l++) all &= a[l];
    return all != 0;
}
static inline vf vsel(vm m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
/* Compare-and-select with a fixed operand order: the signed zero that survives a tie is part
 * of the stored bytes (a group's minimum). The SIMD paths' min/max instructions match it. */
static inline vf lmin(vf a, vf b) { return vsel(b < a, b, a); }
static inline vf lmax(vf a, vf b) { return vsel(b > a, b, a); }
static inline vf vabs(vf a) { return (vf)((vi)a & 0x7FFFFFFF); }
static inline vm vfinite(vf a) { return vabs(a) < vset(__builtin_inff()); }
/* Round half to even for |v| < 2^22: after adding 1.5 * 2^23 no fraction bits are left. */
static inline vf vround(vf v) { return (v + vset(12582912.0f)) - vset(12582912.0f); }
/* molt_round_to_half, lane-wise and without branches. */
static inline vf vhalf(vf v) {
    vu bits = (vu)v;
    vf normal = (vf)((bits + 0xFFFu + ((bits >> 13) & 1u)) & ~0x1FFFu);
    vf subnormal = (v + vset(0.75f)) - vset(0.75f);
    vf rounded = vsel(vabs(v) < vset(0x1p-14f), subnormal, normal);
    return vsel(vabs(normal) > vset(65504.0f), vset(__builtin_inff()), rounded);
}

static inline vi vtoi(vf a) { return __builtin_convertvector(a, vi); }
static inline vi vi_or(vi a, vi b) { return a | b; }
static inline vi vi_shl(vi a, int n) { return (vi)((vu)a << (unsigned)n); }
static inline vi vi_and(vi a, int32_t m) { return a & m; }
static inline vi vi_zero(void) { return (vi){0}; }
static inline void vi_store(uint32_t *p, vi a) { memcpy(p, &a, sizeof a); }
