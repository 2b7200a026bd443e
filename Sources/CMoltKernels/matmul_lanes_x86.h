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

/* n int8 values at v (n a multiple of 16) widened in place to int16 (v holds 2n bytes):
 * from the end, so no 16 bytes are overwritten before they are read. */
static inline void widen_bytes(uint8_t *v, int64_t n) {
    for (int64_t i = n - 16; i >= 0; i -= 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(v + i));
        _mm_storeu_si128((__m128i *)(v + 2 * i + 16), _mm_cvtepi8_epi16(_mm_srli_si128(bytes, 8)));
        _mm_storeu_si128((__m128i *)(v + 2 * i), _mm_cvtepi8_epi16(bytes));
    }
}

static inline float half_to_float(const uint8_t *p) { return _cvtsh_ss(molt_load_u16(p)); }
