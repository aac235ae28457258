"""The CPU check that runs before liblamina.so is loaded.

liblamina.so is compiled for x86-64-v3 (AVX, AVX2, FMA, BMI1, BMI2, F16C, LZCNT, MOVBE): on an older
CPU its first vector instruction would kill the process with SIGILL (an illegal instruction cannot be
caught from Python). So `lamina._native` asks this module first and raises ImportError with a clear
message instead. The flags come from the kernel's /proc/cpuinfo, which lists AVX only when the OS also
saves the AVX registers (XSAVE enabled). `LAMINA_CPUINFO` (a path to a file in /proc/cpuinfo's format)
replaces /proc/cpuinfo; it exists for the tests, which use it to simulate an older CPU.
"""
from __future__ import annotations

import os
import platform

# x86-64-v3 as /proc/cpuinfo names it ("abm" is the LZCNT bit on Intel and AMD alike).
REQUIRED = ("avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "abm", "movbe")
LEVEL = "x86-64-v3 (AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE: Intel Haswell (2013) or AMD Excavator/Zen or newer)"


def cpu_flags(text: str) -> set[str] | None:
    """The flags of the first processor in /proc/cpuinfo's text, or None when there is no flags line."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "flags":
            return set(value.split())
    return None


def missing_features(text: str) -> list[str] | None:
    """Required flags absent from /proc/cpuinfo's text (None: the text says nothing about flags)."""
    flags = cpu_flags(text)
    if flags is None:
        return None
    return [f for f in REQUIRED if f not in flags]


def check() -> None:
    """Raises ImportError when this machine cannot run liblamina.so. Silent when it can, and when it
    cannot tell (no /proc/cpuinfo): then the loader has the last word."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        raise ImportError(f"lamina: liblamina.so is built for x86-64 ({LEVEL}); this machine is {platform.machine()}")
    source = os.environ.get("LAMINA_CPUINFO") or "/proc/cpuinfo"
    try:
        with open(source, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return
    missing = missing_features(text)
    if missing:
        raise ImportError(
            f"lamina: this CPU lacks {', '.join(m if m != 'abm' else 'lzcnt' for m in missing)}; liblamina.so is "
            f"compiled for {LEVEL} and would stop the process with an illegal instruction. "
            f"Run on a newer CPU (flags read from {source}).")
