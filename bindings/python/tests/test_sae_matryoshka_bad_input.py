"""Bad Matryoshka groups through the Python API and directly through the C API (bypassing the Python
checks): widths not increasing, not ending at n_latents, too many or none, weights of the wrong length,
negative, NaN or all 0, groups for another architecture, garbage beyond n_groups, a foreign cfg.json
with bad matryoshka_widths. Each is a clear error naming the field; the cases run in a worker subprocess
(this file with --worker), so a Swift trap fails one case instead of killing pytest."""
from __future__ import annotations

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _mods():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina.sae import SparseAutoencoder
    return ctypes, np, lamina, N, SparseAutoencoder


def py_error(*words, **kw):
    _, _, lamina, _, SAE = _mods()
    args = dict(architecture="matryoshka_batchtopk", k=4, group_widths=[8, 32])
    args.update(kw)
    expect(lambda: SAE(16, 32, **args).initialize(), lamina.InvalidArgumentError, ValueError, *words)


@case
def py_not_increasing():
    py_error("group_widths", "strictly increasing", group_widths=[16, 8, 32])


@case
def py_equal_widths():
    py_error("group_widths", "strictly increasing", group_widths=[8, 8, 32])


@case
def py_not_ending_at_n_latents():
    py_error("group_widths", "n_latents (32)", group_widths=[8, 16])


@case
def py_width_zero():
    py_error("group_widths[0]", group_widths=[0, 32])


@case
def py_too_many_groups():
    py_error("group_widths", "1 to 16", group_widths=list(range(1, 33)))


@case
def py_empty_widths():
    py_error("group_widths", group_widths=[])


@case
def py_missing_widths():
    py_error("needs group_widths", group_widths=None)


@case
def py_weights_wrong_length():
    py_error("group_weights", "one per group (2)", group_weights=[1.0])


@case
def py_weights_negative():
    py_error("group_weights[1]", ">= 0", group_weights=[1.0, -0.5])


@case
def py_weights_nan():
    py_error("group_weights[0]", group_weights=[float("nan"), 1.0])


@case
def py_weights_all_zero():
    py_error("group_weights", "all 0", group_weights=[0.0, 0.0])


@case
def py_groups_for_another_architecture():
    py_error("group_widths", "topk", architecture="topk")


@case
def py_weights_without_widths():
    py_error("group_weights", architecture="topk", group_widths=None, group_weights=[1.0])


@case
def py_widths_not_integers():
    _, _, lamina, _, SAE = _mods()
    expect(lambda: SAE(16, 32, architecture="matryoshka_batchtopk", group_widths=[8.5, 32]).initialize(),
           lamina.InvalidArgumentError, ValueError, "group_widths")


def c_params(**fields):
    ctypes, _, _, N, _ = _mods()
    p = N.lib.lamina_sae_default_params()
    p.d_in, p.n_latents, p.k, p.architecture = 16, 32, 4, N.LAMINA_SAE_MATRYOSHKA_BATCHTOPK
    widths = fields.pop("widths", [8, 32])
    weights = fields.pop("weights", [])
    p.n_groups = fields.pop("n_groups", len(widths))
    for g, w in enumerate(widths):
        p.group_widths[g] = w
    for g, w in enumerate(weights):
        p.group_weights[g] = w
    for key, value in fields.items():
        setattr(p, key, value)
    return p


def c_status(p, *words, want=None):
    ctypes, _, _, N, _ = _mods()
    want = N.LAMINA_ERR_INVALID_ARGUMENT if want is None else want
    expect_status(want, N.lib.lamina_sae_check_params(ctypes.byref(p)), *words)
    out = ctypes.c_void_p()
    expect_status(want, N.lib.lamina_sae_create(ctypes.byref(p), ctypes.byref(out)), *words)
    assert want != 0 or out.value
    if out.value:
        N.lib.lamina_sae_free(out)


@case
def c_good_params():
    c_status(c_params(weights=[1.0, 2.0]), want=0)


@case
def c_not_increasing():
    c_status(c_params(widths=[16, 8, 32]), "group_widths", "strictly increasing")


@case
def c_not_ending_at_n_latents():
    c_status(c_params(widths=[8, 31]), "group_widths", "n_latents (32)")


@case
def c_n_groups_out_of_range():
    c_status(c_params(n_groups=17), "n_groups", "17")
    c_status(c_params(n_groups=-1), "n_groups", "-1")


@case
def c_n_groups_zero():
    c_status(c_params(widths=[], n_groups=0), "group_widths", "0 values")


@case
def c_width_negative_or_huge():
    c_status(c_params(widths=[-5, 32]), "group_widths[0]", "-5")
    c_status(c_params(widths=[2**40, 32]), "group_widths[0]")


@case
def c_weights_negative():
    c_status(c_params(weights=[1.0, -1.0]), "group_weights[1]", ">= 0")


@case
def c_weights_infinite():
    c_status(c_params(weights=[float("inf"), 1.0]), "group_weights[0]")


@case
def c_set_beyond_n_groups():
    p = c_params()
    p.group_widths[5] = 7
    c_status(p, "group_widths[5]", "beyond n_groups = 2")
    p = c_params()
    p.group_weights[2] = 1.0
    c_status(p, "group_weights[2]")


@case
def c_groups_for_batchtopk():
    _, _, _, N, _ = _mods()
    c_status(c_params(architecture=N.LAMINA_SAE_BATCHTOPK), "group_widths", "batchtopk")


def _write_cfg(tmp, widths):
    import json
    import os

    import numpy as np
    from safetensors.numpy import save_file
    d, n = 4, 8
    os.makedirs(tmp, exist_ok=True)
    save_file({"W_enc": np.zeros((d, n), np.float32), "W_dec": np.eye(n, d, dtype=np.float32) + 0.1,
               "b_enc": np.zeros(n, np.float32), "b_dec": np.zeros(d, np.float32),
               "topk_threshold": np.array(0.5, np.float64)}, f"{tmp}/sae_weights.safetensors")
    cfg = {"architecture": "matryoshka_batchtopk", "d_in": d, "d_sae": n, "k": 2, "topk_threshold_lr": 0.01}
    if widths is not None:
        cfg["matryoshka_widths"] = widths
    with open(f"{tmp}/cfg.json", "w") as f:
        json.dump(cfg, f)


@case
def file_bad_matryoshka_widths():
    import tempfile
    _, _, lamina, _, _ = _mods()
    from lamina.errors import FormatError
    from lamina.sae import load
    for widths, words in (([4, 2, 8], ("strictly increasing",)), ([2, 4], ("n_latents (8)",)),
                          (None, ("matryoshka_widths",)), ("x", ("matryoshka_widths",))):
        with tempfile.TemporaryDirectory() as tmp:
            _write_cfg(tmp, widths)
            expect(lambda: load(tmp), FormatError, OSError, "cfg.json", *words)
    with tempfile.TemporaryDirectory() as tmp:
        _write_cfg(tmp, [2, 8])
        assert load(tmp).group_widths == [2, 8]


if __name__ == "__main__":
    worker_main(CASES)

test_sae_matryoshka_bad_input = crash_tests(__file__, CASES)
