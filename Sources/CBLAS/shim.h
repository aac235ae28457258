#ifndef LAMINA_CBLAS_SHIM_H
#define LAMINA_CBLAS_SHIM_H
#include <cblas.h>
/* OpenBLAS extensions (declared in its cblas.h; restated so the module map is explicit). */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
