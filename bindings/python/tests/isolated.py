"""Running test code in a fresh interpreter, so that a crash (a Swift trap is SIGILL/SIGTRAP) fails
one test instead of killing pytest. Used by the crash tests and the property tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path

BINDINGS = Path(__file__).resolve().parent.parent  # bindings/python


def run_python(args, *, timeout, cwd=None):
    """Runs `python args...` with the in-tree binding importable; returns (returncode, stdout, stderr)
    as text, returncode None if it was killed at the timeout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BINDINGS) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=cwd, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        rc = None
    return rc, out.decode(errors="replace"), err.decode(errors="replace")


# -- crash-test cases run in worker subprocesses -----------------------------------------------------
#
# A crash-test file defines CASES = {name: zero-argument function that raises on failure} and ends with
#     if __name__ == "__main__":
#         worker_main(CASES)
#     test_xxx = crash_tests(__file__, CASES)
# Each case then runs through run_cases(__file__, names): the file is re-run as
# `python FILE --worker NAME...`,
# which prints a start line and a result line per case. When the worker dies (a Swift trap is
# SIGILL/SIGTRAP) or hangs, the case it had started fails with the signal and the worker's stderr, and
# a new worker carries on with the rest.

def describe_returncode(rc):
    if rc is None:
        return "timed out"
    if rc < 0:
        try:
            return f"killed by signal {signal.Signals(-rc).name} ({rc})"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


def case_registry():
    """The cases of a bad-input script and the decorator that registers one by its function name:
    `CASES, case = case_registry()`, then `@case def ...`, `worker_main(CASES)`, `crash_tests(..., CASES)`."""
    cases = {}

    def case(fn):
        cases[fn.__name__] = fn
        return fn
    return cases, case


def worker_main(cases):
    """The worker side: when the script was started with --worker, runs the named cases and exits."""
    if len(sys.argv) < 2 or sys.argv[1] != "--worker":
        return
    for name in sys.argv[2:]:
        print("@@START " + name, flush=True)
        try:
            cases[name]()
            rec = {"name": name, "ok": True, "detail": ""}
        except BaseException:  # noqa: BLE001 -- a failed case, reported to the pytest side
            rec = {"name": name, "ok": False, "detail": traceback.format_exc()}
        print("@@RESULT " + json.dumps(rec), flush=True)
    sys.exit(0)


def run_cases(script, names, timeout=240):
    """The pytest side: {name: {"ok": bool, "detail": str}} for every case, each run in a worker."""
    results, remaining = {}, list(names)
    while remaining:
        rc, out, err = run_python([Path(script).resolve(), "--worker", *remaining], timeout=timeout)
        started = None
        for line in out.splitlines():
            if line.startswith("@@START "):
                started = line[len("@@START "):]
            elif line.startswith("@@RESULT "):
                rec = json.loads(line[len("@@RESULT "):])
                results[rec["name"]] = rec
                started = None
        remaining = [n for n in remaining if n not in results]
        if not remaining:
            break
        culprit = started if started in remaining else remaining[0]
        results[culprit] = {"name": culprit, "ok": False,
                            "detail": f"the worker process died while running this case: "
                                      f"{describe_returncode(rc)}\n{err[-4000:]}"}
        remaining.remove(culprit)
    return results


def crash_tests(script, cases, timeout=240):
    """A pytest test function parametrized over the cases; the first call runs them all in workers."""
    import pytest

    names = sorted(cases)
    results = {}

    @pytest.mark.parametrize("name", names)
    def test(name):
        if not results:
            results.update(run_cases(script, names, timeout))
        rec = results[name]
        assert rec["ok"], f"{name}:\n{rec['detail']}"
    return test


# -- checks used inside the cases ----------------------------------------------------------------------

STATUS_NAMES = {0: "ok", 1: "INVALID_ARGUMENT", 2: "SHAPE_MISMATCH", 3: "NON_FINITE", 4: "IO", 5: "FORMAT",
                6: "OUT_OF_MEMORY", 7: "CANCELLED", 8: "INTERNAL"}


def expect(fn, lamina_cls, builtin, *words):
    """fn() must raise an instance of lamina_cls and of builtin whose message contains every word."""
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - we classify it
        msg = str(exc)
        assert isinstance(exc, lamina_cls), (
            f"expected {getattr(lamina_cls, '__name__', lamina_cls)}, got {type(exc).__name__}: {msg}")
        assert isinstance(exc, builtin), f"{type(exc).__name__} is not a {builtin.__name__}: {msg}"
        for w in words:
            assert w in msg, f"message does not name {w!r}: {msg!r}"
        return exc
    raise AssertionError("no exception was raised")


def expect_status(expected, got, *words):
    """A direct C call returned `got`; it must be `expected` (a status or a tuple of accepted statuses)
    with a non-empty message naming every word."""
    from lamina import _native

    msg = _native.last_error()
    accepted = expected if isinstance(expected, tuple) else (expected,)
    want = " or ".join(f"{e} ({STATUS_NAMES.get(e, '?')})" for e in accepted)
    assert got in accepted, f"status {got} ({STATUS_NAMES.get(got, '?')}), expected {want}; last error: {msg!r}"
    if got != 0:
        assert msg, "lamina_last_error() is empty after a failure"
        for w in words:
            assert w in msg, f"message does not name {w!r}: {msg!r}"
