"""Each sync records what changed since the previous one; the source page shows the history.
Also: a failed sync keeps the last good snapshot and records a FAILED run, and a request made
while a sync runs makes the source due again as soon as it ends."""

from __future__ import annotations

import threading
import time

import psycopg

from tests.integration.jobs_helpers import (
    GatedProxy,
    add_source,
    fresh_database,
    last_run,
    run_sql,
    sync_once,
    tables_of,
)
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs import diff
from webapp.jobs.claims import claim_due_syncs
from webapp.jobs.sync import run_sync
from webapp.models import SchemaSnapshot, SchemaTable, Source, SyncRun, utcnow

BEFORE = """
CREATE TABLE public.customers (id int PRIMARY KEY, name text, legacy_code char(3));
CREATE TABLE public.orders (id int PRIMARY KEY, total integer, customer int);
CREATE TABLE public.doomed (id int);
CREATE VIEW public.order_totals AS SELECT id, total FROM public.orders;
"""

CHANGES = """
DROP TABLE public.doomed;
CREATE TABLE public."new table ✓" (id int);
ALTER TABLE public.customers DROP COLUMN legacy_code;
ALTER TABLE public.customers ADD COLUMN email varchar(200);
DROP VIEW public.order_totals;
ALTER TABLE public.orders ALTER COLUMN total TYPE numeric(12,2);
CREATE VIEW public.order_totals AS SELECT id, total FROM public.orders;
"""


def test_diff_after_ddl_changes_and_history_page(app, admin, pg):
    database = fresh_database(pg, "diff")
    run_sql(pg, database, BEFORE)
    with app.app_context():
        source = sync_once(add_source(pg, database).id)
        first = last_run(source)
        assert (first.status, first.trigger, first.changes, first.change_count) == (
            "SUCCESS",
            "create",
            None,
            0,
        )
        assert first.table_count == 4 and first.finished_at >= first.started_at
        first_snapshot = source.current_snapshot_id

        run_sql(pg, database, CHANGES)
        run = uc.request_sync(source)  # "Sync now"
        assert (run.status, run.trigger) == ("QUEUED", "manual")
        source = sync_once(source.id)
        second = last_run(source)
        assert second.id == run.id and second.status == "SUCCESS"
        changes = second.changes
        assert changes["tablesAdded"] == [
            {"schema": "public", "name": "new table ✓", "kind": "table"}
        ]
        assert changes["tablesRemoved"] == [{"schema": "public", "name": "doomed", "kind": "table"}]
        assert changes["columnsAdded"] == [
            {
                "schema": "public",
                "table": "customers",
                "column": "email",
                "type": "character varying(200)",
            }
        ]
        assert changes["columnsRemoved"] == [
            {
                "schema": "public",
                "table": "customers",
                "column": "legacy_code",
                "type": "character(3)",
            }
        ]
        # The view's column follows the table's new type: two retyped columns.
        assert changes["columnsRetyped"] == [
            {
                "schema": "public",
                "table": "order_totals",
                "column": "total",
                "from": "integer",
                "to": "numeric(12,2)",
            },
            {
                "schema": "public",
                "table": "orders",
                "column": "total",
                "from": "integer",
                "to": "numeric(12,2)",
            },
        ]
        assert changes["counts"] == {
            "tablesAdded": 1,
            "tablesRemoved": 1,
            "columnsAdded": 1,
            "columnsRemoved": 1,
            "columnsRetyped": 2,
        }
        assert second.change_count == 6 and changes["truncated"] is False
        # The changes were merged into the current snapshot; the sync's staging one is gone.
        assert source.current_snapshot_id == first_snapshot
        assert db.session.scalars(db.select(SchemaSnapshot.id)).all() == [first_snapshot]
        assert ("public", "doomed") not in tables_of(source)

        uc.request_sync(source, trigger="schedule")
        third = last_run(sync_once(source.id))
        assert (third.status, third.change_count) == ("SUCCESS", 0)
        source_id = source.id

    page = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    assert "Sync history" in page and "no changes" in page and "first sync" in page
    assert "6 changes" in page
    assert "+ table public.new table ✓" in page
    assert "− table public.doomed" in page
    assert "~ column public.orders.total: integer → numeric(12,2)" in page
    assert "+ column public.customers.email character varying(200)" in page
    fragment = admin.get(f"/sources/{source_id}/history").get_data(as_text=True)
    assert fragment.startswith('<section id="sync-history"') or 'id="sync-history"' in fragment
    assert "every 2s" not in fragment  # nothing queued or running: no polling


def test_diff_lists_are_capped_but_counts_are_complete(app, admin, pg):
    """Snapshots written straight into the store: the diff is store-side SQL, dialect-free."""
    with app.app_context():
        database = fresh_database(pg, "cap")
        source = add_source(pg, database)
        old = SchemaSnapshot(source_id=source.id, complete=True)
        new = SchemaSnapshot(source_id=source.id, complete=True)
        db.session.add_all([old, new])
        db.session.commit()
        col = {
            "name": "c",
            "type": "int",
            "nullable": True,
            "default": None,
            "primaryKey": False,
            "ordinal": 1,
        }
        db.session.execute(
            SchemaTable.__table__.insert(),
            [
                {
                    "snapshot_id": old.id,
                    "schema_name": "s",
                    "name": f"t{i:04d}",
                    "kind": "table",
                    "columns": [col],
                    "foreign_keys": [],
                }
                for i in range(300)
            ],
        )
        db.session.execute(
            SchemaTable.__table__.insert(),
            [
                {
                    "snapshot_id": new.id,
                    "schema_name": "s",
                    "name": f"t{i:04d}",
                    "kind": "table",
                    "columns": [{**col, "type": "bigint"}] if i < 250 else [col],
                    "foreign_keys": [],
                }
                for i in range(50, 600)
            ],
        )
        db.session.commit()
        changes = diff.snapshot_diff(old.id, new.id)
    assert changes["counts"] == {
        "tablesAdded": 300,
        "tablesRemoved": 50,
        "columnsAdded": 0,
        "columnsRemoved": 0,
        "columnsRetyped": 200,
    }
    assert len(changes["tablesAdded"]) == diff.MAX_LISTED and changes["truncated"] is True
    assert changes["tablesAdded"][0]["name"] == "t0300"  # in (schema, name) order
    assert len(changes["tablesRemoved"]) == 50 and changes["total"] == 550


def test_failed_sync_records_a_failed_run_and_keeps_the_snapshot(app, admin, pg):
    database = fresh_database(pg, "fail")
    run_sql(pg, database, BEFORE)
    with app.app_context():
        source = sync_once(add_source(pg, database).id)
        good = source.current_snapshot_id
        with psycopg.connect(pg.superuser_dsn(), autocommit=True) as conn:
            conn.execute(f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC")
            conn.execute(f"ALTER DATABASE {database} OWNER TO postgres")
        uc.request_sync(source)
        source = sync_once(source.id)
        run = last_run(source)
        assert source.last_sync_status == "FAILED" and run.status == "FAILED"
        assert run.error_message == source.sync_error_message
        assert "CONNECT privilege" in run.error_message
        assert source.current_snapshot_id == good
        assert ("public", "orders") in tables_of(source)
        assert source.next_sync_at > utcnow()  # backs off
        assert source.sync_failures == 1
        source_id = source.id
    page = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    assert "The last sync failed." in page and "CONNECT privilege" in page
    assert "FAILED" in page and "public.orders" in page


def test_a_request_before_the_sync_starts_joins_it(app, admin, pg):
    with app.app_context():
        source = add_source(pg, pg.database)
        assert claim_due_syncs("owner-1", utcnow(), 60, 10) == [source.id]
        # Claimed but not started: the "create" run still waits, "Sync now" joins it.
        waiting = uc.request_sync(source)
        run_sync(source.id, "owner-1")
        db.session.expire_all()
        runs, total = uc.sync_history(source)
        assert total == 1 and runs[0].id == waiting.id and runs[0].status == "SUCCESS"
        assert source.next_sync_at > utcnow()


def test_a_request_during_a_running_sync_is_not_lost(app, admin, pg):
    proxy = GatedProxy(pg.port)
    try:
        with app.app_context():
            source = add_source(pg, pg.database, port=proxy.port)
            source_id = source.id
            assert claim_due_syncs("owner-1", utcnow(), 60, 10) == [source_id]
            proxy.close_gate()  # the sync will hang while connecting, its run RUNNING

        def sync() -> None:
            with app.app_context():
                run_sync(source_id, "owner-1")

        worker = threading.Thread(target=sync)
        worker.start()
        with app.app_context():
            deadline = time.monotonic() + 10
            while last_run(db.session.get(Source, source_id)).status != "RUNNING":
                assert time.monotonic() < deadline, "the sync did not start"
                time.sleep(0.02)
                db.session.expire_all()
            source = db.session.get(Source, source_id)
            waiting = uc.request_sync(source)  # "Sync now" while it runs
            assert waiting.status == "QUEUED"
            proxy.open_gate()
            worker.join(timeout=30)
            db.session.expire_all()
            runs, _total = uc.sync_history(source)
            assert [(r.trigger, r.status) for r in runs] == [
                ("manual", "QUEUED"),
                ("create", "SUCCESS"),
            ]
            # Due again at once, still PENDING, so the request is served next.
            assert source.next_sync_at <= utcnow() and source.last_sync_status == "PENDING"
            assert uc.request_sync(source).id == waiting.id  # one queued run, not two
            source = sync_once(source_id)
            assert [r.status for r in uc.sync_history(source)[0]] == ["SUCCESS", "SUCCESS"]
            assert source.next_sync_at > utcnow() and source.last_sync_status == "SUCCESS"
    finally:
        proxy.stop()


def test_history_keeps_the_newest_runs(app, admin, pg):
    from webapp.jobs.runs import prune_runs

    with app.app_context():
        source = add_source(pg, pg.database)
        db.session.add_all(
            [SyncRun(source_id=source.id, status="SUCCESS", trigger="schedule") for _ in range(30)]
        )
        db.session.commit()
        prune_runs(source.id, keep=10)
        db.session.commit()
        runs, total = uc.sync_history(source, limit=100)
    # The ten newest finished runs, and the "create" run still waiting: never pruned.
    assert total == 11
    assert [r.status for r in runs] == ["SUCCESS"] * 10 + ["QUEUED"]
