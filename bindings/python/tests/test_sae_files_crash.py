"""Issue 8 section 5 reproducers for SAE files, each in a worker subprocess (isolated.py) so that a
crash or a hang fails one case: external cfg.json files whose sizes disagree with their weights
(refused before any allocation, with modest peak memory), and checkpoints resumed past the end of the
data they resume on (refused before any step runs)."""
from __future__ import annotations

import json
import os
import resource
import tempfile

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from isolated import crash_tests, expect, worker_main

TMP = tempfile.mkdtemp(prefix="lamina-sae-files-")
PEAK_LIMIT_MB = 1024  # the worker (numpy + lamina) needs ~100 MB; the old loader peaked at 5.8 GB or aborted


def peak_mb():
    """This process's peak RSS: VmHWM of its own address space. (ru_maxrss is not usable here: Linux
    carries it across fork and exec, so a worker started by a large pytest process inherits its peak.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def assert_modest_peak():
    assert peak_mb() < PEAK_LIMIT_MB, f"peak RSS {peak_mb():.0f} MB"


def saelens_dir(name, cfg, d=7, n=5):
    path = os.path.join(TMP, name)
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(0)
    save_file({"W_enc": rng.standard_normal((d, n)).astype(np.float32), "W_dec": rng.standard_normal((n, d)).astype(np.float32),
               "b_enc": np.zeros(n, np.float32), "b_dec": np.zeros(d, np.float32)}, os.path.join(path, "sae_weights.safetensors"))
    with open(os.path.join(path, "cfg.json"), "w") as f:
        json.dump(cfg, f)
    return path


def sparsify_dir(name, cfg, d=7, n=5):
    path = os.path.join(TMP, name)
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(0)
    save_file({"encoder.weight": rng.standard_normal((n, d)).astype(np.float32), "encoder.bias": np.zeros(n, np.float32),
               "W_dec": rng.standard_normal((n, d)).astype(np.float32), "b_dec": np.zeros(d, np.float32)},
              os.path.join(path, "sae.safetensors"))
    with open(os.path.join(path, "cfg.json"), "w") as f:
        json.dump(cfg, f)
    return path


def case_saelens_huge_dims():
    import lamina
    from lamina.sae import load
    path = saelens_dir("huge", {"architecture": "standard", "d_in": 2 ** 26, "d_sae": 2 ** 26})
    expect(lambda: load(path), lamina.FormatError, OSError, "W_enc", "shape")
    assert_modest_peak()


def case_sparsify_overflowing_expansion_factor():
    import lamina
    from lamina.sae import load
    path = sparsify_dir("overflow", {"activation": "topk", "d_in": 2 ** 26, "expansion_factor": 2 ** 26, "k": 4})
    expect(lambda: load(path), lamina.LaminaError, Exception, "expansion_factor")
    path = sparsify_dir("overflow2", {"activation": "topk", "d_in": 2 ** 40, "expansion_factor": 2 ** 40, "num_latents": 0, "k": 4})
    expect(lambda: load(path), lamina.LaminaError, Exception)
    assert_modest_peak()


def case_saelens_dims_disagree_with_tiny_weights():
    import lamina
    from lamina.sae import load
    path = saelens_dir("tiny", {"architecture": "standard", "d_in": 7, "d_sae": 2 ** 26})
    expect(lambda: load(path), lamina.FormatError, OSError, "W_enc", "shape", "2^26".replace("2^26", str(2 ** 26)))
    assert_modest_peak()
    path = sparsify_dir("tiny-sp", {"activation": "topk", "d_in": 7, "num_latents": 2 ** 20, "k": 4})
    expect(lambda: load(path), lamina.FormatError, OSError, "encoder.weight", "shape")
    assert_modest_peak()


def case_extra_tensor_is_refused():
    import lamina
    from lamina.sae import load
    path = saelens_dir("extra", {"architecture": "standard", "d_in": 7, "d_sae": 5})
    t = load_file(os.path.join(path, "sae_weights.safetensors"))
    t["W_skip"] = np.zeros((7, 7), np.float32)
    save_file(t, os.path.join(path, "sae_weights.safetensors"))
    expect(lambda: load(path), lamina.FormatError, OSError, "W_skip")


def _stopped_checkpoint(name):
    from lamina.sae import SparseAutoencoder
    import lamina
    X = np.random.default_rng(1).standard_normal((320, 8)).astype(np.float32)
    sae = SparseAutoencoder(8, 16, k=2, batch_size=32, random_state=3)
    try:
        sae.fit(X, epochs=1, callback=lambda info: info["step"] >= 3 or None)
    except lamina.CancelledError:
        pass
    assert sae.n_steps_ == 3
    path = os.path.join(TMP, name)
    sae.save_checkpoint(path)
    return X, path


def case_resume_past_end_of_array():
    import lamina
    from lamina.sae import load_checkpoint
    X, path = _stopped_checkpoint("ck-array.safetensors")
    sae = load_checkpoint(path)
    before = sae.W_enc_
    expect(lambda: sae.fit(X[:64], resume=True), lamina.InvalidArgumentError, ValueError,
           "batch_in_epoch = 3", "64 rows", "batch_size = 32")
    assert np.array_equal(sae.W_enc_, before) and sae.n_steps_ == 3
    sae.fit(X, epochs=1, resume=True)  # on its own data it finishes the epoch
    assert sae.n_steps_ == 10


def case_resume_past_end_of_hdf5():
    import h5py
    import lamina
    from lamina.sae import load_checkpoint
    X, path = _stopped_checkpoint("ck-h5.safetensors")
    h5 = os.path.join(TMP, "small.h5")
    with h5py.File(h5, "w") as f:
        f["x"] = X[:64]
    sae = load_checkpoint(path)
    expect(lambda: sae.fit(h5, dataset="x", resume=True), lamina.InvalidArgumentError, ValueError,
           "batch_in_epoch = 3", "64 rows")


def case_edited_checkpoint_position():
    import lamina
    from lamina.sae import load_checkpoint
    X, path = _stopped_checkpoint("ck-edit.safetensors")
    with safe_open(path, "np") as f:
        meta = f.metadata()
    tensors = load_file(path)
    for field, value in [("batch_in_epoch", "100000"), ("epoch", "100000"), ("adam_step", "7")]:
        edited = dict(meta, **{field: value})
        bad = os.path.join(TMP, f"ck-{field}.safetensors")
        save_file(tensors, bad, metadata=edited)
        expect(lambda: load_checkpoint(bad), lamina.FormatError, OSError, field, value, "steps_done")
    # A position inside the checkpoint's steps but past the end of this data fails when fitting.
    edited = dict(meta, batch_in_epoch="3")
    ok = os.path.join(TMP, "ck-ok.safetensors")
    save_file(tensors, ok, metadata=edited)
    sae = load_checkpoint(ok)
    h5 = os.path.join(TMP, "edit.h5")
    import h5py
    with h5py.File(h5, "w") as f:
        f["x"] = X[:64]
    expect(lambda: sae.fit(h5, dataset="x", resume=True), lamina.InvalidArgumentError, ValueError, "batch_in_epoch")
    expect(lambda: sae.fit(X[:64], resume=True), lamina.InvalidArgumentError, ValueError, "batch_in_epoch")


CASES = {
    "saelens_huge_dims": case_saelens_huge_dims,
    "sparsify_overflowing_expansion_factor": case_sparsify_overflowing_expansion_factor,
    "saelens_dims_disagree_with_tiny_weights": case_saelens_dims_disagree_with_tiny_weights,
    "extra_tensor_is_refused": case_extra_tensor_is_refused,
    "resume_past_end_of_array": case_resume_past_end_of_array,
    "resume_past_end_of_hdf5": case_resume_past_end_of_hdf5,
    "edited_checkpoint_position": case_edited_checkpoint_position,
}

if __name__ == "__main__":
    worker_main(CASES)

# A hang (the old chunk loader looped forever) fails at the timeout instead of blocking the suite.
test_sae_files_crash = crash_tests(__file__, CASES, timeout=180)
