/* What the x86 lanes of the integer matmul share (matmul_lanes_avx2.h, _avx512.h, _vnni.h):
 * unpacking q4 rows and reading f16, in SSE and F16C. */

/* X is quantized with AVX2 (same bits as the portable code). */
#define PREPARE_X MOLT_PREPARE_SIMD_NATURAL

/* The 2n values of n packed q4 bytes (n a multiple of 16): low nibbles to low, high to high. */
static inline void unpack_nibbles(const uint8_t *packed, int64_t n, uint8_t *low, uint8_t *high) {
    __m128i mask = _mm_set1_epi8(15);
    for (int64_t j = 0; j < n; j += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(packed + j));
        _mm_storeu_si128((__m128i *)(low + j), _mm_and_si128(v, mask));
        _mm_storeu_si128((__m128i *)(high + j), _mm_and_si128(_mm_srli_epi16(v, 4), mask));
    }
}

/* Four rows (at rows + e * stride, `bytes` each, a multiple of 16) into a panel's four lanes
 * at `out`: 4 bytes of each row side by side, then the next 4 at out + out_stride; a 4 x 4
 * transpose of 32-bit elements per 16 bytes of the rows. */
static inline void interleave4(const uint8_t *rows, int64_t stride, int64_t bytes, uint8_t *out, int64_t out_stride) {
    for (int64_t c = 0; c < bytes; c += 16) {
        __m128i r0 = _mm_loadu_si128((const __m128i *)(rows + c));
        __m128i r1 = _mm_loadu_si128((const __m128i *)(rows + stride + c));
        __m128i r2 = _mm_loadu_si128((const __m128i *)(rows + 2 * stride + c));
        __m128i r3 = _mm_loadu_si128((const __m128i *)(rows + 3 * stride + c));
        __m128i low01 = _mm_unpacklo_epi32(r0, r1), low23 = _mm_unpacklo_epi32(r2, r3);
        __m128i high01 = _mm_unpackhi_epi32(r0, r1), high23 = _mm_unpackhi_epi32(r2, r3);
        uint8_t *at = out + c / 4 * out_stride;
        _mm_storeu_si128((__m128i *)at, _mm_unpacklo_epi64(low01, low23));
        _mm_storeu_si128((__m128i *)(at + out_stride), _mm_unpackhi_epi64(low01, low23));
        _mm_storeu_si128((__m128i *)(at + 2 * out_stride), _mm_unpacklo_epi64(high01, high23));
        _mm_storeu_si128((__m128i *)(at + 3 * out_stride), _mm_unpackhi_epi64(high01, high23));
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
