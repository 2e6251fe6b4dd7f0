"""The snapshot diff on a PostgreSQL store whose planner statistics predate the snapshots (the
case that made the old anti-joins quadratic): the same changes as on SQLite, from one streamed
scan of both snapshots plus a columns read per batch of differing tables, never a join."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event, text

from tests.integration.jobs_helpers import postgres_store_app
from webapp.extensions import db
from webapp.jobs import diff
from webapp.models import Organization, SchemaSnapshot, SchemaTable, Source


@pytest.fixture
def pg_store(pg, tmp_path, monkeypatch) -> Iterator[Flask]:
    """An app whose store is a fresh database on the throwaway PostgreSQL."""
    with (
        postgres_store_app(pg, "store", tmp_path / "instance", monkeypatch) as application,
        application.app_context(),
    ):
        # Statistics of an empty table: what a store analysed before its first sync has.
        db.session.execute(text("ANALYZE schema_tables"))
        db.session.commit()
        yield application


def _column(name: str, typ: str) -> dict:
    return {
        "name": name,
        "type": typ,
        "nullable": True,
        "default": None,
        "primaryKey": False,
        "ordinal": 1,
    }


def _snapshot(source_id: int, tables: dict[tuple[str, str], list[dict]], hashed: bool) -> int:
    snapshot = SchemaSnapshot(source_id=source_id, complete=True)
    db.session.add(snapshot)
    db.session.commit()
    db.session.execute(
        SchemaTable.__table__.insert(),
        [
            {
                "snapshot_id": snapshot.id,
                "schema_name": schema,
                "name": name,
                "kind": "table",
                "columns": columns,
                "foreign_keys": [],
                "columns_hash": diff.columns_hash(columns) if hashed else None,
            }
            for (schema, name), columns in tables.items()
        ],
    )
    db.session.commit()
    return snapshot.id


@pytest.mark.parametrize("hashed", [True, False], ids=["digests", "rows-before-digests"])
def test_diff_on_a_postgres_store_with_stale_statistics(pg_store, hashed):
    base = [_column("id", "integer"), _column("note", "text")]
    old = {("s", f"t{i:04d}"): base for i in range(1200)}
    new = {("s", f"t{i:04d}"): base for i in range(100, 1300)}
    new[("s", "t0500")] = [_column("id", "bigint"), _column("note", "text")]
    new[("s", "t0600")] = [*base, _column("added", "date")]
    new[("s", "t0700")] = [base[0]]
    new[("s", "t0800")] = list(reversed(base))  # reordered only: not a change
    new[("a", "first")] = base
    with pg_store.app_context():
        org = Organization(name="Acme")
        db.session.add(org)
        db.session.commit()
        source = Source(organization_id=org.id, display_name="S", dialect="POSTGRES", settings={})
        db.session.add(source)
        db.session.commit()
        old_id = _snapshot(source.id, old, hashed)
        new_id = _snapshot(source.id, new, hashed)
        statements: list[str] = []

        def record(conn, cursor, sql, *args) -> None:
            statements.append(sql)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            changes = diff.snapshot_diff(old_id, new_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert changes["counts"] == {
        "tablesAdded": 101,
        "tablesRemoved": 100,
        "columnsAdded": 1,
        "columnsRemoved": 1,
        "columnsRetyped": 1,
    }
    assert changes["tablesAdded"][0] == {"schema": "a", "name": "first", "kind": "table"}
    assert changes["tablesRemoved"][0]["name"] == "t0000"
    assert changes["columnsRetyped"] == [
        {"schema": "s", "table": "t0500", "column": "id", "from": "integer", "to": "bigint"}
    ]
    assert changes["columnsAdded"] == [
        {"schema": "s", "table": "t0600", "column": "added", "type": "date"}
    ]
    assert changes["columnsRemoved"][0]["table"] == "t0700"
    assert not any(" JOIN " in sql.upper() or "EXISTS" in sql.upper() for sql in statements)
    # One scan, then the columns of differing pairs a batch at a time: with digests, only the
    # 4 differing tables; without, every one of the 1,100 pairs.
    reads = [
        sql for sql in statements if "schema_tables.columns" in sql and "columns_hash" not in sql
    ]
    assert len(reads) == (1 if hashed else -(-1100 // diff.PAIRS))
