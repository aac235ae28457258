"""The ABI contract: include/lamina.h, the exported symbols of the release liblamina.so and the ctypes
declarations of lamina._native must agree, and the release library must be self-contained.

- every function declared in the header is exported, and nothing else is (only GLOBAL dynamic symbols
  count: `nm -D` alone also lists the LOCAL Swift symbols, so `--defined-only --extern-only` is used);
- lamina._native.SIGNATURES declares exactly the header's functions, in header order;
- SONAME is liblamina.so.0, no RUNPATH/RPATH points into the Swift toolchain, NEEDED has no Swift
  runtime, Foundation or libdispatch (the Swift runtime is linked statically);
- LAMINA_VERSION_NUMBER in the header equals lamina_version_number();
- status codes and the params struct layout agree between the header and the binding.
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import lamina
from lamina import _native
from lamina import errors

REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "lamina.h"
RELEASE_LIB = REPO / ".build" / "release" / "liblamina.so"


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def header_functions() -> list[str]:
    """Names of the functions declared in lamina.h, in order (comments removed first: they mention
    calls such as lamina_last_error() that are not declarations)."""
    code = _strip_comments(HEADER.read_text())
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    names = re.findall(r"\b(lamina_\w+)\s*\(", code)
    seen, ordered = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            ordered.append(n)
    return ordered


def header_defines() -> dict[str, str]:
    return dict(re.findall(r"^#define\s+(LAMINA_\w+)\s+(.+?)\s*(?:/\*.*)?$", HEADER.read_text(), flags=re.M))


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


@pytest.fixture(scope="module")
def release_lib() -> Path:
    assert RELEASE_LIB.exists(), f"{RELEASE_LIB} is missing; run `make build`"
    return RELEASE_LIB


@pytest.fixture(scope="module")
def exported(release_lib) -> dict[str, str]:
    out = subprocess.run([_tool("nm"), "-D", "--defined-only", "--extern-only", str(release_lib)],
                         check=True, capture_output=True, text=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            symbols[parts[2].split("@")[0]] = parts[1]
        elif len(parts) == 2:  # undefined-style line without address (should not happen with --defined-only)
            symbols[parts[1].split("@")[0]] = parts[0]
    return symbols


@pytest.fixture(scope="module")
def dynamic_section(release_lib) -> str:
    return subprocess.run([_tool("readelf"), "-d", str(release_lib)], check=True, capture_output=True,
                          text=True).stdout


def test_header_parses_to_a_plausible_function_list():
    names = header_functions()
    assert len(names) >= 30
    for expected in ("lamina_version_number", "lamina_last_error", "lamina_silhouette_score", "lamina_kmeans_fit",
                     "lamina_h5_read_i32"):
        assert expected in names
    # nothing from comments or macros
    assert all(n == n.lower() for n in names)


def test_every_declared_function_is_exported(exported):
    missing = [n for n in header_functions() if n not in exported]
    assert not missing, f"declared in lamina.h but not exported by {RELEASE_LIB.name}: {missing}"


def test_declared_functions_are_code(exported):
    not_code = {n: exported[n] for n in header_functions() if exported.get(n) not in ("T", "t", "i")}
    assert not not_code, f"exported but not as functions: {not_code}"


def test_nothing_else_is_exported(exported):
    extra = sorted(set(exported) - set(header_functions()))
    assert not extra, (f"{len(extra)} exported symbols are not declared in lamina.h (first 20): {extra[:20]}")


def test_native_signatures_match_header():
    declared = header_functions()
    sig = list(_native.SIGNATURES)
    assert set(sig) == set(declared), {"only in header": sorted(set(declared) - set(sig)),
                                       "only in _native": sorted(set(sig) - set(declared))}
    assert sig == declared, "lamina._native.SIGNATURES is not in header order"


def test_native_signature_arity_matches_header():
    code = _strip_comments(HEADER.read_text())
    for name, (_restype, argtypes) in _native.SIGNATURES.items():
        m = re.search(r"\b" + name + r"\s*\(([^)]*)\)", code)
        assert m, name
        params = m.group(1).strip()
        count = 0 if params in ("", "void") else params.count(",") + 1
        assert count == len(argtypes), f"{name}: header has {count} parameters, _native declares {len(argtypes)}"


def test_soname(dynamic_section):
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dynamic_section)
    assert m, "no SONAME:\n" + dynamic_section
    assert m.group(1) == "liblamina.so.0"


def _swift_toolchain_dirs():
    dirs = []
    swift = shutil.which("swift")
    if swift:
        real = Path(swift).resolve()
        dirs.append(str(real.parent.parent))  # <toolchain>/usr
        dirs.append(str(real.parent))
    return dirs


def test_no_runpath_into_the_swift_toolchain(dynamic_section):
    paths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", dynamic_section)
    entries = [p for group in paths for p in group.split(":") if p]
    toolchain = _swift_toolchain_dirs()
    bad = [p for p in entries if "swift" in p.lower() or any(t and p.startswith(t) for t in toolchain)
           or "toolchain" in p.lower()]
    assert not bad, f"RUNPATH/RPATH entries pointing into the Swift toolchain: {bad}"


def test_needed_has_no_swift_runtime(dynamic_section):
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic_section)
    assert needed, "no NEEDED entries parsed:\n" + dynamic_section
    bad = [lib for lib in needed
           if re.match(r"(libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libXCTest)", lib)]
    assert not bad, f"the release library needs Swift runtime libraries (not self-contained): {bad}; NEEDED={needed}"


def test_version_number_matches_header():
    defines = header_defines()
    major, minor, patch = (int(defines[f"LAMINA_VERSION_{k}"]) for k in ("MAJOR", "MINOR", "PATCH"))
    number = major * 10000 + minor * 100 + patch
    assert _native.lib.lamina_version_number() == number
    assert _native.lib.lamina_version_string().decode() == f"{major}.{minor}.{patch}"
    assert lamina.__version__ == f"{major}.{minor}.{patch}"
    assert _native.EXPECTED_MAJOR == major


def test_loaded_library_is_the_release_build(release_lib):
    # what the binding loaded (unless LAMINA_LIBRARY overrides it) exports the same functions
    if os.environ.get("LAMINA_LIBRARY"):
        pytest.skip("LAMINA_LIBRARY overrides the library")
    for name in header_functions():
        assert hasattr(_native.lib, name)


def test_status_codes_match_header():
    defines = header_defines()
    codes = {k[len("LAMINA_"):]: int(v) for k, v in defines.items()
             if k == "LAMINA_OK" or k.startswith("LAMINA_ERR_")}
    assert codes["OK"] == 0
    expected_classes = {"INVALID_ARGUMENT": errors.InvalidArgumentError, "SHAPE_MISMATCH": errors.ShapeMismatchError,
                        "NON_FINITE": errors.NonFiniteError, "IO": errors.LaminaIOError, "FORMAT": errors.FormatError,
                        "OUT_OF_MEMORY": errors.LaminaMemoryError, "CANCELLED": errors.CancelledError,
                        "INTERNAL": errors.InternalError}
    for name, cls in expected_classes.items():
        assert cls.status == codes[f"ERR_{name}"], name
        assert type(errors.error_for_status(codes[f"ERR_{name}"], "m")) is cls
    assert set(codes) == {"OK"} | {f"ERR_{n}" for n in expected_classes}


def test_kmeans_params_layout_matches_header(tmp_path):
    """sizeof/offsetof of lamina_kmeans_params compiled against the header equal the ctypes mirror."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "layout.c"
    src.write_text(
        '#include <stdio.h>\n#include <stddef.h>\n#include "lamina.h"\n'
        "int main(void) { printf(\"%zu %zu %zu %zu %zu %zu %zu\\n\", sizeof(lamina_kmeans_params),\n"
        "  offsetof(lamina_kmeans_params, n_clusters), offsetof(lamina_kmeans_params, init),\n"
        "  offsetof(lamina_kmeans_params, n_init), offsetof(lamina_kmeans_params, max_iter),\n"
        "  offsetof(lamina_kmeans_params, tol), offsetof(lamina_kmeans_params, seed)); return 0; }\n")
    exe = tmp_path / "layout"
    subprocess.run([cc, "-std=c11", "-I", str(HEADER.parent), str(src), "-o", str(exe)], check=True)
    got = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()]
    P = _native.KMeansParams
    want = [ctypes.sizeof(P)] + [getattr(P, f).offset for f in
                                 ("n_clusters", "init", "n_init", "max_iter", "tol", "seed")]
    assert got == want
