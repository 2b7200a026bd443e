#include "internal.h"

int molt_matrix_init(molt_matrix *m, molt_weight_type type, const void *data, int64_t rows, int64_t columns,
                     int32_t group_size) {
    if (rows < 0 || columns < 0) return -1;
    int64_t groups = 0, stride;
    switch (type) {
    case MOLT_WEIGHT_F32:
        if (__builtin_mul_overflow(columns, 4, &stride)) return -1;
        group_size = 0;
        break;
    case MOLT_WEIGHT_F16:
    case MOLT_WEIGHT_BF16:
        if (__builtin_mul_overflow(columns, 2, &stride)) return -1;
        group_size = 0;
        break;
    case MOLT_WEIGHT_Q8:
    case MOLT_WEIGHT_Q4:
        if (group_size < 32 || group_size > 4096 || group_size % 32 != 0) return -1;
        groups = columns / group_size + (columns % group_size != 0);
        if (__builtin_mul_overflow(groups, type == MOLT_WEIGHT_Q8 ? group_size + 2 : group_size / 2 + 4, &stride))
            return -1;
        break;
    default:
        return -1;
    }
    int64_t total;
    if (__builtin_mul_overflow(rows, stride, &total)) return -1;
    *m = (molt_matrix){.data = data, .rows = rows, .columns = columns, .row_stride = stride, .groups = groups,
                       .type = type, .group_size = group_size};
    return 0;
}
