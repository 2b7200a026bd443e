/* Eight lanes of AVX2 (+ F16C): eight groups at a time. Included by path_avx2.c only, inside
 * its target region. */
#define LANES 8

typedef __m256 vf;
typedef __m256 vm;
typedef __m256i vi;

static inline vf vset(float a) { return _mm256_set1_ps(a); }
static inline vf vload(const float *p) { return _mm256_load_ps(p); }
static inline void vstore(float *p, vf v) { _mm256_store_ps(p, v); }
static inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
/* minps(x, y) is x < y ? x : y, so these are lanes_portable.h's b < a ? b : a, ties and all. */
static inline vf lmin(vf a, vf b) { return _mm256_min_ps(b, a); }
static inline vf lmax(vf a, vf b) { return _mm256_max_ps(b, a); }
static inline vf vabs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline vm vlt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline vm vgt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline vm veq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline vm mand(vm a, vm b) { return _mm256_and_ps(a, b); }
static inline vm mnot(vm a) { return _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); }
static inline int many(vm a) { return _mm256_movemask_ps(a) != 0; }
static inline int mall(vm a) { return _mm256_movemask_ps(a) == 0xFF; }
static inline vf vsel(vm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }
static inline vm vfinite(vf a) { return vlt(vabs(a), _mm256_set1_ps(__builtin_inff())); }
/* Half to even, like the portable path's addition of 1.5 * 2^23 (which gives +0 where this may
 * give -0: both only ever become integer 0 or are added to a non-negative sum). */
static inline vf vround(vf v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
/* F16C rounds to nearest even like molt_round_to_half; adding +0 turns its -0 for tiny
 * negatives into the portable path's +0. Out of range it gives +-inf (only tested for finite). */
static inline vf vhalf(vf v) {
    return _mm256_add_ps(_mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), _mm256_setzero_ps());
}

static inline vi vtoi(vf a) { return _mm256_cvtps_epi32(a); }
static inline vi vi_or(vi a, vi b) { return _mm256_or_si256(a, b); }
static inline vi vi_shl(vi a, int n) { return _mm256_slli_epi32(a, n); }
static inline vi vi_and(vi a, int32_t m) { return _mm256_and_si256(a, _mm256_set1_epi32(m)); }
static inline vi vi_zero(void) { return _mm256_setzero_si256(); }
static inline void vi_store(uint32_t *p, vi a) { _mm256_store_si256((__m256i *)p, a); }

/* Element j of eight whole groups at byte offsets `lanes` from `base`, two at a time: one
 * dword gather brings elements j and j + 1 of every group. */
static inline void gather_tile(float *x, const uint8_t *base, const int32_t *lanes, int64_t g, molt_quant_source type) {
    __m256i offsets = _mm256_loadu_si256((const __m256i *)lanes);
    if (type == MOLT_QUANT_SOURCE_F32) {
        for (int64_t j = 0; j < g; j++) vstore(x + 8 * j, _mm256_i32gather_ps((const float *)(base + 4 * j), offsets, 1));
        return;
    }
    for (int64_t j = 0; j < g; j += 2) {
        __m256i pair = _mm256_i32gather_epi32((const int *)(base + 2 * j), offsets, 1);
        if (type == MOLT_QUANT_SOURCE_BF16) {
            vstore(x + 8 * j, _mm256_castsi256_ps(_mm256_slli_epi32(pair, 16)));
            vstore(x + 8 * j + 8, _mm256_castsi256_ps(_mm256_and_si256(pair, _mm256_set1_epi32((int)0xFFFF0000u))));
        } else {
            __m256i low = _mm256_and_si256(pair, _mm256_set1_epi32(0xFFFF)), high = _mm256_srli_epi32(pair, 16);
            vstore(x + 8 * j, _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(low), _mm256_extracti128_si256(low, 1))));
            vstore(x + 8 * j + 8, _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(high), _mm256_extracti128_si256(high, 1))));
        }
    }
}
#define HAVE_GATHER_TILE 1
