#ifndef MOLT_CPU_H
#define MOLT_CPU_H

/* Instruction-set levels Molt's C code has paths for: the kernels (CMoltKernels) and the
 * quantizer (CMoltQuant, whose AVX-512 path serves the VNNI level too). Each level needs the
 * ones below it on the CPU. */
typedef enum {
    MOLT_PATH_SCALAR = 0,      /* portable C: the reference, and the path on other CPUs */
    MOLT_PATH_AVX2 = 1,        /* AVX2, FMA, F16C */
    MOLT_PATH_AVX512 = 2,      /* AVX-512 F, BW, DQ, VL */
    MOLT_PATH_AVX512_VNNI = 3, /* AVX-512 VNNI */
} molt_path;

/* The highest level this CPU (and its OS) supports. */
molt_path molt_cpu_best_path(void);

#endif
