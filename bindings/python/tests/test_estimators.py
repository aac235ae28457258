"""The one estimator pattern (lamina/_base.py): parameters, repr, set_params, NotFittedError, argument
checks, one callback rule, the deprecated 0.1 names (one test per name, each checking the warning),
`save` creating parent directories, `__all__`, and the binding working without scikit-learn."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import ast_probe as ap
from lamina import probe as P
from lamina.cluster import KMeans
from lamina.probe import INLP, LogisticProbe, RidgeProbe
from lamina.sae import SparseAutoencoder
from lamina.structural import StructuralProbe

ESTIMATORS = (LogisticProbe, RidgeProbe, INLP, KMeans, SparseAutoencoder, StructuralProbe, ap.ASTProbe)


def _X(n=200, d=16, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return (rng.standard_normal((n, d)) + y[:, None]).astype(np.float32), y


def _ast_problem():
    src = ["def f(a, b):\n    return a + b\n", "def g(x):\n    return [i * 2 for i in range(x)]\n"]
    d, c, u, off = ap.trees_to_tuples([ap.code_tree(s) for s in src])
    X = np.random.default_rng(0).standard_normal((int(off[-1]), 8)).astype(np.float32)
    return X, off, d, c, u


# -- parameters, repr, set_params -------------------------------------------------------------------

@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_default_repr_get_set_params(cls):
    est = cls()
    assert repr(est) == f"{cls.__name__}()"
    params = est.get_params()
    assert "self" not in params and all(hasattr(est, k) for k in params)
    assert est.set_params(**params) is est
    with pytest.raises(lamina.InvalidArgumentError, match="Invalid parameter 'bogus'"):
        est.set_params(bogus=1)


def test_repr_shows_only_non_default_parameters():
    assert repr(INLP(n_iterations=3, C=0.5)) == "INLP(n_iterations=3, C=0.5)"
    relu = SparseAutoencoder(16, 64, architecture="relu", batch_size=256)
    assert repr(relu) == "SparseAutoencoder(d_in=16, n_latents=64, architecture='relu', batch_size=256)"
    assert "k=" not in repr(relu)
    assert repr(KMeans(3, random_state=1)) == "KMeans(n_clusters=3, random_state=1)"
    assert repr(StructuralProbe("depth", lr=0.01)) == "StructuralProbe(kind='depth', lr=0.01)"
    assert repr(ap.ASTProbe(rank=8, lr=1e-2)) == "ASTProbe(rank=8, lr=0.01)"


def test_sae_set_params_and_refit():
    X, _ = _X()
    sae = SparseAutoencoder(n_latents=32, k=4, batch_size=50, random_state=0).fit(X)
    first = sae.encode(X)
    sae.set_params(k=2)
    assert sae.k == 2
    sae.fit(X)                                  # the new parameters take effect at the next fit
    assert np.all((sae.encode(X) != 0).sum(1) <= 2) and not np.array_equal(first, sae.encode(X))


def test_sae_init_only_stores_parameters():
    sae = SparseAutoencoder(8, 16, k=0, architecture="nope")   # invalid, but __init__ validates nothing
    assert not hasattr(sae, "_handle") and sae.get_params()["k"] == 0
    with pytest.raises(lamina.InvalidArgumentError, match="architecture"):
        sae.initialize()
    with pytest.raises(lamina.InvalidArgumentError, match="k is 0"):
        sae.set_params(architecture="topk").initialize()
    with pytest.raises(lamina.NotFittedError):
        sae.W_enc_
    assert not hasattr(SparseAutoencoder(n_latents=8), "W_enc_")    # NotFittedError is an AttributeError
    X, _ = _X(d=8)
    fitted = SparseAutoencoder(n_latents=16, k=2, batch_size=50).fit(X)   # d_in inferred from X
    assert fitted.d_in is None and fitted.n_features_in_ == 8 and fitted.W_enc_.shape == (8, 16)


def test_not_fitted_error():
    X, _ = _X()
    for call in (lambda: LogisticProbe().predict(X), lambda: KMeans().predict(X), lambda: INLP().transform(X),
                 lambda: RidgeProbe().predict(X), lambda: SparseAutoencoder(n_latents=4).encode(X),
                 lambda: StructuralProbe().predict([X]), lambda: ap.ASTProbe().predict(X, [0, len(X)])):
        with pytest.raises(lamina.NotFittedError, match="not fitted") as info:
            call()
        assert isinstance(info.value, (ValueError, AttributeError, lamina.InvalidArgumentError))


# -- argument checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [3.7, 3.0, "3", True, None])
def test_integer_parameters_are_never_truncated(value):
    X, off, d, c, u = _ast_problem()
    with pytest.raises(lamina.InvalidArgumentError, match="rank"):
        ap.ASTProbe(rank=value, epochs=1).fit(X, off, d, c, u)
    with pytest.raises(lamina.InvalidArgumentError, match="rank"):
        StructuralProbe(rank=value).fit([X[:4]], targets=[np.zeros(4)])
    with pytest.raises(lamina.InvalidArgumentError, match="n_clusters"):
        KMeans(value).fit(X)
    with pytest.raises(lamina.InvalidArgumentError, match="max_iter"):
        LogisticProbe(max_iter=value).fit(X, np.arange(len(X)) % 2)


def test_float_and_choice_and_random_state_checks():
    X, y = _X()
    with pytest.raises(lamina.InvalidArgumentError, match="C="):
        LogisticProbe(C="1").fit(X, y)
    with pytest.raises(lamina.InvalidArgumentError, match="architecture"):
        SparseAutoencoder(n_latents=8, architecture="gated").fit(X)
    for bad in (-1, 2**64, 1.5, "0"):
        with pytest.raises(lamina.InvalidArgumentError, match="random_state"):
            KMeans(2, random_state=bad).fit(X)
    a = KMeans(3, random_state=np.random.RandomState(0)).fit(X).labels_
    b = KMeans(3, random_state=np.random.RandomState(0)).fit(X).labels_
    assert np.array_equal(a, b)


def test_ragged_offsets_checks():
    X, off, d, c, u = _ast_problem()
    with pytest.raises(lamina.ShapeMismatchError, match="offsets"):
        ap.ASTProbe(rank=2, epochs=1).fit(X, np.array([0, 3]), d, c, u)
    with pytest.raises(lamina.InvalidArgumentError, match="offsets"):
        ap.ASTProbe(rank=2, epochs=1).fit(X, np.array([[0, len(X)]]), d, c, u)
    with pytest.raises(lamina.InvalidArgumentError, match="offsets"):
        lamina.structural.uuas(np.zeros(4), np.zeros(4), offsets=np.array(["a", "b"]))


# -- one callback rule, verbose ---------------------------------------------------------------------

def test_callback_true_stops_every_fit(capsys):
    X, y = _X()
    sae = SparseAutoencoder(n_latents=16, k=2, batch_size=20)
    with pytest.raises(lamina.CancelledError):
        sae.fit(X, callback=lambda info: info["step"] >= 2)
    assert sae.n_steps_ == 2
    items = [X[i:i + 5] for i in range(0, 100, 5)]
    st = StructuralProbe("depth", rank=2, epochs=2, batch_size=2)
    with pytest.raises(lamina.CancelledError):
        st.fit(items, targets=[np.arange(5.0)] * 20, callback=lambda info: info["step"] >= 3)
    assert st.n_steps_ == 3
    Xa, off, d, c, u = _ast_problem()
    probe = ap.ASTProbe(rank=2, epochs=3, batch_size=1)
    with pytest.raises(lamina.CancelledError):
        probe.fit(Xa, off, d, c, u, callback=lambda info: info["step"] >= 2)
    assert probe.n_steps_ == 2
    # None continues; verbose prints a progress line on stderr
    SparseAutoencoder(n_latents=16, k=2, batch_size=50, verbose=True).fit(X, callback=lambda info: None)
    assert "sae [" in capsys.readouterr().err
    with pytest.raises(lamina.InvalidArgumentError, match="callback"):
        sae.fit(X, callback=3)


def test_callback_returning_false_continues_with_a_future_warning():
    X, _ = _X()
    sae = SparseAutoencoder(n_latents=16, k=2, batch_size=50)
    with pytest.warns(FutureWarning, match="returned False, which no longer stops"):
        sae.fit(X, epochs=2, callback=lambda info: False)
    assert sae.n_steps_ == 8


# -- deprecated names (0.1 -> 0.2), each keeps working with a DeprecationWarning ----------------------

def test_deprecated_sae_seed():
    X, _ = _X()
    with pytest.warns(DeprecationWarning, match=r"SparseAutoencoder\(seed=...\) is deprecated.*random_state"):
        old = SparseAutoencoder(n_latents=16, k=2, batch_size=50, seed=3).fit(X)
    new = SparseAutoencoder(n_latents=16, k=2, batch_size=50, random_state=3).fit(X)
    assert np.array_equal(old.W_enc_, new.W_enc_)
    with pytest.raises(lamina.InvalidArgumentError, match="both seed"):
        with pytest.warns(DeprecationWarning):
            SparseAutoencoder(n_latents=16, seed=3, random_state=4).fit(X)


def test_deprecated_sae_fit_progress():
    X, _ = _X()
    with pytest.warns(DeprecationWarning, match=r"fit\(progress=...\) is deprecated.*verbose"):
        SparseAutoencoder(n_latents=16, k=2, batch_size=50).fit(X, progress=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        SparseAutoencoder(n_latents=16, k=2, batch_size=50).fit(X, bogus=1)


def test_deprecated_ast_probe_names():
    X, off, d, c, u = _ast_problem()
    new = ap.ASTProbe(rank=2, epochs=2, lr=1e-2, random_state=4).fit(X, off, d, c, u)
    with pytest.warns(DeprecationWarning, match=r"ASTProbe\(learning_rate=...\) is deprecated.*lr"):
        a = ap.ASTProbe(rank=2, epochs=2, learning_rate=1e-2, random_state=4).fit(X, off, d, c, u)
    with pytest.warns(DeprecationWarning, match=r"ASTProbe\(seed=...\) is deprecated.*random_state"):
        b = ap.ASTProbe(rank=2, epochs=2, lr=1e-2, seed=4).fit(X, off, d, c, u)
    for old in (a, b):
        assert np.array_equal(old.proj_, new.proj_)
    seen = []
    with pytest.warns(DeprecationWarning, match=r"ASTProbe.fit\(progress=...\) is deprecated.*callback"):
        ap.ASTProbe(rank=2, epochs=1).fit(X, off, d, c, u, progress=lambda info: seen.append(info["step"]))
    assert seen


@pytest.mark.parametrize("fn, args", [
    ("stratified_kfold", lambda X, y: (y, 3)),
    ("control_task_labels", lambda X, y: (np.arange(len(y)) % 7, y)),
    ("mdl_online_codelength", lambda X, y: (X, y)),
    ("few_shot_accuracy", lambda X, y: (X[:100], y[:100], X[100:], y[100:], 3)),
    ("layer_sweep", lambda X, y: ([X[:, :8], X[:, 8:]], y)),
])
def test_deprecated_function_seed(fn, args):
    X, y = _X()
    f = getattr(P, fn)
    new = f(*args(X, y), random_state=5)
    with pytest.warns(DeprecationWarning, match=rf"{fn}\(seed=...\) is deprecated.*random_state"):
        old = f(*args(X, y), seed=5)
    if hasattr(new, "fold_accuracy"):
        new, old = new.fold_accuracy, old.fold_accuracy
    elif hasattr(new, "online_bits"):
        new, old = new.online_bits, old.online_bits
    np.testing.assert_array_equal(np.asarray(old), np.asarray(new))


def test_deprecated_layer_sweep_control_seed():
    X, y = _X()
    layers = [X[:, :8], X[:, 8:]]
    types = np.arange(len(y)) % 11
    new = P.layer_sweep(layers, y, control_types=types, control_random_state=2)
    with pytest.warns(DeprecationWarning, match=r"layer_sweep\(control_seed=...\).*control_random_state"):
        old = P.layer_sweep(layers, y, control_types=types, control_seed=2)
    np.testing.assert_array_equal(old.control_fold_accuracy, new.control_fold_accuracy)


# -- files, modules ---------------------------------------------------------------------------------

def test_save_creates_parent_directories(tmp_path):
    X, _ = _X()
    sae = SparseAutoencoder(n_latents=16, k=2, batch_size=50).fit(X)
    sae.save(tmp_path / "a" / "b" / "sae")
    sae.save_checkpoint(tmp_path / "c" / "d" / "ck.safetensors")
    assert (tmp_path / "a" / "b" / "sae" / "cfg.json").exists() and (tmp_path / "c" / "d" / "ck.safetensors").exists()
    back = lamina.sae.load(tmp_path / "a" / "b" / "sae")
    assert np.array_equal(back.encode(X), sae.encode(X))


def test_all_lists_every_public_module():
    pkg = Path(lamina.__file__).parent
    modules = {p.stem for p in pkg.glob("*.py") if not p.stem.startswith("_")}
    assert modules <= set(lamina.__all__), modules - set(lamina.__all__)
    for name in lamina.__all__:
        assert hasattr(lamina, name), name


def test_binding_works_without_scikit_learn(tmp_path):
    """The binding must not require scikit-learn: with it hidden, estimators are plain classes with the
    same behaviour (parameters, repr, set_params, NotFittedError, pickling, mixin methods)."""
    code = textwrap.dedent("""
        import sys, pickle, importlib.abc
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "sklearn" or name.startswith("sklearn."):
                    raise ImportError("scikit-learn hidden for this test")
        sys.meta_path.insert(0, Hide())
        import numpy as np
        import lamina
        from lamina._base import HAVE_SKLEARN
        from lamina.probe import LogisticProbe, RidgeProbe
        from lamina.cluster import KMeans
        from lamina.sae import SparseAutoencoder
        assert not HAVE_SKLEARN and "sklearn" not in sys.modules
        rng = np.random.default_rng(0)
        y = rng.integers(0, 3, 150)
        X = (rng.standard_normal((150, 6)) + y[:, None]).astype(np.float32)
        p = LogisticProbe(C=0.5)
        assert repr(p) == "LogisticProbe(C=0.5)" and p.get_params()["C"] == 0.5
        try:
            p.predict(X)
            raise SystemExit("no NotFittedError")
        except lamina.NotFittedError as exc:
            assert isinstance(exc, ValueError) and isinstance(exc, AttributeError)
        p.set_params(C=2.0).fit(X, y)
        assert 0.5 < p.score(X, y) <= 1
        q = pickle.loads(pickle.dumps(p))
        assert q.predict_proba(X).tobytes() == p.predict_proba(X).tobytes()
        assert RidgeProbe().fit(X, X[:, 0]).score(X, X[:, 0]) > 0.99
        km = KMeans(3, random_state=0)
        assert km.fit_predict(X).shape == (150,) and km.fit_transform(X).shape == (150, 3)
        sae = SparseAutoencoder(n_latents=12, k=3, batch_size=50)
        assert sae.fit_transform(X).shape == (150, 12)
        print("OK")
    """)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(lamina.__file__).parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr[-3000:]


def test_no_deprecation_warnings_from_current_names():
    X, y = _X()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SparseAutoencoder(n_latents=16, k=2, batch_size=50, random_state=1, verbose=False).fit(X)
        P.layer_sweep([X], y, random_state=1, control_types=np.arange(len(y)) % 5, control_random_state=1)
        pickle.loads(pickle.dumps(LogisticProbe().fit(X, y)))
