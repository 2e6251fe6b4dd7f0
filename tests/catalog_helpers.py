"""Schemas for the catalog search tests: a source with a current snapshot of given tables,
written the way a sync writes them (one SchemaTable row per table, columns as JSON), and a
later sync's snapshot that replaces it."""

from __future__ import annotations

from typing import Any

from flask import Flask

from webapp.extensions import db
from webapp.models import SchemaSnapshot, SchemaTable, Source

# (schema, table, table comment, columns)
Table = tuple[str, str, str | None, list[dict[str, Any]]]


def column(name: str, type_: str = "integer", comment: str | None = None) -> dict[str, Any]:
    """A column as the dialects' introspection stores it ("comment" only when there is one)."""
    out: dict[str, Any] = {
        "name": name,
        "type": type_,
        "nullable": True,
        "default": None,
        "primaryKey": name == "id",
        "ordinal": 1,
    }
    if comment is not None:
        out["comment"] = comment
    return out


def snapshot(app: Flask, source_id: int, tables: list[Table]) -> int:
    """A complete snapshot of `tables` made the source's current one (as a successful sync
    does); returns its id."""
    with app.app_context():
        shot = SchemaSnapshot(
            source_id=source_id,
            complete=True,
            table_count=len(tables),
            column_count=sum(len(t[3]) for t in tables),
        )
        db.session.add(shot)
        db.session.flush()
        if tables:
            db.session.execute(
                SchemaTable.__table__.insert(),
                [
                    {
                        "snapshot_id": shot.id,
                        "schema_name": schema,
                        "name": name,
                        "kind": "table",
                        "columns": columns,
                        "foreign_keys": [],
                        "comment": comment,
                    }
                    for schema, name, comment, columns in tables
                ],
            )
        source = db.session.get(Source, source_id)
        assert source is not None
        source.current_snapshot_id = shot.id
        source.last_sync_status = "SUCCESS"
        db.session.commit()
        return shot.id


def add_schema(app: Flask, org_id: int, name: str, tables: list[Table] | None) -> int:
    """A paused source (no scheduled sync or health check touches it) named `name`, with a
    current snapshot of `tables` (none when `tables` is None: never synced); its id."""
    with app.app_context():
        source = Source(
            organization_id=org_id,
            display_name=name,
            dialect="POSTGRES",
            host="db.invalid",
            port=5432,
            database_name="app",
            username="reader",
            settings={},
            paused=True,
        )
        db.session.add(source)
        db.session.commit()
        source_id = source.id
    if tables is not None:
        snapshot(app, source_id, tables)
    return source_id
