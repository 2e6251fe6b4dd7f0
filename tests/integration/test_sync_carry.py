"""A repeated sync writes only the tables that changed: an unchanged table keeps its row (moved
to the new snapshot), a changed one is written anew, and the diff the sync records equals
`snapshot_diff` of the two snapshots, entry for entry and in the same order (lists capped at 2
here, so the order decides what is listed). On SQLite, and on a PostgreSQL store whose
collation orders names unlike code points (ICU "en": "apple" before "Mango") and whose
planner statistics predate the snapshots. Against a fresh database on the throwaway
PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import text

from tests.integration.jobs_helpers import fresh_database, run_sql, sync_once
from tests.integration.test_verify_postgres import values
from webapp import sources as uc
from webapp.dialects import get_dialect
from webapp.extensions import db
from webapp.jobs import diff
from webapp.models import Organization, SchemaSnapshot, SchemaTable, SyncRun
from webapp.sources import catalog_search

BEFORE = """
CREATE TABLE public.alpha (id int PRIMARY KEY, a int);
CREATE TABLE public."Beta" (id int, b text);
CREATE TABLE public."éclair" (x int DEFAULT 1);
CREATE TABLE public.zeta (z int, parent int REFERENCES public.alpha (id));
CREATE VIEW public.zeta_view AS SELECT z FROM public.zeta;
CREATE TABLE public."Zulu" (u int);
CREATE TABLE public.noted (n int);
CREATE TABLE public.nullish (n int);
CREATE TABLE public.doomed_a (d int);
CREATE TABLE public."Doomed_B" (d int);
CREATE TABLE public.doomed_c (d int);
CREATE TABLE public.retype_me (r int, s int);
CREATE TABLE public.widen (w int);
CREATE TABLE public.shrink (s1 int, s2 int, s3 int);
COMMENT ON COLUMN public.zeta.z IS 'kept as it is';
CREATE TABLE public.odd ("a\x1fb" int, "c\x1ed" text);
"""

CHANGES = """
DROP TABLE public.doomed_a, public."Doomed_B", public.doomed_c;
CREATE TABLE public."Zebra" (n int);
CREATE TABLE public.apple (n int);
CREATE TABLE public."Mango" (n int);
ALTER TABLE public.retype_me ALTER r TYPE bigint, ALTER s TYPE text;
ALTER TABLE public."Beta" ALTER b TYPE varchar(5);
ALTER TABLE public.alpha ALTER a TYPE numeric, ADD extra int;
ALTER TABLE public.widen ADD x date, ADD y text;
ALTER TABLE public.shrink DROP s2, DROP s3;
ALTER TABLE public."Zulu" DROP u;
COMMENT ON TABLE public.noted IS 'noted now';
ALTER TABLE public.nullish ALTER n SET NOT NULL;
"""

# odd's names hold the digest's own separators: its digest comes from the parsed columns.
UNCHANGED = [("public", n) for n in ("éclair", "zeta", "zeta_view", "odd")]
CHANGED = [("public", n) for n in ("alpha", "Beta", "Zulu", "noted", "nullish", "retype_me")]


@pytest.fixture
def icu_store(pg_nossl, tmp_path, monkeypatch) -> Iterator[Flask]:
    """An app whose store is a PostgreSQL database collating by ICU "en", statistics taken
    while schema_tables was empty (on another server than the source's: Datadock refuses to
    read its own store)."""
    server = pg_nossl
    name = f"icustore_{secrets.token_hex(4)}"
    with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} OWNER {server.user} TEMPLATE template0 "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'"
        )
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"postgresql+psycopg://{server.user}:{server.password}@{server.host}:{server.port}/{name}"
    application = create_store_app(url)
    with application.app_context():
        upgrade()
        with psycopg.connect(server.superuser_dsn(name), autocommit=True) as conn:
            conn.execute("ANALYZE schema_tables")
            conn.execute("ALTER TABLE schema_tables SET (autovacuum_enabled = false)")
        db.session.add(Organization(name="Acme"))
        db.session.commit()
        yield application
        db.session.remove()
        db.engine.dispose()


def create_store_app(url: str) -> Flask:
    from webapp import create_app

    return create_app(
        {
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "VERIFY_TIMEOUT": 5.0,
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )


@pytest.fixture(params=["sqlite", "postgres-icu"])
def store(request) -> Flask:
    if request.param == "sqlite":
        request.getfixturevalue("admin")  # the setup page makes the organization
        return request.getfixturevalue("app")
    return request.getfixturevalue("icu_store")


def _rows(snapshot_id: int) -> dict[tuple[str, str], SchemaTable]:
    tables = db.session.scalars(
        db.select(SchemaTable).where(SchemaTable.snapshot_id == snapshot_id)
    ).all()
    return {(t.schema_name, t.name): t for t in tables}


def _copy(snapshot_id: int) -> int:
    """A complete copy of a snapshot (the reference the recorded diff is checked against)."""
    current = db.session.get(SchemaSnapshot, snapshot_id)
    copy = SchemaSnapshot(source_id=current.source_id, complete=True)
    db.session.add(copy)
    db.session.commit()
    names = "schema_name, name, kind, columns, foreign_keys, row_estimate, comment, columns_hash"
    db.session.execute(
        text(
            f"INSERT INTO schema_tables (snapshot_id, {names}) "
            f"SELECT :copy, {names} FROM schema_tables WHERE snapshot_id = :current"
        ),
        {"copy": copy.id, "current": snapshot_id},
    )
    db.session.commit()
    return copy.id


def _found(org: Organization, text: str) -> list[str]:
    """The schema.table names of the catalog search's table hits for `text`."""
    results = catalog_search.search(org, text)
    return [f"{t.schema_name}.{t.name}" for g in results.groups for t in g.tables if t.matched]


def test_a_repeated_sync_carries_unchanged_tables_and_diffs_like_snapshot_diff(
    store, pg, monkeypatch
):
    monkeypatch.setattr(diff, "MAX_LISTED", 2)
    database = fresh_database(pg, "carry")
    run_sql(pg, database, BEFORE)
    with store.app_context():
        org = db.session.scalar(db.select(Organization))
        raw = values(pg, databaseName=database, sslEnabled=False)
        source = sync_once(uc.create_source(org, raw).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        first_id = source.current_snapshot_id
        before = {key: t.id for key, t in _rows(first_id).items()}
        reference = _copy(first_id)
        assert _found(org, "mango") == [] and _found(org, "doomed_a") == ["public.doomed_a"]

        run_sql(pg, database, CHANGES)
        uc.request_sync(source)
        source = sync_once(source.id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        second_id = source.current_snapshot_id
        # The current snapshot stays: the written rows were merged into it, the staging one went.
        assert second_id == first_id
        assert sorted(db.session.scalars(db.select(SchemaSnapshot.id))) == [first_id, reference]
        changed_at = db.session.get(SchemaSnapshot, first_id).created_at
        # The catalog index of the merged snapshot is read again (its time moved).
        assert _found(org, "mango") == ["public.Mango"] and _found(org, "doomed_a") == []
        after = _rows(second_id)
        run = db.session.scalars(db.select(SyncRun).order_by(SyncRun.id.desc())).first()

        # The recorded diff is snapshot_diff's, listing and order included.
        assert run.changes == diff.snapshot_diff(reference, second_id)
        assert run.changes["counts"] == {
            "tablesAdded": 3,
            "tablesRemoved": 3,
            "columnsAdded": 3,
            "columnsRemoved": 3,
            "columnsRetyped": 4,
        }
        assert run.changes["truncated"] is True and run.change_count == 16
        # The store's own order picks what is listed: code points on SQLite, ICU "en" here.
        listed = [t["name"] for t in run.changes["tablesAdded"]]
        icu = store.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        assert listed == (["apple", "Mango"] if icu else ["Mango", "Zebra"])
        removed = [t["name"] for t in run.changes["tablesRemoved"]]
        assert removed == (["doomed_a", "Doomed_B"] if icu else ["Doomed_B", "doomed_a"])
        assert run.table_count == len(after) == 15

        # Unchanged tables kept their rows; changed ones were written anew; the gone are gone.
        assert all(after[key].id == before[key] for key in UNCHANGED)
        assert all(after[key].id != before[key] for key in CHANGED)
        assert ("public", "doomed_a") not in after
        assert db.session.scalar(db.select(db.func.count()).select_from(SchemaTable)) == len(
            after
        ) + len(before)  # the new snapshot and the reference copy, no more

        # What is stored is what a full read gives, digests included.
        with psycopg.connect(pg.superuser_dsn(database)) as conn:
            read = {(t.schema, t.name): t for t in get_dialect("POSTGRES").introspect(conn)}
        assert set(read) == set(after)
        for key, t in read.items():
            row = after[key]
            assert (row.kind, row.columns, row.foreign_keys) == (t.kind, t.columns, t.foreign_keys)
            assert (row.row_estimate, row.comment) == (t.row_estimate, t.comment)
            assert row.columns_hash == diff.columns_hash(t.columns)
        assert after[("public", "noted")].comment == "noted now"
        assert after[("public", "zeta")].columns[0]["comment"] == "kept as it is"

        # Nothing changed: nothing is written, every row is carried over.
        uc.request_sync(source)
        source = sync_once(source.id)
        third = _rows(source.current_snapshot_id)
        assert source.current_snapshot_id == second_id
        # Nothing changed, so the snapshot's time (what caches of it key on) stays too.
        db.session.expire_all()
        assert db.session.get(SchemaSnapshot, second_id).created_at == changed_at
        assert {key: t.id for key, t in third.items()} == {key: t.id for key, t in after.items()}
        run = db.session.scalars(db.select(SyncRun).order_by(SyncRun.id.desc())).first()
        assert (run.status, run.change_count, run.table_count) == ("SUCCESS", 0, 15)
