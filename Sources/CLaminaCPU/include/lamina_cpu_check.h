#ifndef LAMINA_CPU_CHECK_H
#define LAMINA_CPU_CHECK_H
/* Internal (not exported from liblamina.so): the x86-64-v3 features this CPU lacks, as short names
 * (up to `capacity` of them written to `names`); returns how many are missing. Compiled for the
 * baseline x86-64 target; see cpu_check.c. */
__attribute__((visibility("hidden"))) int lamina_cpu_missing_features(const char **names, int capacity);
#endif
