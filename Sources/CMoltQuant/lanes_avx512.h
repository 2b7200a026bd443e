/* Sixteen lanes of AVX-512: sixteen groups at a time. Included by path_avx512.c only, inside
 * its target region. */
#define LANES 16

typedef __m512 vf;
typedef __mmask16 vm;
typedef __m512i vi;

static inline vf vset(float a) { return _mm512_set1_ps(a); }
static inline vf vload(const float *p) { return _mm512_load_ps(p); }
static inline void vstore(float *p, vf v) { _mm512_store_ps(p, v); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
/* vminps(x, y) is x < y ? x : y, so these are lanes_portable.h's b < a ? b : a, ties and all. */
static inline vf lmin(vf a, vf b) { return _mm512_min_ps(b, a); }
static inline vf lmax(vf a, vf b) { return _mm512_max_ps(b, a); }
static inline vf vabs(vf a) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7FFFFFFF))); }
static inline vm vlt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline vm vgt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
static inline vm veq(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline vm mand(vm a, vm b) { return a & b; }
static inline vm mnot(vm a) { return (vm)~a; }
static inline int many(vm a) { return a != 0; }
static inline int mall(vm a) { return a == 0xFFFF; }
static inline vf vsel(vm m, vf a, vf b) { return _mm512_mask_blend_ps(m, b, a); }
static inline vm vfinite(vf a) { return vlt(vabs(a), _mm512_set1_ps(__builtin_inff())); }
/* See lanes_avx2.h for why these match the portable path. */
static inline vf vround(vf v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline vf vhalf(vf v) {
    return _mm512_add_ps(_mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), _mm512_setzero_ps());
}

static inline vi vtoi(vf a) { return _mm512_cvtps_epi32(a); }
static inline vi vi_or(vi a, vi b) { return _mm512_or_si512(a, b); }
static inline vi vi_shl(vi a, int n) { return _mm512_slli_epi32(a, (unsigned)n); }
static inline vi vi_and(vi a, int32_t m) { return _mm512_and_si512(a, _mm512_set1_epi32(m)); }
static inline vi vi_zero(void) { return _mm512_setzero_si512(); }
static inline void vi_store(uint32_t *p, vi a) { _mm512_store_si512(p, a); }

/* Element j of sixteen whole groups at byte offsets `lanes` from `base`, two at a time: one
 * dword gather brings elements j and j + 1 of every group. */
static inline void gather_tile(float *x, const uint8_t *base, const int32_t *lanes, int64_t g, molt_quant_source type) {
    __m512i offsets = _mm512_loadu_si512(lanes);
    if (type == MOLT_QUANT_SOURCE_F32) {
        for (int64_t j = 0; j < g; j++) vstore(x + 16 * j, _mm512_i32gather_ps(offsets, base + 4 * j, 1));
        return;
    }
    for (int64_t j = 0; j < g; j += 2) {
        __m512i pair = _mm512_i32gather_epi32(offsets, base + 2 * j, 1);
        if (type == MOLT_QUANT_SOURCE_BF16) {
            vstore(x + 16 * j, _mm512_castsi512_ps(_mm512_slli_epi32(pair, 16)));
            vstore(x + 16 * j + 16, _mm512_castsi512_ps(_mm512_and_si512(pair, _mm512_set1_epi32((int)0xFFFF0000u))));
        } else {
            vstore(x + 16 * j, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(pair)));
            vstore(x + 16 * j + 16, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(pair, 16))));
        }
    }
}
#define HAVE_GATHER_TILE 1
