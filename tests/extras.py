"""Tests of optional drivers skip, naming the extra to install, when that driver is absent.

`pip install -r requirements.txt` brings no cloud driver; each is a pip extra
(`datadock[snowflake]`, …, `datadock[all]`; the dev extra has them all). A test that needs one
is marked `@needs_driver("SNOWFLAKE")` (or parametrized with `dialect_params`), so the suite
passes without the extras and says what it skipped: `install the snowflake extra …`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

import pytest

from webapp.dialects import get_dialect


def _installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (parents excepted)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def missing_driver(*dialects: str) -> str | None:
    """Why the dialects' drivers cannot load (the extras to install), or None."""
    absent = []
    for key in dialects:
        dialect = get_dialect(key)
        gone = [m for m in dialect.driver_modules if not _installed(m)]
        if gone and dialect.extra:
            absent.append((dialect.extra, gone))
    if not absent:
        return None
    names = [extra for extra, _ in absent]
    which = " and ".join(f"`{name}`" for name in names)
    which += " extras" if len(names) > 1 else " extra"
    modules = ", ".join(dict.fromkeys(m for _, gone in absent for m in gone))
    return (
        f"install the {which}: pip install 'datadock[{','.join(names)}]' ({modules} not installed)"
    )


def needs_driver(*dialects: str) -> pytest.MarkDecorator:
    """Skip the test when a driver of these dialects is not installed."""
    reason = missing_driver(*dialects)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def dialect_params(dialects: Iterable[str]) -> list:
    """Parameters for a test run once per dialect, each skipped when its driver is absent."""
    return [pytest.param(key, marks=needs_driver(key)) for key in dialects]
