"""Build hook: put templates/, static/ and migrations/ into the wheel as webapp/_resources/.

The checkout keeps the three folders at the top level (the app finds them there); a wheel has
no top level of its own, so `build_py` copies them under the package, and the sdist carries
them (and this file) so that a wheel built from the sdist gets them too. Editable installs
are left alone: they read the top-level folders. Wired in pyproject.toml's
[tool.setuptools.cmdclass].
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools.command.build_py import build_py

RESOURCE_DIRS = ("templates", "static", "migrations")
TARGET_PACKAGE = "webapp._resources"
SKIP_PARTS = {"__pycache__", ".DS_Store"}


def resource_files(root: Path, folder: str) -> list[str]:
    """Every file under root/folder, relative to it, without caches or editor leftovers."""
    base = root / folder
    return sorted(
        str(path.relative_to(base))
        for path in base.rglob("*")
        if path.is_file()
        and not SKIP_PARTS.intersection(path.parts)
        and path.suffix not in {".pyc", ".pyo"}
        and not path.name.endswith("~")
    )


class BuildPy(build_py):
    """setuptools' build_py, plus the three top-level folders as package data."""

    def _resource_data_files(self) -> list[tuple[str, str, str, list[str]]]:
        if self.editable_mode:
            return []
        root = Path.cwd()
        entries = []
        for folder in RESOURCE_DIRS:
            package = f"{TARGET_PACKAGE}.{folder}"
            build_dir = os.path.join(self.build_lib, *package.split("."))
            entries.append((package, folder, build_dir, resource_files(root, folder)))
        return entries

    def _get_data_files(self):  # type: ignore[no-untyped-def]
        return super()._get_data_files() + self._resource_data_files()

    def get_data_files_without_manifest(self):  # type: ignore[no-untyped-def]
        return super().get_data_files_without_manifest() + self._resource_data_files()

    def get_source_files(self) -> list[str]:
        # The sdist needs this hook to build its wheel.
        return [*super().get_source_files(), "scripts/build_resources.py"]

    def run(self) -> None:
        if not self.editable_mode:
            # A reused build/ folder must not keep a file that the source tree no longer has.
            self.remove_tree(os.path.join(self.build_lib, *TARGET_PACKAGE.split(".")))
        super().run()

    def remove_tree(self, path: str) -> None:
        import shutil

        if os.path.isdir(path):
            shutil.rmtree(path)
