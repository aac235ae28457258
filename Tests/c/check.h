/*
 * check.h -- the tiny check harness shared by the C API test programs (test_*.c): one line per check,
 * "[ ok ]" or "[FAIL]", and a summary "N passed, M failed" from check_summary().
 */
#ifndef LAMINA_TESTS_CHECK_H
#define LAMINA_TESTS_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lamina.h"

static int passed, failed;

static void report(int ok, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "[ ok ]" : "[FAIL]");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (ok) passed++; else failed++;
}

/* The call returned `got`; it must be `want`, and on failure the message must be non-empty and
 * contain `needle` (if given). */
static void expect_status(const char* what, lamina_status got, lamina_status want, const char* needle) {
    const char* msg = lamina_last_error();
    int ok = got == want;
    if (want != LAMINA_OK) ok = ok && msg != NULL && msg[0] != '\0' && (needle == NULL || strstr(msg, needle) != NULL);
    if (ok && want == LAMINA_OK)
        report(1, "%s -> ok", what);
    else if (ok)
        report(1, "%s -> %s: \"%s\"", what, lamina_status_string(got), msg);
    else
        report(0, "%s -> %s, want %s (last error: \"%s\")", what, lamina_status_string(got),
               lamina_status_string(want), msg);
}

static void expect_near(const char* what, double got, double want, double tol) {
    report(fabs(got - want) <= tol, "%s = %.10g (want %.10g)", what, got, want);
}

static void expect_true(const char* what, int cond) { report(cond, "%s", what); }

#define CHECK(call, want, needle) expect_status(#call, (call), (want), (needle))

/* Prints the summary line; the exit status of the test program. */
static int check_summary(void) {
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
