"""The schema browser's view of a page of tables: grouped per schema (with every schema's table
counts over the whole snapshot), each table with an anchor id, its row estimate in words and
its foreign keys as links to the tables they refer to (a table of the same schema named alone).

A referenced table's link is the source page searched for that table (`?q=schema.table`) with
the table's anchor: without JavaScript the search shows it, opened (an exact `schema.table`
search opens its table); with JavaScript (static/app.js) a link to a table on the same page
just opens it there (`data-anchor`)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import url_for

from ..sources.schema_browser import schema_kind_counts, tables_present

if TYPE_CHECKING:
    from ..models import SchemaTable, Source

# Kinds in the order the counts name them, with their plural.
KINDS = (
    ("table", "tables"),
    ("view", "views"),
    ("materialized view", "materialized views"),
    ("foreign table", "foreign tables"),
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def table_anchor(schema: str, name: str) -> str:
    """The table's element id: `t-<schema>.<name>`, characters outside [A-Za-z0-9_.-] made
    `-`; when that changed the name, a short digest of the exact name keeps it unique."""
    text = f"{schema}.{name}"
    slug = _UNSAFE.sub("-", text).strip("-")
    if slug != text:
        digest = hashlib.blake2b(text.encode(errors="surrogatepass"), digest_size=3).hexdigest()
        slug = f"{slug}-{digest}"
    return f"t-{slug}"


def kind_counts_text(counts: dict[str, int]) -> str:
    """ "12 tables, 3 views" (the known kinds first, then any other in name order)."""
    known = dict(KINDS)
    parts = [
        f"{counts[kind]:,} {kind if counts[kind] == 1 else plural}"
        for kind, plural in KINDS
        if counts.get(kind)
    ]
    parts += [f"{n:,} {kind}" for kind, n in sorted(counts.items()) if kind not in known and n]
    return ", ".join(parts) or "no tables"


def rows_text(estimate: int | None) -> str | None:
    """ "≈ 12,400 rows" (None when the catalog keeps no estimate)."""
    if estimate is None or estimate < 0:
        return None
    return f"≈ {estimate:,} row{'' if estimate == 1 else 's'}"


@dataclass
class KeyView:
    """A foreign key as the page shows it."""

    name: str | None
    columns: list[str]
    target: str  # "schema.table"
    label: str  # the table's name alone when it is in the key's own schema, else target
    referred_columns: list[str]
    href: str | None  # None: the referenced table is not in the snapshot
    anchor: str


@dataclass
class TableView:
    """A table as the page shows it."""

    table: SchemaTable
    anchor: str
    open: bool
    rows: str | None
    keys: list[KeyView] = field(default_factory=list)


@dataclass
class SchemaGroup:
    """A schema's tables on this page, and what the schema holds in all."""

    schema: str
    counts: str
    total: int
    tables: list[TableView] = field(default_factory=list)


def browse(source: Source, tables: list[SchemaTable], search: str) -> list[SchemaGroup]:
    """The page's tables (in schema, name order) grouped per schema."""
    counts = schema_kind_counts(source, search)
    referred = {
        (str(k.get("referredSchema") or t.schema_name), str(k.get("referredTable")))
        for t in tables
        for k in t.foreign_keys or []
        if k.get("referredTable")
    }
    present = tables_present(source, referred)
    exact = search.strip().lower()
    groups: list[SchemaGroup] = []
    for t in tables:
        if not groups or groups[-1].schema != t.schema_name:
            of_schema = counts.get(t.schema_name, {})
            groups.append(
                SchemaGroup(t.schema_name, kind_counts_text(of_schema), sum(of_schema.values()))
            )
        qualified = f"{t.schema_name}.{t.name}"
        view = TableView(
            t,
            table_anchor(t.schema_name, t.name),
            open=bool(exact) and qualified.lower() == exact,
            rows=rows_text(t.row_estimate),
        )
        for key in t.foreign_keys or []:
            view.keys.append(_key_view(source, t, key, present))
        groups[-1].tables.append(view)
    return groups


def _key_view(
    source: Source, table: SchemaTable, key: dict[str, Any], present: set[tuple[str, str]]
) -> KeyView:
    schema = str(key.get("referredSchema") or table.schema_name)
    name = str(key.get("referredTable"))
    anchor = table_anchor(schema, name)
    href = None
    if (schema, name) in present:
        href = url_for("web.source_detail", source_id=source.id, q=f"{schema}.{name}")
        href += f"#{anchor}"
    return KeyView(
        key.get("name"),
        [str(c) for c in key.get("columns") or []],
        f"{schema}.{name}",
        name if schema == table.schema_name else f"{schema}.{name}",
        [str(c) for c in key.get("referredColumns") or []],
        href,
        anchor,
    )
