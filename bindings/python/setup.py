"""Build hook: the wheel carries a native library (liblamina.so, x86-64-v3, linked against the system
OpenBLAS and HDF5) but no CPython extension, so it is tagged py3-none-<platform> (linux_x86_64), not
py3-none-any. It is not a manylinux wheel: the library needs Debian's libopenblas0 and libhdf5 at run
time. Everything else is in pyproject.toml."""
from setuptools import setup

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(cmdclass={"bdist_wheel": PlatformWheel})
