"""A store writer for test_store.py's SIGKILL test: appends batch i (content a function of (seed, i))
to the store argv[1] forever, printing "committed i" after each append returns."""
import sys

import numpy as np

from lamina.io import ActivationStore


def batch(seed, i):
    rng = np.random.default_rng([seed, i])
    rows = int(rng.integers(1, 300))
    return {"resid": rng.standard_normal((rows, 96)).astype(np.float16),
            "mlp": rng.standard_normal((rows, 40)).astype(np.float16)}


if __name__ == "__main__":
    path, seed, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with ActivationStore(path, compression=int(sys.argv[4])) as store:
        i = start
        while True:
            store.append(batch(seed, i))
            print(f"committed {i}", flush=True)
            i += 1
