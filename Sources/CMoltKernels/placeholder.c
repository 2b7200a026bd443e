#include "molt_kernels.h"
int molt_kernels_placeholder(void) { return 0; }
