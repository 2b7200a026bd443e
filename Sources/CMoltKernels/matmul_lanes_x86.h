/* What the x86 lanes of the integer matmul share (matmul_lanes_avx2.h, _avx512.h, _vnni.h):
 * unpacking q4 rows and reading f16, in SSE and F16C. */

/* The 2n values of n packed q4 bytes (n a multiple of 16): low nibbles to low, high to high. */
static inline void unpack_nibbles(const uint8_t *packed, int64_t n, uint8_t *low, uint8_t *high) {
    __m128i mask = _mm_set1_epi8(15);
    for (int64_t j = 0; j < n; j += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(packed + j));
        _mm_storeu_si128((__m128i *)(low + j), _mm_and_si128(v, mask));
        _mm_storeu_si128((__m128i *)(high + j), _mm_and_si128(_mm_srli_epi16(v, 4), mask));
    }
}

static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }
