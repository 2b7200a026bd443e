#include <cblas.h>

// LAPACK's Cholesky factorization and triangular inverse, which libopenblas carries but cblas.h does not declare (the
// Fortran interface: every argument by pointer, column-major).
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda, int *info);
