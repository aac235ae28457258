"""Regression tests of issue 8 (robust I/O): reproducers found by `make fuzz` (Tests/fuzz/fuzz.py), each
run in a subprocess so that a crash or hang fails the test instead of killing pytest; the CPU check."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FUZZ = HERE.parent.parent.parent / "Tests" / "fuzz" / "fuzz.py"
PYPATH = str(HERE.parent)
REPRODUCERS = sorted((HERE / "data" / "fuzz").glob("*.h5"))


def run(args, timeout=120, env=None):
    e = dict(os.environ, PYTHONPATH=PYPATH, OPENBLAS_NUM_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=timeout, env=e)


@pytest.mark.parametrize("path", REPRODUCERS, ids=[p.stem for p in REPRODUCERS])
def test_fuzz_reproducer_raises_lamina_error(path):
    # Corrupt dims claiming up to 2^58 rows: before the fix MemoryError/ValueError from numpy, or an
    # SAE fit streaming fill values for minutes. Now every call returns or raises a LaminaError.
    proc = run([str(FUZZ), "--run", "h5", str(path)], timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "FormatError" in proc.stderr or "LaminaError" in proc.stderr or proc.stderr == "", proc.stderr[-2000:]


def test_fuzz_seeds_load_cleanly(tmp_path):
    sys.path.insert(0, str(FUZZ.parent))
    import fuzz
    seeds = fuzz.make_seeds(tmp_path)
    for kind, paths in seeds.items():
        for p in paths:
            outcome, code, err = fuzz.run_child(kind, p, 120)
            assert outcome == "ok", (p.name, outcome, err)


def test_unsupported_cpu_refuses_to_import(tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx\n")
    proc = run(["-c", "import lamina"], env={"LAMINA_CPUINFO": str(fake)})
    assert proc.returncode == 1
    assert "ImportError: lamina: this CPU lacks avx2, fma, bmi1, bmi2, f16c, lzcnt, movbe" in proc.stderr
    assert "x86-64-v3" in proc.stderr


def test_supported_cpu_flags_pass():
    sys.path.insert(0, PYPATH)
    from lamina import _cpu
    assert _cpu.missing_features("flags : avx avx2 fma bmi1 bmi2 f16c abm movbe sse2") == []
    assert _cpu.missing_features("no flags here") is None


def test_c_load_time_check_message():
    # The constructor in Sources/CLaminaCPU/cpu_check.c (baseline x86-64 code) stops the process with a
    # message before any x86-64-v3 code runs; the test hook makes it report a missing feature.
    sys.path.insert(0, PYPATH)
    from lamina import _native
    proc = run(["-c", f"import ctypes; ctypes.CDLL({str(_native.library_path)!r})"],
               env={"LAMINA_CPU_CHECK_TEST_MISSING": "avx2"})
    assert proc.returncode < 0
    assert "liblamina: this CPU lacks avx2; liblamina.so is compiled for x86-64-v3" in proc.stderr


MEMORY_SCRIPT = """
import resource, sys
limit = 4 << 30
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np
import lamina
from lamina import sae, metrics
try:
    sae.SparseAutoencoder(2048, 131072, k=32, batch_size=1024)._create() if {case!r} == "sae" else None
    if {case!r} == "silhouette":
        X = np.ones((1_200_000, 512), dtype=np.float32)  # 2.4 GB: the 2.4 GB working copy cannot fit
        metrics.silhouette_score(X, np.arange(X.shape[0]) % 3)
except lamina.LaminaMemoryError as exc:
    print("OOM", exc)
    sys.exit(0)
print("no error")
sys.exit(3)
"""


@pytest.mark.parametrize("case", ["sae", "silhouette"])
def test_rlimit_as_gives_out_of_memory_not_abort(case):
    proc = run(["-c", MEMORY_SCRIPT.format(case=case)], timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert "OOM" in proc.stdout


def test_safe_read_matches_and_reports_errors(tmp_path):
    import h5py
    import numpy as np
    sys.path.insert(0, PYPATH)
    import lamina
    from lamina import io
    p = tmp_path / "a.h5"
    X = np.arange(40, dtype=np.float32).reshape(10, 4)
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=X, chunks=(5, 4))
        f.create_dataset("y", data=np.arange(10))
    np.testing.assert_array_equal(io.read_activations(p, "x", safe=True), X)
    np.testing.assert_array_equal(io.read_activations(p, "x", start=2, stop=5, safe=True), X[2:5])
    np.testing.assert_array_equal(io.read_labels(p, "y", safe=True), np.arange(10))
    with pytest.raises(lamina.FormatError):
        io.read_activations(REPRODUCERS[0], "x", safe=True)
    with pytest.raises(lamina.InvalidArgumentError):
        io.read_activations(p, "nope", safe=True)
