/* The load-time CPU check of liblamina.so.
 *
 * Everything else in the library is compiled for x86-64-v3 (-march=x86-64-v3: AVX, AVX2, FMA, BMI1,
 * BMI2, F16C, LZCNT, MOVBE), and any of its functions may use those instructions from its first line.
 * This file alone is compiled for the baseline x86-64 target (no -march flag), and its constructor runs
 * when the library is loaded, before any Lamina function can be called (Swift globals are initialised
 * lazily, on first use; the statically linked Swift runtime is itself built for the baseline). On a CPU
 * (or an OS that does not save the AVX registers) without x86-64-v3 it prints one line naming the
 * missing features to stderr and aborts, instead of a SIGILL at some later call. The Python binding
 * checks the same flags before loading the library and raises ImportError instead.
 *
 * LAMINA_CPU_CHECK_TEST_MISSING=<name>, for the tests only, makes the check report <name> missing.
 */
#include "lamina_cpu_check.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t lamina_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0)); /* xgetbv */
    return ((uint64_t)hi << 32) | lo;
}

static void lamina_put(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

int lamina_cpu_missing_features(const char **names, int capacity) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    int count = 0;
#define LAMINA_NEED(ok, name) do { if (!(ok)) { if (count < capacity) names[count] = (name); count++; } } while (0)
    unsigned c1 = 0, b7 = 0, cx = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) c1 = c;
    if (__get_cpuid_max(0, 0) >= 7) { __cpuid_count(7, 0, a, b, c, d); b7 = b; }
    if (__get_cpuid(0x80000001u, &a, &b, &c, &d)) cx = c;
    int osAVX = (c1 & (1u << 27)) && (lamina_xgetbv0() & 6) == 6; /* OSXSAVE, and XMM+YMM state enabled */
    LAMINA_NEED((c1 & (1u << 28)) && osAVX, "avx");
    LAMINA_NEED((b7 & (1u << 5)) && osAVX, "avx2");
    LAMINA_NEED(c1 & (1u << 12), "fma");
    LAMINA_NEED(b7 & (1u << 3), "bmi1");
    LAMINA_NEED(b7 & (1u << 8), "bmi2");
    LAMINA_NEED(c1 & (1u << 29), "f16c");
    LAMINA_NEED(cx & (1u << 5), "lzcnt");
    LAMINA_NEED(c1 & (1u << 22), "movbe");
    const char *test = getenv("LAMINA_CPU_CHECK_TEST_MISSING");
    if (test && *test) LAMINA_NEED(0, test);
#undef LAMINA_NEED
    return count;
}

__attribute__((constructor)) static void lamina_cpu_check(void) {
    const char *missing[16];
    int n = lamina_cpu_missing_features(missing, 16);
    if (n == 0) return;
    lamina_put("liblamina: this CPU lacks");
    for (int i = 0; i < n && i < 16; i++) {
        lamina_put(i == 0 ? " " : ", ");
        lamina_put(missing[i]);
    }
    lamina_put("; liblamina.so is compiled for x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE) and cannot run "
               "here. Stopping at load time instead of on an illegal instruction later.\n");
    abort();
}
#else
int lamina_cpu_missing_features(const char **names, int capacity) { (void)names; (void)capacity; return 0; }
#endif
