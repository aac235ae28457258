#ifndef LAMINA_CBLAS_SHIM_H
#define LAMINA_CBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extensions (declared in its cblas.h; restated so the module map is explicit). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* LAPACK, bundled in OpenBLAS (Fortran calling convention: every argument by pointer, the lengths of the
 * character arguments last): eigenvalues and eigenvectors of a symmetric matrix (used by PCA). */
#include <stddef.h>
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
             const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m,
             double* w, double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork,
             const int* liwork, int* info, size_t jobz_len, size_t range_len, size_t uplo_len);
#endif
