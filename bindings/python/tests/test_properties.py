"""Hypothesis property tests: random shapes (n 0..60, d 0..8), values (NaN, +-inf, huge ~1e38, tiny and
subnormal, duplicates, all-equal rows, blobs) and labels (random int32 incl. the extremes, one class, few,
many, all distinct) thrown at every metric, KMeans fit/predict and the contingency table.

Each example must give either a LaminaError of the documented class and message, or a result satisfying
the documented properties (silhouette in [-1, 1], ARI <= 1, NMI in [0, 1], contingency sums to n, ...);
never a crash. Each test function runs its hypothesis loop (derandomized, fixed number of examples) in a
subprocess -- this file is also the worker: ``python test_properties.py <property> <examples>`` -- so that a
Swift trap fails the test instead of killing pytest. Before every example the worker writes the example to
a file, which the test prints when the worker dies.

Violations do not stop the loop: every distinct kind of violation is recorded with the smallest example
that showed it, and the worker reports them all at the end (exit status 1).
"""
from __future__ import annotations

import math
import os
import signal
import sys
import tempfile
from pathlib import Path

from isolated import run_python

EXAMPLES = int(os.environ.get("LAMINA_PROPERTY_EXAMPLES", "300"))

# ==================================================================================================
# Worker side
# ==================================================================================================

VIOLATIONS: dict = {}
CURRENT: dict = {"size": 0, "repr": ""}
STATS = {"examples": 0, "errors": 0, "results": 0}
_LAST_FILE = None


def _begin_example(**arrays):
    """Records the example (to a file that survives a crash) before any library call."""
    import numpy as np
    text = "\n".join(f"{k} = {np.array2string(np.asarray(v), threshold=10**9, precision=9, separator=', ', max_line_width=200)}"
                     + (f"  # dtype {np.asarray(v).dtype}" if hasattr(v, "dtype") else "")
                     for k, v in arrays.items())
    CURRENT["repr"] = text
    CURRENT["size"] = sum(int(np.asarray(v).size) for v in arrays.values())
    STATS["examples"] += 1
    if _LAST_FILE is not None:
        _LAST_FILE.seek(0)
        _LAST_FILE.truncate()
        _LAST_FILE.write(text + "\n")
        _LAST_FILE.flush()


def violate(kind, detail):
    old = VIOLATIONS.get(kind)
    if old is None or CURRENT["size"] < old[0]:
        VIOLATIONS[kind] = (CURRENT["size"], str(detail)[:2000], CURRENT["repr"])


def magnitude_tag(x):
    """Data whose squares leave the float32 range: the likely cause of a numeric violation."""
    import numpy as np
    finite = np.abs(x[np.isfinite(x)]) if x.size else np.zeros(0)
    top = float(finite.max()) if finite.size else 0.0
    if top > 1e19:
        return " [max |x| > 1e19: squares overflow float32]"
    if 0 < top < 1e-19:
        return " [max |x| < 1e-19: squares underflow float32]"
    return ""


def check(cond, kind, detail=""):
    if not cond:
        violate(kind, detail)
    return cond


def outcome(kind, fn, expect_cls=None, expect_words=()):
    """Runs fn. With expect_cls: it must raise that LaminaError with those words. Without: it must succeed.
    Returns the result, or None after an error/violation. Never raises."""
    import lamina
    try:
        result = fn()
    except lamina.LaminaError as exc:
        STATS["errors"] += 1
        if expect_cls is None:
            violate(f"{kind}: unexpected {type(exc).__name__}", exc)
        elif not isinstance(exc, expect_cls):
            violate(f"{kind}: {type(exc).__name__} instead of {expect_cls.__name__}", exc)
        else:
            for w in expect_words:
                check(w in str(exc), f"{kind}: message lacks {w!r}", exc)
        return None
    except Exception as exc:  # noqa: BLE001 - anything else is a violation
        violate(f"{kind}: non-Lamina exception {type(exc).__name__}", repr(exc))
        return None
    STATS["results"] += 1
    if expect_cls is not None:
        violate(f"{kind}: succeeded, expected {expect_cls.__name__} ({' '.join(expect_words)})", repr(result)[:300])
        return None
    return result


# -- strategies ------------------------------------------------------------------------------------

def _strategies():
    from hypothesis import strategies as st
    return st


def f32(v):
    import numpy as np
    return float(np.float32(v))


def draw_x(data, n, d):
    import numpy as np
    st = _strategies()
    style = data.draw(st.sampled_from(["normal", "specials", "huge", "tiny", "allequal", "duplicates", "blobs",
                                       "integers"]), label="style")
    fmax = f32(3.4028234e38)
    specials = [0.0, -0.0, 1.0, -1.0, f32(1e38), f32(-1e38), fmax, -fmax, f32(1e-38), f32(1e-45), f32(-1e-45),
                f32(1e-7), f32(1e7), f32(123.456)]
    elements = {
        "normal": st.floats(-1e3, 1e3, width=32),
        "specials": st.sampled_from(specials),
        "huge": st.builds(lambda s, m: s * m, st.sampled_from([1.0, -1.0]), st.floats(f32(1e30), fmax, width=32)),
        "tiny": st.floats(f32(-1e-37), f32(1e-37), width=32),
        "allequal": st.floats(-fmax, fmax, width=32),
        "duplicates": st.one_of(st.floats(-1e3, 1e3, width=32), st.sampled_from(specials)),
        "blobs": st.floats(-1, 1, width=32),
        "integers": st.integers(-3, 3).map(float),
    }[style]
    size = n * d
    if size == 0:
        x = np.zeros((n, d), dtype=np.float32)
    elif style == "allequal":
        x = np.full((n, d), data.draw(elements, label="value"), dtype=np.float32)
    elif style == "duplicates":
        m = data.draw(st.integers(1, n), label="distinct_rows")
        base = np.array(data.draw(st.lists(elements, min_size=m * d, max_size=m * d)), dtype=np.float32).reshape(m, d)
        idx = data.draw(st.lists(st.integers(0, m - 1), min_size=n, max_size=n), label="row_index")
        x = base[idx]
    elif style == "blobs":
        k = data.draw(st.integers(1, 4), label="blobs")
        scale = data.draw(st.sampled_from([1.0, 1e-3, 1e6, 1e18]), label="scale")
        centers = np.arange(k, dtype=np.float64)[:, None] * 10.0 * np.ones((1, d))
        noise = np.array(data.draw(st.lists(elements, min_size=size, max_size=size)), dtype=np.float64).reshape(n, d)
        member = np.arange(n) % k
        x = ((centers[member] + noise) * scale).astype(np.float32)
    else:
        x = np.array(data.draw(st.lists(elements, min_size=size, max_size=size), label="values"),
                     dtype=np.float32).reshape(n, d)
    if size and data.draw(st.integers(0, 4), label="inject") == 0:
        r = data.draw(st.integers(0, n - 1), label="bad_row")
        c = data.draw(st.integers(0, d - 1), label="bad_col")
        x[r, c] = data.draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]), label="bad_value")
    return x


INT32 = (-2**31, 2**31 - 1)


def draw_labels(data, n, label="labels"):
    import numpy as np
    st = _strategies()
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    ints = st.integers(*INT32)
    mode = data.draw(st.sampled_from(["single", "few", "many", "distinct", "extremes", "small"]), label=f"{label}_mode")
    if mode == "distinct":
        vals = data.draw(st.lists(ints, min_size=n, max_size=n, unique=True), label=label)
        return np.array(vals, dtype=np.int32)
    if mode == "single":
        pool = [data.draw(ints)]
    elif mode == "few":
        pool = data.draw(st.lists(ints, min_size=2, max_size=3, unique=True))
    elif mode == "many":
        pool = data.draw(st.lists(ints, min_size=1, max_size=max(1, n), unique=True))
    elif mode == "extremes":
        pool = [INT32[0], INT32[1], 0, -1, 1][: data.draw(st.integers(1, 5))]
    else:
        pool = list(range(data.draw(st.integers(1, 4))))
    idx = data.draw(st.lists(st.integers(0, len(pool) - 1), min_size=n, max_size=n), label=label)
    return np.array(pool, dtype=np.int64)[idx].astype(np.int32)


# -- expected outcome of the internal indices --------------------------------------------------------

def _first_nonfinite(x):
    import numpy as np
    bad = np.flatnonzero(~np.isfinite(x.ravel()))
    if bad.size == 0:
        return None
    return divmod(int(bad[0]), x.shape[1])


def expected_internal_error(x, labels, gdv=False):
    """(LaminaError class, words) the documented checks demand, or None if the call must succeed."""
    import numpy as np

    import lamina
    n, d = x.shape
    if n == 0:
        return lamina.InvalidArgumentError, ["n is 0"]
    if d == 0:
        return lamina.InvalidArgumentError, ["d is 0"]
    bad = _first_nonfinite(x)
    if bad is not None:
        return lamina.NonFiniteError, [f"row {bad[0]}, column {bad[1]}"]
    values, counts = np.unique(labels, return_counts=True)
    k = len(values)
    if gdv:
        if k < 2:
            return lamina.InvalidArgumentError, ["distinct class"]
        if counts.min() < 2:
            return lamina.InvalidArgumentError, ["1 sample"]
        return None
    if k < 2 or k > n - 1:
        return lamina.InvalidArgumentError, [f"Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive)"]
    return None


def _cluster_geometry(x, labels):
    """float64 reference: max over clusters of the max pairwise distance, and the data scale."""
    import numpy as np
    x64 = x.astype(np.float64)
    widest = 0.0
    for v in np.unique(labels):
        pts = x64[labels == v]
        if len(pts) > 1:
            diff = pts[:, None, :] - pts[None, :, :]
            widest = max(widest, float(np.sqrt((diff ** 2).sum(-1)).max()))
    scale = float(np.abs(x64).max()) if x64.size else 0.0
    return widest, scale


def _all_clusters_constant(x, labels):
    import numpy as np
    return all((x[labels == v] == x[labels == v][0]).all() for v in np.unique(labels))


# -- properties ------------------------------------------------------------------------------------

INTERNAL_CALLS = None


def _internal_calls():
    from lamina import metrics as M
    calls = []
    for metric in ("euclidean", "sqeuclidean", "cosine"):
        calls.append((f"silhouette_samples[{metric}]", lambda x, y, m=metric: M.silhouette_samples(x, y, metric=m)))
        calls.append((f"silhouette_score[{metric}]", lambda x, y, m=metric: M.silhouette_score(x, y, metric=m)))
    calls.append(("davies_bouldin_score", M.davies_bouldin_score))
    calls.append(("calinski_harabasz_score", M.calinski_harabasz_score))
    for link in ("single", "complete", "average", "centroid"):
        for diam in ("max", "mean_pairwise", "centroid"):
            calls.append((f"dunn_index[{link},{diam}]",
                          lambda x, y, a=link, b=diam: M.dunn_index(x, y, linkage=a, diameter=b)))
    for sep in ("centroid", "point_pair"):
        calls.append((f"xie_beni_index[{sep}]", lambda x, y, s=sep: M.xie_beni_index(x, y, separation=s)))
    calls.append(("gdv", M.gdv))
    return calls


def internal_example(x, labels):
    import numpy as np
    _begin_example(x=x, labels=labels)
    for name, fn in _internal_calls():
        exp = expected_internal_error(x, labels, gdv=name == "gdv")
        if exp is None:
            result = outcome(name, lambda: fn(x, labels))
        else:
            outcome(name, lambda: fn(x, labels), exp[0], exp[1])
            continue
        if result is None:
            continue
        tag = magnitude_tag(x)
        if name.startswith("silhouette_samples"):
            r = np.asarray(result)
            if check(r.shape == (x.shape[0],), f"{name}: shape", r.shape):
                check(bool(np.all((r >= -1) & (r <= 1))), f"{name}: values outside [-1, 1] (NaN included){tag}", r)
                sizes = {v: c for v, c in zip(*np.unique(labels, return_counts=True))}
                single = np.array([sizes[v] == 1 for v in labels])
                check(bool(np.all(r[single] == 0)), f"{name}: singleton cluster sample != 0", r[single])
        elif name.startswith("silhouette_score"):
            check(-1 <= result <= 1, f"{name}: outside [-1, 1] (NaN included){tag}", result)
        elif name in ("davies_bouldin_score", "calinski_harabasz_score"):
            check(math.isfinite(result) and result >= 0, f"{name}: not finite and >= 0{tag}", result)
        elif name == "gdv":
            check(math.isfinite(result), f"{name}: not finite{tag}", result)
        elif name.startswith("dunn_index"):
            check(not (result < 0), f"{name}: negative", result)
            if math.isnan(result) or math.isinf(result):
                # documented only when every diameter is 0; tolerated for clusters that are constant up to
                # float32 resolution, not for clusters whose float64 width is a visible part of the data
                widest, scale = _cluster_geometry(x, labels)
                check(widest <= 1e-3 * scale, f"dunn_index: {result} although the clusters are not constant{tag}",
                      f"{name} = {result}; widest cluster (float64) {widest:.6g}, data scale {scale:.6g}")
        elif name.startswith("xie_beni_index"):
            check(not (result < 0), f"{name}: negative", result)
            if math.isnan(result):
                check(_all_clusters_constant(x, labels), f"{name}: NaN although W > 0{tag}", result)
    # relabelling (same order of values) must not change anything
    if x.size and _first_nonfinite(x) is None:
        from lamina import metrics as M
        _, codes = np.unique(labels, return_inverse=True)
        a = outcome("silhouette_score[relabelled]", lambda: M.silhouette_score(x, labels), *(
            expected_internal_error(x, labels) or ()))
        b = outcome("silhouette_score[relabelled]", lambda: M.silhouette_score(x, codes.astype(np.int64) * 7 - 3),
                    *(expected_internal_error(x, labels) or ()))
        if a is not None and b is not None:
            check(a == b or (math.isnan(a) and math.isnan(b)), "silhouette_score: depends on label values", (a, b))


def external_example(t, p, beta):
    import numpy as np

    import lamina
    from lamina import metrics as M
    _begin_example(labels_true=t, labels_pred=p, beta=np.float64(beta))
    n = len(t)
    ari = outcome("adjusted_rand_score", lambda: M.adjusted_rand_score(t, p))
    if ari is not None:
        check(ari <= 1 and ari >= -1, "adjusted_rand_score: outside [-1, 1]", ari)
        ari2 = outcome("adjusted_rand_score", lambda: M.adjusted_rand_score(p, t))
        check(ari2 == ari, "adjusted_rand_score: not symmetric", (ari, ari2))
        if n and (np.unique(t, return_inverse=True)[1] == np.unique(p, return_inverse=True)[1]).all():
            check(ari == 1.0, "adjusted_rand_score: identical partitions != 1", ari)
    r = outcome("rand_score", lambda: M.rand_score(t, p))
    if r is not None:
        check(0 <= r <= 1, "rand_score: outside [0, 1]", r)
    mi = outcome("mutual_info_score", lambda: M.mutual_info_score(t, p))
    if mi is not None:
        check(math.isfinite(mi) and mi >= 0, "mutual_info_score: not finite and >= 0", mi)
        if n:
            h = min(_entropy(t), _entropy(p))
            check(mi <= h + 1e-9, "mutual_info_score: > min entropy", (mi, h))
    for avg in ("min", "geometric", "arithmetic", "max"):
        nmi = outcome(f"normalized_mutual_info_score[{avg}]", lambda: M.normalized_mutual_info_score(t, p, average_method=avg))
        if nmi is not None:
            check(0 <= nmi <= 1 + 1e-12, f"normalized_mutual_info_score[{avg}]: outside [0, 1]", nmi)
        ami = outcome(f"adjusted_mutual_info_score[{avg}]", lambda: M.adjusted_mutual_info_score(t, p, average_method=avg))
        if ami is not None:
            # no upper bound: when mean(H) ~ E[MI] the denominator is rounding noise (scikit-learn too)
            check(math.isfinite(ami), f"adjusted_mutual_info_score[{avg}]: not finite", ami)
    fmi = outcome("fowlkes_mallows_score", lambda: M.fowlkes_mallows_score(t, p))
    if fmi is not None:
        check(0 <= fmi <= 1 + 1e-12, "fowlkes_mallows_score: outside [0, 1]", fmi)
    if beta >= 0 and math.isfinite(beta):
        hcv = outcome("homogeneity_completeness_v_measure",
                      lambda: M.homogeneity_completeness_v_measure(t, p, beta=beta))
        if hcv is not None:
            check(all(0 <= v <= 1 + 1e-12 for v in hcv), "homogeneity_completeness_v_measure: outside [0, 1]", hcv)
    else:
        outcome("homogeneity_completeness_v_measure[bad beta]",
                lambda: M.homogeneity_completeness_v_measure(t, p, beta=beta), lamina.InvalidArgumentError, ["beta is"])


def _entropy(labels):
    import numpy as np
    _, c = np.unique(labels, return_counts=True)
    if len(c) <= 1:
        return 0.0
    q = c / c.sum()
    return float(-(q * np.log(q)).sum())


def contingency_example(t, p):
    import numpy as np
    from lamina import metrics as M
    _begin_example(labels_true=t, labels_pred=p)
    c = outcome("contingency_matrix", lambda: M.contingency_matrix(t, p))
    if c is None:
        return
    n = len(t)
    tv, ti = np.unique(t, return_inverse=True)
    pv, pi = np.unique(p, return_inverse=True)
    check(c.shape == (len(tv), len(pv)), "contingency_matrix: shape != (#classes, #clusters)", c.shape)
    check(int(c.sum()) == n, "contingency_matrix: does not sum to n", (int(c.sum()), n))
    check(bool((c >= 0).all()), "contingency_matrix: negative cell", c)
    if c.shape == (len(tv), len(pv)):
        ref = np.zeros((len(tv), len(pv)), dtype=np.int64)
        np.add.at(ref, (ti.ravel(), pi.ravel()), 1)
        check(bool((c == ref).all()), "contingency_matrix: differs from the reference table", (c, ref))
    # direct C: shape, and the table with a wrong out_len must fail without writing
    import ctypes

    import lamina
    from lamina import _native as N
    rows, cols = ctypes.c_int64(-1), ctypes.c_int64(-1)
    t32, p32 = np.ascontiguousarray(t, np.int32), np.ascontiguousarray(p, np.int32)
    st = N.lib.lamina_contingency_shape(N.iptr(t32), N.iptr(p32), n, ctypes.byref(rows), ctypes.byref(cols))
    check(st == 0 and (rows.value, cols.value) == (len(tv), len(pv)), "lamina_contingency_shape", (st, rows, cols))
    out = np.full(len(tv) * len(pv) + 2, -7, dtype=np.int64)
    st = N.lib.lamina_contingency_matrix(N.iptr(t32), N.iptr(p32), n, N.lptr(out), len(tv) * len(pv) + 1)
    check(st == lamina.ShapeMismatchError.status and (out == -7).all(), "lamina_contingency_matrix: wrong out_len",
          (st, N.last_error()))


def kmeans_example(x, k, init, n_init, max_iter, tol, seed):
    import numpy as np

    import lamina
    from lamina.cluster import KMeans
    _begin_example(x=x, k=np.int64(k), init=np.array(init), n_init=np.int64(n_init), max_iter=np.int64(max_iter),
                   tol=np.float64(tol), seed=np.uint64(seed))
    n, d = x.shape
    km = KMeans(n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, tol=tol, random_state=seed)
    if k < 1:
        exp = (lamina.InvalidArgumentError, [f"n_clusters is {k}"])
    elif n == 0:
        exp = (lamina.InvalidArgumentError, ["n is 0"])
    elif d == 0:
        exp = (lamina.InvalidArgumentError, ["d is 0"])
    elif _first_nonfinite(x) is not None:
        r, c = _first_nonfinite(x)
        exp = (lamina.NonFiniteError, [f"row {r}, column {c}"])
    elif k > n:
        exp = (lamina.InvalidArgumentError, [f"n_samples={n} should be >= n_clusters={k}."])
    else:
        exp = None
    if exp is not None:
        outcome("KMeans.fit", lambda: km.fit(x), *exp)
        return
    fitted = outcome("KMeans.fit", lambda: km.fit(x))
    if fitted is None:
        return
    pred = outcome("KMeans.predict", lambda: km.predict(x))
    outcome("KMeans.predict[d+1]", lambda: km.predict(np.zeros((2, d + 1), np.float32)), lamina.ShapeMismatchError,
            [f"{d + 1} features", f"fitted with {d}"])
    tag = magnitude_tag(x)
    C = km.cluster_centers_
    check(C.shape == (k, d), "KMeans: centers shape", C.shape)
    check(bool(np.isfinite(C).all()), f"KMeans: non-finite center{tag}", C)
    L = km.labels_
    check(L.shape == (n,) and bool(((L >= 0) & (L < k)).all()), "KMeans: labels_ out of range", L)
    check(math.isfinite(km.inertia_) and km.inertia_ >= 0, f"KMeans: inertia not finite and >= 0{tag}", km.inertia_)
    check(1 <= km.n_iter_ <= max_iter, "KMeans: n_iter_ outside [1, max_iter]", km.n_iter_)
    if pred is None or not np.isfinite(C).all() or C.shape != (k, d):
        return
    check(pred.shape == (n,) and bool(((pred >= 0) & (pred < k)).all()), "KMeans.predict: out of range", pred)
    x64, c64 = x.astype(np.float64), C.astype(np.float64)
    d2 = ((x64[:, None, :] - c64[None, :, :]) ** 2).sum(-1)
    best = d2.min(1)
    got = d2[np.arange(n), pred]
    tol_i = 1e-4 * ((x64 ** 2).sum(1) + (c64 ** 2).sum(1).max()) + 1e-30
    bad = np.flatnonzero(got > best + tol_i)
    check(bad.size == 0, f"KMeans.predict: a row is not assigned to its nearest center{tag}",
          f"rows {bad[:5].tolist()}: assigned d^2 {got[bad[:5]].tolist()}, nearest d^2 {best[bad[:5]].tolist()}")
    ref = float(d2[np.arange(n), L].sum())
    slack = 1e-3 * ref + 1e-5 * ((x64 ** 2).sum() + n * (c64 ** 2).sum(1).max()) + 1e-30
    check(abs(km.inertia_ - ref) <= slack, f"KMeans: inertia_ != sum of squared distances to the labelled centers{tag}",
          (km.inertia_, ref))


# -- hypothesis drivers ----------------------------------------------------------------------------

def _settings(examples):
    from hypothesis import HealthCheck, settings
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


def prop_internal(examples):
    from hypothesis import given
    st = _strategies()

    @_settings(examples)
    @given(st.data())
    def run(data):
        n = data.draw(st.integers(0, 60), label="n")
        d = data.draw(st.integers(0, 8), label="d")
        internal_example(draw_x(data, n, d), draw_labels(data, n))
    run()


def prop_external(examples):
    from hypothesis import given
    st = _strategies()

    @_settings(examples)
    @given(st.data())
    def run(data):
        n = data.draw(st.integers(0, 60), label="n")
        t = draw_labels(data, n, "labels_true")
        p = draw_labels(data, n, "labels_pred")
        beta = data.draw(st.one_of(st.floats(0, 1e6), st.sampled_from([0.0, 1.0, -1.0, float("nan"), float("inf")])),
                         label="beta")
        external_example(t, p, beta)
    run()


def prop_contingency(examples):
    from hypothesis import given
    st = _strategies()

    @_settings(examples)
    @given(st.data())
    def run(data):
        n = data.draw(st.integers(0, 60), label="n")
        contingency_example(draw_labels(data, n, "labels_true"), draw_labels(data, n, "labels_pred"))
    run()


def _kmeans_args(data):
    st = _strategies()
    n = data.draw(st.integers(0, 60), label="n")
    d = data.draw(st.integers(0, 8), label="d")
    x = draw_x(data, n, d)
    k = data.draw(st.one_of(st.integers(-1, 5), st.integers(1, 64)), label="k")
    init = data.draw(st.sampled_from(["k-means++", "random"]), label="init")
    n_init = data.draw(st.integers(1, 3), label="n_init")
    max_iter = data.draw(st.sampled_from([1, 2, 10, 300]), label="max_iter")
    tol = data.draw(st.sampled_from([0.0, 1e-4, 1.0]), label="tol")
    seed = data.draw(st.integers(0, 2**63 - 1), label="seed")
    return x, k, init, n_init, max_iter, tol, seed


def prop_kmeans(examples):
    from hypothesis import given
    st = _strategies()

    @_settings(examples)
    @given(st.data())
    def run(data):
        kmeans_example(*_kmeans_args(data))
    run()


PROPERTIES = {f.__name__: f for f in (prop_internal, prop_external, prop_contingency, prop_kmeans)}


def _worker(name, examples, last_path):
    global _LAST_FILE
    import warnings

    import numpy as np
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    _LAST_FILE = open(last_path, "w") if last_path else None
    PROPERTIES[name](examples)
    print(f"examples={STATS['examples']} lamina_errors={STATS['errors']} results={STATS['results']}")
    if VIOLATIONS:
        print(f"{len(VIOLATIONS)} kind(s) of violation:")
        for kind, (_size, detail, example) in sorted(VIOLATIONS.items()):
            print(f"\n=== {kind}\n    got: {detail}\n    smallest example:\n" +
                  "\n".join("      " + line for line in example.splitlines()))
        sys.exit(1)
    print("OK")


# ==================================================================================================
# pytest side
# ==================================================================================================

def run_property(name, examples=EXAMPLES, timeout=300):
    with tempfile.TemporaryDirectory(prefix="lamina_prop_") as tmp:
        last = Path(tmp) / "last_example.txt"
        rc, out, err = run_python([Path(__file__).resolve(), name, examples, last], timeout=timeout, cwd=tmp)
        last_example = last.read_text() if last.exists() else "(none)"
    if rc is None:
        how = f"timed out after {timeout} s"
    elif rc < 0:
        try:
            how = f"CRASHED: killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            how = f"CRASHED: killed by signal {-rc}"
    else:
        how = f"exit status {rc}"
    report = f"{name}: {how}\n--- stdout ---\n{out[-12000:]}\n--- stderr ---\n{err[-4000:]}"
    if rc is None or rc < 0:
        report += f"\n--- example running when the worker died ---\n{last_example}"
    return rc, out, report


if __name__ == "__main__":
    _worker(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else EXAMPLES,
            sys.argv[3] if len(sys.argv) > 3 else None)
    sys.exit(0)

import pytest  # noqa: E402


@pytest.mark.parametrize("name", list(PROPERTIES))
def test_property(name):
    rc, out, report = run_property(name)
    assert rc == 0 and "OK" in out.splitlines()[-1:], report
