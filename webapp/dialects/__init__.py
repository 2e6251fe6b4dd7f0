"""The registry of dialects: one module per engine family, each listing its dialects in REGISTER."""

from __future__ import annotations

from . import (
    athena,
    bigquery,
    clickhouse,
    databricks,
    files,
    motherduck,
    mysql,
    oracle,
    postgres,
    posthog,
    snowflake,
    spanner,
    sqlserver,
    trino,
)
from .base import Dialect, SchemaFilter, TableInfo, Target
from .fields import FieldInvalid, FieldSpec

# One line per engine-family module; the form's dialect list follows this order.
_MODULES = [
    postgres,
    mysql,
    files,
    # Cloud and optional-driver dialects, in the Basedash API's order.
    athena,
    bigquery,
    clickhouse,
    spanner,
    snowflake,
    sqlserver,
    oracle,
    databricks,
    posthog,
    trino,
    motherduck,
]

DIALECTS: dict[str, Dialect] = {d.key: d for m in _MODULES for d in m.REGISTER}


def get_dialect(key: str | None) -> Dialect | None:
    """The registered dialect named `key` (e.g. "POSTGRES"), or None."""
    return DIALECTS.get((key or "").upper())


def all_secret_names() -> tuple[str, ...]:
    """Every secret field name of every dialect (never sent in a URL, never rendered)."""
    return tuple(sorted({n for d in DIALECTS.values() for n in d.secret_names}))


__all__ = ["DIALECTS", "Dialect", "FieldInvalid", "FieldSpec", "SchemaFilter", "TableInfo",
           "Target",
           "all_secret_names", "get_dialect"]
