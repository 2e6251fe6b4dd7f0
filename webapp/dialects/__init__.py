"""The registry of dialects: one module per engine family, each listing its dialects in REGISTER.

Adding a dialect is its module plus one line in MODULES (docs/ARCHITECTURE.md has an example).
"""

from __future__ import annotations

import importlib

from .base import Dialect, SchemaFilter, TableInfo, Target
from .fields import FieldInvalid, FieldSpec

# One line per engine-family module; the form's dialect list follows this order.
MODULES = (
    "postgres",
    "mysql",
    "files",
    # Cloud and optional-driver dialects, in the Basedash API's order.
    "athena",
    "bigquery",
    "clickhouse",
    "spanner",
    "snowflake",
    "sqlserver",
    "oracle",
    "databricks",
    "posthog",
    "trino",
    "motherduck",
    "mongodb",
    "elasticsearch",
    "firebolt",
    "singlestore",
    "s3",
)


def load(modules: tuple[str, ...] = MODULES) -> dict[str, Dialect]:
    """Every dialect the modules register, by key, in their order (a key registered twice is
    a mistake, refused)."""
    found: dict[str, Dialect] = {}
    for name in modules:
        for dialect in importlib.import_module(f"{__name__}.{name}").REGISTER:
            if dialect.key in found:
                raise ValueError(f"dialect {dialect.key} is registered twice")
            found[dialect.key] = dialect
    return found


DIALECTS: dict[str, Dialect] = load()


def get_dialect(key: str | None) -> Dialect | None:
    """The registered dialect named `key` (e.g. "POSTGRES"), or None."""
    return DIALECTS.get((key or "").upper())


def all_secret_names() -> tuple[str, ...]:
    """Every secret field name of every dialect (never sent in a URL, never rendered)."""
    return tuple(sorted({n for d in DIALECTS.values() for n in d.secret_names}))


__all__ = [
    "DIALECTS",
    "MODULES",
    "Dialect",
    "FieldInvalid",
    "FieldSpec",
    "SchemaFilter",
    "TableInfo",
    "Target",
    "all_secret_names",
    "get_dialect",
    "load",
]
