/* The error of the stored rows against the source, measured on the bytes as stored through
 * Formats/molt.md's arithmetic (scale * q (+ min), f32). Included by the path_*.c files: C
 * with 8-wide vector types that each compiles for its own instruction set (lane-wise
 * arithmetic, so the same sums on every path).
 *
 * Per row, lane i of 8 sums columns i, i + 8, ... in f32, the lanes are added in order, the
 * last columns % 8 values are summed apart, and both go into the f64 total: the order of the
 * Swift quantizer's measurement, kept so that the reported numbers stay the same. */

typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8v __attribute__((vector_size(32)));
typedef uint32_t u8v __attribute__((vector_size(32)));
typedef uint16_t u16x8 __attribute__((vector_size(16)));
typedef int8_t s8x8 __attribute__((vector_size(8)));
typedef uint8_t u8x8 __attribute__((vector_size(8)));

static inline f8 f8_select(i8v m, f8 a, f8 b) { return (f8)(((i8v)a & m) | ((i8v)b & ~m)); }

/* Eight source values from element i on. */
static inline f8 source_chunk(const uint8_t *source, molt_quant_source type, int64_t i) {
    f8 x;
    if (type == MOLT_QUANT_SOURCE_BF16) {
        u16x8 h;
        memcpy(&h, source + 2 * i, 16);
        return (f8)(__builtin_convertvector(h, u8v) << 16);
    }
    if (type == MOLT_QUANT_SOURCE_F16) {
        for (int l = 0; l < 8; l++) x[l] = molt_half_float(molt_load_u16(source + 2 * (i + l)));
        return x;
    }
    memcpy(&x, source + 4 * i, 32);
    return x;
}

/* The stored values of elements within..within+7 of a group (q8: signed bytes; q4: element j
 * in byte j % (G/2), the low nibble for j < G/2). */
static inline f8 stored_chunk(const uint8_t *values, molt_quant_type type, int64_t g, int64_t within, float scale, float minimum) {
    if (type == MOLT_QUANT_Q8) {
        s8x8 q;
        memcpy(&q, values + within, 8);
        return (f8){scale, scale, scale, scale, scale, scale, scale, scale} * __builtin_convertvector(q, f8);
    }
    u8x8 bytes;
    memcpy(&bytes, values + within % (g / 2), 8);
    u8x8 q = within < g / 2 ? bytes & 15 : bytes >> 4;
    f8 s = {scale, scale, scale, scale, scale, scale, scale, scale}, m = {minimum, minimum, minimum, minimum, minimum, minimum, minimum, minimum};
    return s * __builtin_convertvector(q, f8) + m;
}

typedef struct {
    f8 signal, error, worst;
} measure_lanes;

static inline void measure_chunk(measure_lanes *m, f8 x, f8 w) {
    f8 d = x - w;
    m->signal = m->signal + x * x;
    m->error = m->error + d * d;
    f8 magnitude = f8_select(-d > d, -d, d);
    m->worst = f8_select(magnitude > m->worst, magnitude, m->worst);
}

__attribute__((always_inline)) static inline void measure_rows_of(const molt_quant_job *job, molt_quant_source source_type,
                                                                  const uint8_t *source, int64_t rows, const uint8_t *stored,
                                                                  molt_quant_error *total) {
    const int64_t g = job->group_size, columns = job->columns, whole = columns & ~(int64_t)7;
    const int64_t value_bytes = job->type == MOLT_QUANT_Q8 ? g : g / 2;
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *src = source + r * columns * molt_source_size(source_type), *row = stored + r * job->row_stride;
        measure_lanes m = {{0}, {0}, {0}};
        float tail_signal = 0, tail_error = 0, tail_worst = 0;
        f8 tail_w = {0};
        for (int64_t group = 0; group < job->groups; group++) {
            float scale = molt_half_float(molt_load_u16(row + job->scales_offset + 2 * group));
            float minimum = job->type == MOLT_QUANT_Q4 ? molt_half_float(molt_load_u16(row + job->minimums_offset + 2 * group)) : 0;
            const uint8_t *values = row + group * value_bytes;
            int64_t start = group * g, end = start + g < whole ? start + g : whole;
            for (int64_t c = start; c < end; c += 8) measure_chunk(&m, source_chunk(src, source_type, c), stored_chunk(values, job->type, g, c - start, scale, minimum));
            if (whole < columns && whole >= start && whole < start + g) tail_w = stored_chunk(values, job->type, g, whole - start, scale, minimum);
        }
        tail_worst = m.worst[0];
        for (int i = 1; i < 8; i++) tail_worst = m.worst[i] >= tail_worst ? m.worst[i] : tail_worst;
        for (int64_t c = whole; c < columns; c++) {
            float x = molt_source_value(src, source_type, c), d = x - tail_w[c - whole], magnitude = -d > d ? -d : d;
            tail_signal = tail_signal + x * x;
            tail_error = tail_error + d * d;
            tail_worst = magnitude > tail_worst ? magnitude : tail_worst;
        }
        float signal_sum = -0.0f, error_sum = -0.0f;
        for (int i = 0; i < 8; i++) {
            signal_sum = signal_sum + m.signal[i];
            error_sum = error_sum + m.error[i];
        }
        total->signal = total->signal + ((double)signal_sum + (double)tail_signal);
        total->error = total->error + ((double)error_sum + (double)tail_error);
        total->max_abs = tail_worst >= total->max_abs ? tail_worst : total->max_abs;
    }
}

static void measure_rows(const molt_quant_job *job, const uint8_t *source, int64_t rows, const uint8_t *stored, molt_quant_error *total) {
    switch (job->source) {
    case MOLT_QUANT_SOURCE_BF16: measure_rows_of(job, MOLT_QUANT_SOURCE_BF16, source, rows, stored, total); break;
    case MOLT_QUANT_SOURCE_F16: measure_rows_of(job, MOLT_QUANT_SOURCE_F16, source, rows, stored, total); break;
    default: measure_rows_of(job, MOLT_QUANT_SOURCE_F32, source, rows, stored, total); break;
    }
}
