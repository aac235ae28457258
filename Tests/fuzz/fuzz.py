#!/usr/bin/env python3
"""Mutation fuzzer for Lamina's file loaders (`make fuzz`; not part of `make test`).

Seeds (written fresh into the work directory): small HDF5 files as h5py writes them (contiguous,
chunked, chunked + gzip/shuffle/fletcher32, float16, extensible, int32/int64 labels), SAEs saved in
SAELens' and sparsify's formats (safetensors + cfg.json) and training checkpoints. Each round mutates
one seed (bit flips and byte overwrites biased towards the metadata, 8-byte fields set to huge values,
truncation, JSON fields set to hostile values or removed) and runs Lamina on it in a subprocess:

  h5   dataset_info, read_activations, read_labels and an SAE fit on the file (cancelled after a few
       steps by the progress callback)
  sae  lamina.sae.load, then encode/reconstruct when the shapes are small
  ckpt lamina.sae.load_checkpoint, then fit(resume=True) on a small array

The child runs under RLIMIT_AS (FUZZ_MEMORY_GIB, 4 by default). Outcomes: ok, lamina_error (a
LaminaError: the expected answer to a bad file), python_error (any other exception: a bug), crash
(killed by a signal), hang (over FUZZ_TIMEOUT seconds). Crashes, hangs and python errors are saved to
FUZZ_OUT (the input, plus a .json with the outcome, stderr and, for crashes, a gdb backtrace naming the
library that crashed). Usage: fuzz.py [--seconds S] [--out DIR] [--jobs J] [--seed N] [--kinds h5,sae,ckpt]
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PYPATH = str(REPO / "bindings" / "python")

# ---------------------------------------------------------------------------------------------- child


def child(kind: str, path: str) -> int:
    """Runs Lamina on one input. Exit 0: every call returned or raised a LaminaError; 5: some other
    exception (printed). Crashes and hangs are seen by the parent."""
    import resource
    gib = float(os.environ.get("FUZZ_MEMORY_GIB", "4"))
    if gib > 0:
        limit = int(gib * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.insert(0, PYPATH)
    import numpy as np
    import lamina
    from lamina import io, sae

    errors = []

    def attempt(name, fn):
        try:
            return fn()
        except lamina.CancelledError:
            pass  # the progress callback's own stop
        except lamina.LaminaError as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
        except BaseException as exc:  # noqa: BLE001 - any other exception is a finding
            import traceback
            print(f"NON-LAMINA EXCEPTION in {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc()
            sys.exit(5)
        return None

    rng = np.random.default_rng(0)
    if kind == "h5":
        info = attempt("dataset_info", lambda: io.dataset_info(path, "x"))
        attempt("read_activations", lambda: io.read_activations(path, "x"))
        attempt("read_activations[2:5]", lambda: io.read_activations(path, "x", start=2, stop=5))
        attempt("read_labels", lambda: io.read_labels(path, "y"))
        attempt("dataset_info(y)", lambda: io.dataset_info(path, "y"))
        d = info[0][1] if info and len(info[0]) == 2 and 0 < info[0][1] <= 4096 else 16
        steps = [0]

        def stop(_):
            steps[0] += 1
            return steps[0] >= 3 or None  # True stops (False would warn)

        attempt("sae.fit(path)", lambda: sae.SparseAutoencoder(d, 2 * d, k=2, batch_size=8, random_state=0).fit(
            path, dataset="x", callback=stop))
    elif kind == "sae":
        model = attempt("sae.load", lambda: sae.load(path))
        if model is not None and model.d_in * model.n_latents <= 1 << 22:
            X = rng.standard_normal((8, model.d_in)).astype(np.float32)
            attempt("encode", lambda: model.encode(X))
            attempt("reconstruct", lambda: model.reconstruct(X))
    elif kind == "ckpt":
        model = attempt("sae.load_checkpoint", lambda: sae.load_checkpoint(path))
        if model is not None and model.d_in <= 4096 and model.d_in * model.n_latents <= 1 << 22:
            X = rng.standard_normal((64, model.d_in)).astype(np.float32)
            attempt("fit(resume)", lambda: model.fit(X, epochs=2, resume=True))
            attempt("encode", lambda: model.encode(X[:4]))
    else:
        raise SystemExit(f"unknown kind {kind}")
    for e in errors:
        print(e, file=sys.stderr)
    return 0


# --------------------------------------------------------------------------------------------- seeds


def make_seeds(work: Path) -> dict[str, list[Path]]:
    import h5py
    import numpy as np
    rng = np.random.default_rng(1)
    seeds = {"h5": [], "sae": [], "ckpt": []}
    X = rng.standard_normal((64, 16)).astype(np.float32)
    y = rng.integers(0, 4, 64)
    variants = {
        "contiguous": dict(),
        "chunked": dict(chunks=(16, 16)),
        "chunked_rows": dict(chunks=(8, 4)),
        "gzip": dict(chunks=(16, 16), compression="gzip"),
        "shuffle_fletcher": dict(chunks=(32, 16), shuffle=True, fletcher32=True),
        "extensible": dict(chunks=(16, 16), maxshape=(None, 16)),
    }
    for name, kw in variants.items():
        p = work / f"seed_{name}.h5"
        with h5py.File(p, "w", libver="earliest") as f:
            f.create_dataset("x", data=X, **kw)
            f.create_dataset("y", data=y.astype(np.int32), **({"chunks": (16,)} if "chunks" in kw else {}))
        seeds["h5"].append(p)
    p = work / "seed_f16.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=X.astype(np.float16), chunks=(16, 16))
        f.create_dataset("y", data=y.astype(np.int64))
    seeds["h5"].append(p)

    sys.path.insert(0, PYPATH)
    from lamina import sae
    for arch, fmt in (("topk", "saelens"), ("topk", "sparsify"), ("jumprelu", "saelens"), ("relu", "saelens")):
        m = sae.SparseAutoencoder(16, 32, architecture=arch, k=4, batch_size=16, random_state=0)
        m.fit(X, epochs=1)
        d = work / f"seed_sae_{arch}_{fmt}"
        m.save(d, format=fmt)
        seeds["sae"].append(d)
        c = work / f"seed_ckpt_{arch}.ckpt"
        m2 = sae.SparseAutoencoder(16, 32, architecture=arch, k=4, batch_size=16, random_state=0)
        steps = [0]

        def stop(_):
            steps[0] += 1
            return steps[0] >= 2 or None  # True stops (False would warn)

        try:
            m2.fit(X, epochs=2, callback=stop)
        except Exception:  # noqa: BLE001 - the cancellation
            pass
        m2.save_checkpoint(c)
        seeds["ckpt"].append(c)
    return seeds


# ------------------------------------------------------------------------------------------ mutators

INTERESTING8 = [0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x40]
INTERESTING64 = [0, 1, 2**31 - 1, 2**31, 2**32, 2**32 + 7, 2**40, 2**62, 2**63 - 1, 2**64 - 1, 4_200_000, 9_200_000_000_000_000_000]
HOSTILE_JSON = [0, -1, 1, 2**26, 2**31, 2**33, 2**63 - 1, 2**64, -2**63, 1e308, -1e308, 0.5, "x", "", None, True, [], {}, [1, 2]]


def mutate_bytes(data: bytearray, rng: random.Random, meta_end: int) -> bytearray:
    n = len(data)
    if n == 0:
        return data
    hot = max(1, min(n, meta_end))
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        op = rng.random()
        pos = rng.randrange(hot) if rng.random() < 0.85 else rng.randrange(n)
        if op < 0.55:
            data[pos] ^= 1 << rng.randrange(8)
        elif op < 0.75:
            data[pos] = rng.choice(INTERESTING8)
        elif op < 0.92:
            pos -= pos % rng.choice([1, 4, 8])
            v = rng.choice(INTERESTING64)
            width = rng.choice([4, 8])
            chunk = (v & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
            data[pos:pos + width] = chunk[:max(0, n - pos)]
        else:
            del data[rng.randrange(n):]
            break
    return data


def mutate_json(text: bytes, rng: random.Random) -> bytes:
    try:
        obj = json.loads(text)
    except ValueError:
        return bytes(mutate_bytes(bytearray(text), rng, len(text)))
    if not isinstance(obj, dict) or not obj or rng.random() < 0.15:
        return bytes(mutate_bytes(bytearray(text), rng, len(text)))
    paths = []

    def walk(o, trail):
        if isinstance(o, dict):
            for k, v in o.items():
                paths.append(trail + [k])
                walk(v, trail + [k])
        elif isinstance(o, list):
            for i, v in enumerate(o[:8]):
                paths.append(trail + [i])
                walk(v, trail + [i])

    walk(obj, [])
    for _ in range(rng.choice([1, 1, 2])):
        trail = rng.choice(paths)
        parent = obj
        try:
            for k in trail[:-1]:
                parent = parent[k]
            if isinstance(parent, dict) and rng.random() < 0.2:
                parent.pop(trail[-1], None)
            else:
                parent[trail[-1]] = rng.choice(HOSTILE_JSON)
        except (KeyError, IndexError, TypeError):
            pass
    return json.dumps(obj).encode()


def mutate_safetensors(data: bytearray, rng: random.Random) -> bytearray:
    if len(data) >= 8 and rng.random() < 0.6:
        hlen = int.from_bytes(data[:8], "little")
        if 0 < hlen <= len(data) - 8:
            header = bytes(data[8:8 + hlen])
            new = mutate_json(header, rng)
            # Keep the data section's alignment when possible: safetensors pads the header with spaces.
            if len(new) < hlen:
                new = new + b" " * (hlen - len(new))
            if rng.random() < 0.9:
                return bytearray(len(new).to_bytes(8, "little") + new + data[8 + hlen:])
    return mutate_bytes(data, rng, min(len(data), 512))


def mutate(kind: str, seed: Path, dst: Path, rng: random.Random) -> Path:
    if kind == "h5":
        data = bytearray(seed.read_bytes())
        out = dst.with_suffix(".h5")
        out.write_bytes(mutate_bytes(data, rng, 4096 if rng.random() < 0.8 else len(data)))
        return out
    if kind == "ckpt":
        data = bytearray(seed.read_bytes())
        out = dst.with_suffix(".ckpt")
        out.write_bytes(mutate_safetensors(data, rng))
        return out
    out = dst
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(seed, out)
    files = sorted(out.iterdir())
    target = rng.choice(files)
    raw = target.read_bytes()
    if target.suffix == ".json":
        target.write_bytes(mutate_json(raw, rng))
    else:
        target.write_bytes(mutate_safetensors(bytearray(raw), rng))
    return out


# ----------------------------------------------------------------------------------------------- run


def serve() -> int:
    """A fork server: imports Lamina once, then for every "kind<TAB>path" line on stdin forks a child
    that runs `child(kind, path)` with stderr to path + ".err", and answers "status<TAB>code" (status:
    exit, signal or timeout). The parent itself never calls into the library, so each child starts
    from a freshly imported, never-used library (~100x faster than a new interpreter per input)."""
    import resource  # noqa: F401 - imported before the fork
    sys.path.insert(0, PYPATH)
    import numpy  # noqa: F401
    import lamina  # noqa: F401
    timeout = float(os.environ.get("FUZZ_TIMEOUT", "30"))
    for line in sys.stdin:
        kind, path = line.rstrip("\n").split("\t")
        pid = os.fork()
        if pid == 0:
            try:
                fd = os.open(path + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 2)
                code = child(kind, path)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001
                code = 6
            sys.stderr.flush()
            os._exit(code)
        start = time.monotonic()
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() - start > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = None
                break
            time.sleep(0.002)
        if status is None:
            answer = "timeout\t0"
        elif os.WIFSIGNALED(status):
            answer = f"signal\t{os.WTERMSIG(status)}"
        else:
            answer = f"exit\t{os.WEXITSTATUS(status)}"
        sys.stdout.write(answer + "\n")
        sys.stdout.flush()
    return 0


class Server:
    """One fork server per job thread (restarted if it dies)."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.proc = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=PYPATH, OPENBLAS_NUM_THREADS="1", FUZZ_TIMEOUT=str(self.timeout))
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, kind: str, path: Path) -> tuple[str, int | None, str]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        self.proc.stdin.write(f"{kind}\t{path}\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        errfile = Path(str(path) + ".err")
        err = errfile.read_text(errors="replace")[-4000:] if errfile.exists() else ""
        errfile.unlink(missing_ok=True)
        if not answer:
            self.proc = None
            return "crash", None, "fork server died: " + err
        status, code = answer.split("\t")
        code = int(code)
        if status == "timeout":
            return "hang", None, err
        if status == "signal":
            return "crash", -code, err
        if code == 5 or code == 6:
            return "python_error", code, err
        if code != 0:
            return "crash", code, err
        return ("lamina_error" if err.strip() else "ok"), 0, err

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def run_child(kind: str, path: Path, timeout: float) -> tuple[str, int | None, str]:
    env = dict(os.environ, PYTHONPATH=PYPATH, OPENBLAS_NUM_THREADS="1", PYTHONFAULTHANDLER="0")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--run", kind, str(path)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if exc.stderr else ""
        return "hang", None, err[-4000:]
    err = proc.stderr.decode(errors="replace")[-4000:]
    if proc.returncode < 0:
        return "crash", proc.returncode, err
    if proc.returncode == 5:
        return "python_error", 5, err
    if proc.returncode != 0:
        return "crash", proc.returncode, err  # e.g. a fatal runtime error reported as an exit code
    return ("lamina_error" if err.strip() else "ok"), 0, err


def backtrace(kind: str, path: Path) -> str:
    """A gdb backtrace of a crashing input (top frames), to tell libhdf5's own crashes from Lamina's."""
    if not shutil.which("gdb"):
        return ""
    env = dict(os.environ, PYTHONPATH=PYPATH, OPENBLAS_NUM_THREADS="1")
    cmd = ["gdb", "-q", "-batch", "-ex", "run", "-ex", "bt 25", "--args", sys.executable,
           str(Path(__file__).resolve()), "--run", kind, str(path)]
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, timeout=120).stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return "(gdb timed out)"
    lines = [l for l in out.splitlines() if l.startswith("#") or "signal" in l.lower()]
    return "\n".join(lines[:30])


def crash_site(bt: str) -> str:
    frames = [l for l in bt.splitlines() if l.startswith("#")]
    for l in frames:
        if "libhdf5" in l or " H5" in l:
            return "libhdf5"
        if "liblamina" in l or "$s" in l or "lamina_" in l:
            return "lamina"
    return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", nargs=2, metavar=("KIND", "PATH"))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "120")))
    ap.add_argument("--out", default=os.environ.get("FUZZ_OUT", "fuzz-out"))
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("FUZZ_JOBS", "2")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", str(int(time.time())))))
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("FUZZ_TIMEOUT", "30")))
    ap.add_argument("--kinds", default=os.environ.get("FUZZ_KINDS", "h5,sae,ckpt"))
    ap.add_argument("--no-backtrace", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-fork", action="store_true", help="a fresh interpreter per input (slower)")
    args = ap.parse_args()
    if args.run:
        return child(*args.run)
    if args.serve:
        return serve()

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in args.kinds.split(",") if k]
    work = Path(tempfile.mkdtemp(prefix="lamina-fuzz-"))
    counts = collections.Counter()
    by_kind = collections.defaultdict(collections.Counter)
    saved = 0
    try:
        seeds = make_seeds(work)
        master = random.Random(args.seed)
        deadline = time.monotonic() + args.seconds
        print(f"fuzzing {', '.join(kinds)} for {args.seconds:.0f} s with {args.jobs} jobs (seed {args.seed}); "
              f"findings go to {out}", flush=True)
        index = 0

        import threading
        local = threading.local()
        servers = []

        def one(i: int, seed_value: int):
            rng = random.Random(seed_value)
            kind = rng.choice(kinds)
            src = rng.choice(seeds[kind])
            path = mutate(kind, src, work / f"case{i % (4 * max(1, args.jobs))}_{i}", rng)
            if args.no_fork:
                outcome, code, err = run_child(kind, path, args.timeout)
            else:
                if not hasattr(local, "server"):
                    local.server = Server(args.timeout)
                    servers.append(local.server)
                outcome, code, err = local.server.run(kind, path)
                if outcome in ("crash", "hang", "python_error"):  # confirm in a fresh interpreter
                    outcome2, code2, err2 = run_child(kind, path, args.timeout)
                    if outcome2 in ("crash", "hang", "python_error"):
                        outcome, code, err = outcome2, code2, err2
            return i, seed_value, kind, src, path, outcome, code, err

        with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            pending = set()
            while True:
                while len(pending) < args.jobs and time.monotonic() < deadline:
                    pending.add(pool.submit(one, index, master.getrandbits(63)))
                    index += 1
                if not pending:
                    break
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    i, seed_value, kind, src, path, outcome, code, err = fut.result()
                    counts[outcome] += 1
                    by_kind[kind][outcome] += 1
                    if outcome in ("crash", "hang", "python_error"):
                        name = f"{outcome}_{kind}_{seed_value:016x}"
                        dest = out / (name + (path.suffix if path.is_file() else ""))
                        if path.is_dir():
                            shutil.copytree(path, dest, dirs_exist_ok=True)
                        else:
                            shutil.copyfile(path, dest)
                        record = {"kind": kind, "outcome": outcome, "returncode": code, "seed": seed_value,
                                  "from": src.name, "stderr": err}
                        if outcome == "crash" and not args.no_backtrace:
                            record["backtrace"] = backtrace(kind, dest)
                            record["site"] = crash_site(record["backtrace"])
                        (out / (name + ".json")).write_text(json.dumps(record, indent=1))
                        saved += 1
                        sig = f" signal {signal.Signals(-code).name}" if code and code < 0 else ""
                        print(f"  {outcome}{sig} ({kind}, from {src.name}) -> {dest.name}"
                              + (f" [{record.get('site')}]" if "site" in record else ""), flush=True)
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
    finally:
        for server in locals().get("servers", []):
            server.close()
        shutil.rmtree(work, ignore_errors=True)
    total = sum(counts.values())
    print(f"{total} inputs: " + ", ".join(f"{k} {counts[k]}" for k in ("ok", "lamina_error", "python_error", "crash", "hang")))
    for kind in kinds:
        c = by_kind[kind]
        print(f"  {kind}: " + ", ".join(f"{k} {c[k]}" for k in ("ok", "lamina_error", "python_error", "crash", "hang")))
    print(f"{saved} reproducers saved in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
