"""The package build compiles the translation catalogs (.po -> .mo) so a fresh install speaks
Spanish; the compiled files are never committed. Everything else is in pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_catalogs(build_py):
    def run(self):
        # Written beside the .po in the source tree, then packaged as package data: a wheel
        # carries them, and an editable install (which reads the source tree) finds them there.
        spec = importlib.util.spec_from_file_location("catalog", HERE / "tools" / "catalog.py")
        catalog = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(catalog)
        catalog.compile_catalogs(HERE / "cuentas_cli" / "locale")
        super().run()


setup(cmdclass={"build_py": build_py_with_catalogs})
