#ifndef MOLT_KERNELS_H
#define MOLT_KERNELS_H
int molt_kernels_placeholder(void);
#endif
