"""Running test code in a fresh interpreter, so that a crash (a Swift trap is SIGILL/SIGTRAP) fails
one test instead of killing pytest. Used by the crash tests and the property tests."""
from __future__ import annotations

import os
import subprocess
import sys
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
