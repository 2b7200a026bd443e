/* What the x86 lanes of the integer matmul share (matmul_lanes_avx2_int8.h, _avx512.h, _vnni.h):
 * unpacking q4 rows (AVX2, or SSE for G other than 32) and reading f16 (F16C). */

/* X is quantized with AVX2 (same bits as the portable code). */
#define PREPARE_X MOLT_PREPARE_SIMD_NATURAL

/* A q4 row's `groups` groups of g values from their packed bytes, in order: each group's g / 2
 * low nibbles, then its high ones (Formats/molt.md). G = 32 takes two groups (32 packed
 * bytes) a step, their low and high halves regrouped by two lane permutes: a prefill's
 * expert sees few rows of X, so unpacking was a fifth of its q4 products. */
static inline void unpack_groups(const uint8_t *packed, int64_t groups, int64_t g, uint8_t *values) {
    int64_t half = g / 2, group = 0;
    if (g == 32) {
        const __m256i mask = _mm256_set1_epi8(15);
        for (; group + 2 <= groups; group += 2) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(packed + group * 16));
            __m256i low = _mm256_and_si256(v, mask), high = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);
            _mm256_storeu_si256((__m256i *)(values + group * 32), _mm256_permute2x128_si256(low, high, 0x20));
            _mm256_storeu_si256((__m256i *)(values + group * 32 + 32), _mm256_permute2x128_si256(low, high, 0x31));
        }
    }
    const __m128i mask = _mm_set1_epi8(15);
    for (; group < groups; group++)
        for (int64_t j = 0; j < half; j += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(packed + group * half + j));
            _mm_storeu_si128((__m128i *)(values + group * g + j), _mm_and_si128(v, mask));
            _mm_storeu_si128((__m128i *)(values + group * g + half + j), _mm_and_si128(_mm_srli_epi16(v, 4), mask));
        }
}

/* n int8 values (n a multiple of 16) widened to int16 at `to` (2n bytes). */
static inline void widen_bytes(const uint8_t *from, int64_t n, uint8_t *to) {
    for (int64_t i = 0; i < n; i += 16)
        _mm256_storeu_si256((__m256i *)(to + 2 * i), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(from + i))));
}

static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }
/* n f16 values at p as f32, 8 at a time. */
static inline void halves_to_floats(const uint8_t *p, int64_t n, float *out) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * i))));
    for (; i < n; i++) out[i] = half_to_float(p + 2 * i);
}
