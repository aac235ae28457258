"""Every ```python block of README.md runs as written.

Each block runs in a fresh interpreter (a subprocess) whose working directory is a temporary
directory holding `examples/data` (a link to the repository's bundled data), so relative paths in the
README resolve and whatever a block writes (`out/sae`, ...) lands in the temporary directory. The
binding is found through PYTHONPATH, as the README says. Blocks that import scikit-learn are skipped
when it is not installed."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
README = REPO / "README.md"
BINDING = REPO / "bindings" / "python"


def _blocks():
    text = README.read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "README.md has no ```python block"
    return blocks


BLOCKS = _blocks()


def test_readme_has_the_python_blocks():
    assert len(BLOCKS) >= 5
    joined = "\n".join(BLOCKS)
    for name in ("StructuralProbe", "SparseAutoencoder", "cross_val_score", "LogisticProbe", "KMeans", "cka_matrix",
                 "kernel_alignment", "aqi_layers"):
        assert name in joined


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i}")
def test_readme_block_runs(index, tmp_path):
    code = BLOCKS[index]
    if "sklearn" in code:
        pytest.importorskip("sklearn")
    if "mpi4py" in code:
        pytest.importorskip("mpi4py.MPI", reason="mpi4py / OpenMPI missing (make deps)")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "data").symlink_to(REPO / "examples" / "data")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BINDING) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONWARNINGS"] = "error::DeprecationWarning:__main__"   # the README uses only current names
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, f"README block {index} failed:\n{code}\n--- stderr ---\n{out.stderr[-4000:]}"
    if "sae.save(" in code:
        assert (tmp_path / "out" / "sae" / "cfg.json").exists()
