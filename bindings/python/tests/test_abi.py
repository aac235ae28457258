"""The ABI contract: include/lamina.h, the exported symbols of the release liblamina.so and the ctypes
declarations of lamina._native must agree, and the release library must be self-contained.

- every function declared in the header is exported, and nothing else is (only GLOBAL dynamic symbols
  count: `nm -D` alone also lists the LOCAL Swift symbols, so `--defined-only --extern-only` is used);
- lamina._native.SIGNATURES declares exactly the header's functions, in header order;
- SONAME is liblamina.so.0, no RUNPATH/RPATH points into the Swift toolchain, NEEDED has no Swift
  runtime, Foundation or libdispatch (the Swift runtime is linked statically);
- LAMINA_VERSION_NUMBER in the header equals lamina_version_number();
- every `#define LAMINA_*` has its mirror in lamina._native with the same value, and the option tables of
  the modules (distances, linkages, diameters, Xie-Beni separations, averages, k-means inits, dtypes,
  class weights, structural kinds, SAE architectures / decays / b_dec inits / formats, statuses) map to
  the header's values;
- every struct of the header has a ctypes mirror with the same fields, offsets and size (measured by a
  small C program compiled against the header);
- the stable structs keep the layout recorded in abi_layout.json: a recorded field never moves, changes
  type or disappears; an appended field must be recorded (`python3 bindings/python/tests/test_abi.py
  --record-layout`) -- the append-only rule of the header's stability policy;
- the header reads as one spec: every function has a doc comment, every section banner says whether
  it is stable or experimental, no banner names an issue.

Run as a script with --record-layout to rewrite abi_layout.json from the current header.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import sys
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "lamina.h"
RELEASE_LIB = REPO / ".build" / "release" / "liblamina.so"
LAYOUT_RECORD = Path(__file__).resolve().parent / "abi_layout.json"

if __name__ == "__main__":  # script use (--record-layout) needs the binding on the path
    sys.path.insert(0, str(REPO / "bindings" / "python"))

import pytest  # noqa: E402

import lamina  # noqa: E402
from lamina import _native  # noqa: E402
from lamina import errors  # noqa: E402


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
    return dict(re.findall(r"^#define[ \t]+(LAMINA_\w+)[ \t]+([^\n]+?)[ \t]*(?:/\*[^\n]*)?$", HEADER.read_text(),
                           flags=re.M))


def header_define_values() -> dict[str, int]:
    """Every `#define LAMINA_* <value>` of the header, evaluated (values are integer expressions over
    literals and earlier macros)."""
    values = {}
    for name, expr in header_defines().items():
        code = re.sub(r"\bLAMINA_\w+\b", lambda m: f"values[{m.group(0)!r}]", expr)
        assert re.fullmatch(r"[\s\d()+*/\-]*(values\['LAMINA_\w+'\][\s\d()+*/\-]*)*", code), (name, expr)
        values[name] = int(eval(code, {"values": values}))  # noqa: S307 - checked to be integer arithmetic
    return values


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



# -- every #define LAMINA_* against the binding ---------------------------------------------------------

def test_every_define_is_mirrored_in_native():
    header = header_define_values()
    assert len(header) >= 50
    mirrored = {name: getattr(_native, name) for name in dir(_native) if name.startswith("LAMINA_")}
    assert set(mirrored) == set(header), {"only in the header": sorted(set(header) - set(mirrored)),
                                          "only in _native": sorted(set(mirrored) - set(header))}
    wrong = {name: (header[name], mirrored[name]) for name in header if header[name] != mirrored[name]}
    assert not wrong, f"(header, _native) values differ: {wrong}"


def _table(module, attribute):
    """A module's option table; the failure says where the test looks, for whoever moves it."""
    obj = getattr(lamina, module, None) or __import__(f"lamina.{module}", fromlist=["_"])
    assert hasattr(obj, attribute), f"lamina.{module}.{attribute} (an option table this test checks) is gone"
    return getattr(obj, attribute)


def _key_to_suffix(key) -> str:
    return str(key).upper().replace("K-MEANS++", "PLUSPLUS").replace("-", "_")


def header_enums() -> dict[str, dict[str, int]]:
    """The header's enums: each `typedef int32_t lamina_X;` with the `#define LAMINA_*` lines that follow
    it (blank lines allowed), as {typedef: {macro: value}}."""
    values = header_define_values()
    enums, current = {}, None
    for line in HEADER.read_text().splitlines():
        m = re.match(r"typedef int32_t (lamina_\w+);", line)
        if m:
            current = enums.setdefault(m.group(1), {})
            continue
        d = re.match(r"#define (LAMINA_\w+)[ \t]", line)
        if d and current is not None:
            current[d.group(1)] = values[d.group(1)]
        elif line.strip():
            current = None
    return {name: macros for name, macros in enums.items() if macros}


def _family_prefix(macros) -> str:
    """LAMINA_SAE_FORMAT_ for LAMINA_SAE_FORMAT_SAELENS and LAMINA_SAE_FORMAT_SPARSIFY."""
    prefix = os.path.commonprefix(list(macros))
    return prefix[:prefix.rfind("_") + 1]


# enum typedef -> (module, option table, aliases {key: macro suffix}, suffixes the table does not list
# because they are reached another way). A table maps a Python option to the C value.
OPTION_TABLES = {
    "lamina_distance": ("metrics", "_DISTANCES", {"l2": "EUCLIDEAN", "l1": "MANHATTAN", "cityblock": "MANHATTAN"}, {}),
    "lamina_linkage": ("metrics", "_LINKAGES", {}, {}),
    "lamina_diameter": ("metrics", "_DIAMETERS", {}, {}),
    "lamina_xie_beni_separation": ("metrics", "_XIE_BENI", {}, {}),
    "lamina_average_method": ("metrics", "_AVERAGES", {}, {}),
    "lamina_kmeans_init": ("cluster", "_INITS", {}, {"GIVEN": "an array passed as init="}),
    "lamina_class_weight": ("probe", "_CLASS_WEIGHT", {None: "NONE"}, {"GIVEN": "a dict passed as class_weight="}),
    "lamina_structural_probe_kind": ("structural", "_KINDS", {}, {}),
    "lamina_sae_architecture": ("sae", "_ARCH", {}, {}),
    "lamina_sae_decay": ("sae", "_DECAY", {}, {}),
    "lamina_sae_bias_init": ("sae", "_BDEC", {}, {}),
    "lamina_sae_weight_init": ("sae", "_INIT", {}, {}),
    "lamina_sae_format": ("sae", "_FORMATS", {}, {}),
    "lamina_rdm_metric": ("geometry", "_RDM_METRICS", {}, {}),
    "lamina_rsa_method": ("geometry", "_RSA_METHODS", {}, {}),
    "lamina_bin_range": ("geometry", "_BIN_RANGES", {}, {}),
    "lamina_aqi_variant": ("audit", "_VARIANTS", {}, {}),
    "lamina_aqi_pooling": ("audit", "_POOLINGS", {}, {}),
    "lamina_vlsae_modality": ("sae", "_MODALITIES", {}, {}),
}
# checked by their own tests: statuses (test_status_codes_match_header), dtypes (test_dtype_tables_match_header)
OTHER_ENUM_TESTS = {"lamina_status", "lamina_dtype"}


def test_every_enum_has_a_python_table():
    enums = header_enums()
    assert {"lamina_distance", "lamina_sae_format", "lamina_status"} <= set(enums)
    unchecked = sorted(set(enums) - set(OPTION_TABLES) - OTHER_ENUM_TESTS)
    assert not unchecked, (f"enums of the header without a Python option table in this test: {unchecked}; add the "
                           "module's table (option -> LAMINA_* value) to OPTION_TABLES")
    assert not set(OPTION_TABLES) - set(enums), sorted(set(OPTION_TABLES) - set(enums))


@pytest.mark.parametrize("enum", sorted(OPTION_TABLES))
def test_option_table_matches_header(enum):
    module, attribute, aliases, elsewhere = OPTION_TABLES[enum]
    macros = header_enums()[enum]
    prefix = _family_prefix(macros)
    family = {name[len(prefix):]: value for name, value in macros.items()}
    table = _table(module, attribute)
    reached = set()
    for key, value in table.items():
        suffix = aliases.get(key, _key_to_suffix(key))
        assert suffix in family, f"lamina.{module}.{attribute}[{key!r}]: no {prefix}{suffix} in the header"
        assert value == family[suffix], \
            f"lamina.{module}.{attribute}[{key!r}] is {value}; {prefix}{suffix} is {family[suffix]}"
        reached.add(suffix)
    missing = set(family) - reached - set(elsewhere)
    assert not missing, f"{sorted(prefix + m for m in missing)} have no entry in lamina.{module}.{attribute}"


def test_dtype_tables_match_header():
    header = header_define_values()
    dtypes = _table("io", "DTYPES")  # code -> name, as lamina.io.dataset_info reports it
    assert {code: f"LAMINA_DTYPE_{name.upper()}" for code, name in dtypes.items()} == \
        {v: k for k, v in header.items() if k.startswith("LAMINA_DTYPE_")}
    sae = lamina.sae
    assert (sae._DTYPE_F16, sae._DTYPE_BF16, sae._DTYPE_F32) == (
        header["LAMINA_DTYPE_FLOAT16"], header["LAMINA_DTYPE_BFLOAT16"], header["LAMINA_DTYPE_FLOAT32"])


# -- struct layouts -----------------------------------------------------------------------------------

# header struct -> its ctypes mirror in lamina._native
MIRRORS = {
    "lamina_progress": "Progress",
    "lamina_kmeans_params": "KMeansParams",
    "lamina_logistic_probe_params": "LogisticParams",
    "lamina_structural_probe_params": "StructuralProbeParams",
    "lamina_ast_trees": "ASTTrees",
    "lamina_ast_chains": "ASTChains",
    "lamina_ast_probe_params": "ASTProbeParams",
    "lamina_sae_params": "SAEParams",
    "lamina_sae_metrics": "SAEMetrics",
    "lamina_store_params": "StoreParams",
    "lamina_vlsae_params": "VLSAEParams",
}


def header_structs() -> dict[str, dict]:
    """Every `typedef struct name { ... } name;` of the header: its fields (name, C type) in order and
    whether its section is stable (the banner above it says [stable] or [experimental])."""
    text = HEADER.read_text()
    banners = [(m.start(), m.group(1)) for m in re.finditer(r"^ \* \d+\. .*\[(stable|experimental)\]$", text, flags=re.M)]
    structs = {}
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} (\w+);", text, flags=re.S):
        name, body, alias = m.groups()
        assert name == alias, name
        stability = [kind for start, kind in banners if start < m.start()][-1]
        fields = []
        for decl in _strip_comments(body).split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            first, *rest = [part.strip() for part in decl.split(",")]
            fm = re.fullmatch(r"(.*?[\s*])(\w+)(\[\w+\])?", first)   # a fixed array: int64_t name[N]
            assert fm, (name, decl)
            ctype = " ".join(fm.group(1).replace("*", " * ").split()).replace(" *", "*") + (fm.group(3) or "")
            fields.append((fm.group(2), ctype))
            for extra in rest:
                assert re.fullmatch(r"\w+", extra), (name, decl)
                fields.append((extra, ctype))
        structs[name] = {"stable": stability == "stable", "fields": fields}
    return structs


def measured_layouts(workdir: Path) -> dict[str, dict]:
    """sizeof, and offsetof / sizeof of every field, of every header struct, from a C program compiled
    against the header."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    structs = header_structs()
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "lamina.h"', "int main(void) {"]
    for name, info in structs.items():
        lines.append(f'    printf("struct {name} %zu\\n", sizeof({name}));')
        for field, _ in info["fields"]:
            lines.append(f'    printf("field {name} {field} %zu %zu\\n", offsetof({name}, {field}), '
                         f"sizeof((({name}*)0)->{field}));")
    lines += ["    return 0;", "}"]
    src = workdir / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = workdir / "layout"
    subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I", str(HEADER.parent), str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    layouts = {name: {"stable": info["stable"], "size": None, "fields": []} for name, info in structs.items()}
    types = {name: dict(info["fields"]) for name, info in structs.items()}
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "struct":
            layouts[parts[1]]["size"] = int(parts[2])
        else:
            _, name, field, offset, size = parts
            layouts[name]["fields"].append([field, types[name][field], int(offset), int(size)])
    return layouts


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    return measured_layouts(tmp_path_factory.mktemp("abi"))


def test_header_structs_parse():
    structs = header_structs()
    assert set(structs) >= {"lamina_kmeans_params", "lamina_sae_params", "lamina_progress"}
    assert dict(structs["lamina_sae_params"]["fields"])["adam_beta2"] == "double"
    assert dict(structs["lamina_progress"]["fields"])["term_names"] == "const char* const*"
    assert structs["lamina_kmeans_params"]["stable"] and not structs["lamina_sae_params"]["stable"]


def test_every_struct_has_a_ctypes_mirror():
    assert set(header_structs()) == set(MIRRORS), "add the new struct's ctypes mirror to _native and to MIRRORS"


@pytest.mark.parametrize("struct", sorted(MIRRORS))
def test_struct_layout_matches_ctypes(struct, layouts):
    mirror = getattr(_native, MIRRORS[struct])
    measured = layouts[struct]
    assert [f for f, *_ in measured["fields"]] == [f for f, *_ in mirror._fields_], \
        f"{struct}: field names/order differ from _native.{MIRRORS[struct]}"
    for field, ctype, offset, size in measured["fields"]:
        got = getattr(mirror, field)
        assert (got.offset, got.size) == (offset, size), \
            f"{struct}.{field} ({ctype}): C offset {offset} size {size}; ctypes offset {got.offset} size {got.size}"
    assert ctypes.sizeof(mirror) == measured["size"], struct


def _record(layouts) -> dict:
    return {name: {"size": info["size"], "fields": info["fields"]} for name, info in sorted(layouts.items())
            if info["stable"]}


def test_stable_struct_layouts_are_append_only(layouts):
    """The header's stability policy: a recorded field of a stable struct never moves, changes type or
    size, or disappears; new fields go at the end. Appending is allowed but must be recorded."""
    record = json.loads(LAYOUT_RECORD.read_text())
    how = (f"if the change is an allowed append (new fields after every recorded one), record it with "
           f"`python3 {Path(__file__).relative_to(REPO)} --record-layout` and commit {LAYOUT_RECORD.name}")
    current = _record(layouts)
    gone = sorted(set(record) - set(current))
    assert not gone, f"stable structs removed (or moved to an experimental section): {gone}; not allowed"
    problems, appended = [], []
    for name, rec in record.items():
        now = {f[0]: f for f in current[name]["fields"]}
        for field, ctype, offset, size in rec["fields"]:
            if field not in now:
                problems.append(f"{name}.{field} was removed or renamed")
            elif now[field][1:] != [ctype, offset, size]:
                problems.append(f"{name}.{field} was {ctype} at offset {offset} (size {size}); it is now "
                                f"{now[field][1]} at offset {now[field][2]} (size {now[field][3]})")
        recorded = {f[0] for f in rec["fields"]}
        for field, ctype, offset, size in current[name]["fields"]:
            if field not in recorded:
                (appended if offset >= rec["size"] else problems).append(
                    f"{name}.{field} ({ctype}) at offset {offset}" + ("" if offset >= rec["size"] else
                                                                     f", inside the recorded size {rec['size']}"))
    assert not problems, "breaks the append-only rule of stable structs (include/lamina.h, Stability): " + "; ".join(problems)
    new_structs = sorted(set(current) - set(record))
    assert not appended and not new_structs, f"unrecorded: appended fields {appended}, new stable structs {new_structs}; {how}"


# -- the Swift boundary takes its numbers from the header ----------------------------------------------

def test_swift_boundary_uses_header_macros():
    """Sources/Lamina passes no core enum's raw value across the boundary and switches on no literal
    code: every status, enum and dtype value comes from a LAMINA_* macro imported through CLaminaABI
    (Validation.swift's CEnums, Status.swift's statusCode)."""
    sources = sorted((REPO / "Sources" / "Lamina").glob("*.swift"))
    assert sources
    bad = []
    for path in sources:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("//")[0]
            if re.search(r"\.rawValue\b|\bcase\s+-?\d+\s*[:,]|Check\.choice\(", code):
                bad.append(f"{path.name}:{number}: {line.strip()}")
    assert not bad, "literal C numbers at the boundary (use the header's macros): " + "; ".join(bad)


# -- the header reads as one spec ---------------------------------------------------------------------

def test_every_function_has_a_doc_comment():
    lines = HEADER.read_text().splitlines()
    missing = []
    for i, line in enumerate(lines):
        m = re.match(r"(?:const\s+)?\w+\s*\*?\s*(lamina_\w+)\(", line)
        if not m:
            continue
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        k = j
        while k >= 0 and "/*" not in lines[k]:
            k -= 1
        if not lines[j].rstrip().endswith("*/") or "/**" not in lines[k]:
            missing.append(m.group(1))
    found = {re.match(r"(?:const\s+)?\w+\s*\*?\s*(lamina_\w+)\(", l).group(1) for l in lines
             if re.match(r"(?:const\s+)?\w+\s*\*?\s*(lamina_\w+)\(", l)}
    assert found == set(header_functions()), "a declaration this check does not see: " + str(set(header_functions()) - found)
    assert not missing, f"functions without a /** doc comment */ right above them: {missing}"


def test_section_banners_state_stability():
    text = HEADER.read_text()
    banners = re.findall(r"^/\* ={20,}\n \* (.+)$", text, flags=re.M)
    assert len(banners) >= 12
    for title in banners:
        assert re.fullmatch(r"\d+\. .+ \[(stable|experimental)\]", title), f"banner without stability: {title!r}"
        assert not re.search(r"\bissue\b", title, flags=re.I), f"banner names an issue: {title!r}"
    # the contents map lists every section in order
    contents = re.findall(r"^ \*\s+(\d+)\. (.+?)\s{2,}(stable|experimental)\b", text, flags=re.M)
    assert [(n, t.strip(), s) for n, t, s in contents] == \
        [tuple(re.fullmatch(r"(\d+)\. (.+?)(?: \(.*\))? \[(\w+)\]", b).groups()) for b in banners]


if __name__ == "__main__":
    if sys.argv[1:] != ["--record-layout"]:
        sys.exit(f"usage: python3 {sys.argv[0]} --record-layout  (rewrites {LAYOUT_RECORD.name})")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        record = _record(measured_layouts(Path(tmp)))
    # one field per line: a diff of the record shows exactly what moved
    body = ",\n".join(f' "{name}": {{"size": {info["size"]}, "fields": [\n' +
                      ",\n".join("  " + json.dumps(f) for f in info["fields"]) + "]}"
                      for name, info in record.items())
    LAYOUT_RECORD.write_text("{\n" + body + "\n}\n")
    assert json.loads(LAYOUT_RECORD.read_text()) == record
    print(f"wrote {LAYOUT_RECORD}")
