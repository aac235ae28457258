"""A/B of Lamina builds: silhouette_score on bench_metrics' data (make_blobs, 10 centers, cluster_std 10,
random_state 0, float32), each library (LAMINA_LIBRARY) and scikit-learn in a fresh subprocess, alternated
round by round so that they share the machine's load; prints every run and best/median per library.

    PYTHONPATH=bindings/python python3 benchmarks/bench_silhouette_ab.py 20000 768 3 /path/old/liblamina.so /path/new/liblamina.so
"""
import json, os, subprocess, sys, time
import numpy as np
from pathlib import Path
TMP = Path(os.environ.get("TMPDIR", "/tmp"))
X_PATH, Y_PATH = str(TMP / "lamina_sil_ab_x.npy"), str(TMP / "lamina_sil_ab_y.npy")
n, d, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
libs = sys.argv[4:]
if os.environ.get("CHILD"):
    import lamina.metrics as LM
    X = np.load(X_PATH); y = np.load(Y_PATH)
    if os.environ["CHILD"] == "sklearn":
        from sklearn.metrics import silhouette_score as f
    else:
        f = LM.silhouette_score
    f(X[:300], y[:300])
    t0 = time.perf_counter(); v = float(f(X, y)); t = time.perf_counter() - t0
    print(json.dumps([t, v, os.getloadavg()[0]])); sys.exit()
from sklearn.datasets import make_blobs
X, y = make_blobs(n_samples=n, n_features=d, centers=10, cluster_std=10.0, random_state=0)
np.save(X_PATH, np.ascontiguousarray(X, dtype=np.float32)); np.save(Y_PATH, y)
res = {k: [] for k in libs + ["sklearn"]}
for r in range(rounds):
    for k in libs + ["sklearn"]:
        env = dict(os.environ, CHILD="sklearn" if k == "sklearn" else "lamina", PYTHONPATH=str(Path(__file__).resolve().parents[1] / "bindings" / "python"))
        if k != "sklearn": env["LAMINA_LIBRARY"] = k
        out = subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env, capture_output=True, text=True)
        res[k].append(json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else out.stderr[-500:])
        print(k, res[k][-1], flush=True)
for k, v in res.items():
    ts = [a[0] for a in v]
    print(f"{k}: best {min(ts):.3f} s, median {sorted(ts)[len(ts)//2]:.3f} s, value {v[0][1]!r}")
