/* The integer matmul on portable lanes (matmul_int8.h). */
#include "activation.h"
#include "matmul.h"
#include "matmul_lanes_portable.h"
#define MATMUL_INT8_NAME molt_matmul_int8_scalar
#include "matmul_int8.h"
