"""A process killed in the middle of a sync leaves a lease that expires: another process's
scheduler takes the source over, syncs it, marks the dead run as interrupted and drops the
half-written snapshot. Nothing stays PENDING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tests.integration.jobs_helpers import GatedProxy, add_source, tables_of
from webapp import sources as uc
from webapp.extensions import db
from webapp.jobs import scheduler
from webapp.jobs.claims import claim_due_syncs
from webapp.jobs.runs import INTERRUPTED
from webapp.models import SchemaSnapshot, SchemaTable, Source, utcnow

LEASE = 3.0

# The doomed process: same store and keys (same instance folder), claims the sync with a short
# lease and runs it; the gate holds it while connecting until it is killed.
DOOMED = textwrap.dedent(f"""
    import sys
    from webapp import create_app
    from webapp.jobs.claims import claim_due_syncs
    from webapp.jobs.sync import run_sync
    from webapp.models import utcnow
    app = create_app({{"SCHEDULER_ENABLED": False, "VERIFY_TIMEOUT": 60.0}})
    with app.app_context():
        claimed = claim_due_syncs("doomed-process", utcnow(), {LEASE}, 10)
        print("claimed", claimed, flush=True)
        run_sync(claimed[0], "doomed-process")
""")


def _wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
        db.session.expire_all()


def test_a_killed_sync_is_taken_over_after_its_lease_expires(app, admin, pg, tmp_path):
    proxy = GatedProxy(pg.port)
    doomed = None
    try:
        with app.app_context():
            source = add_source(pg, pg.database, port=proxy.port)
            source_id = source.id
        proxy.close_gate()
        # Killed mid-connect, it leaves its temporary files behind: keep them in tmp_path.
        doomed = subprocess.Popen(
            [sys.executable, "-c", DOOMED],
            cwd=os.getcwd(),
            env={**os.environ, "TMPDIR": str(tmp_path)},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert doomed.stdout.readline().strip() == f"claimed [{source_id}]"
        with app.app_context():
            _wait_for(
                lambda: (
                    uc.sync_history(db.session.get(Source, source_id))[0][0].status == "RUNNING"
                ),
                20,
                "the doomed sync to start",
            )
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            source = db.session.get(Source, source_id)
            assert source.last_sync_status == "PENDING"
            assert source.sync_lease_owner == "doomed-process"
            # A half-written snapshot, as a process killed between two batches leaves one.
            leftover = SchemaSnapshot(source_id=source_id, table_count=1)
            db.session.add(leftover)
            db.session.commit()
            db.session.execute(
                SchemaTable.__table__.insert(),
                [
                    {
                        "snapshot_id": leftover.id,
                        "schema_name": "public",
                        "name": "half",
                        "kind": "table",
                        "columns": [],
                        "foreign_keys": [],
                    }
                ],
            )
            db.session.commit()
            leftover_id = leftover.id
            # While the lease lives, nobody else may claim the source.
            assert claim_due_syncs("someone-else", utcnow(), 60, 10) == []

        proxy.open_gate()
        app.config.update(SCHEDULER_TICK_SECONDS=0.2, HEALTH_INTERVAL=0)
        scheduler.start(app)
        with app.app_context():
            # Synced, and the new owner's lease released (right after the sync's last commit).
            _wait_for(
                lambda: (
                    (
                        db.session.get(Source, source_id).last_sync_status,
                        db.session.get(Source, source_id).sync_lease_owner,
                    )
                    == ("SUCCESS", None)
                ),
                LEASE + 30,
                "the takeover sync",
            )
            source = db.session.get(Source, source_id)
            runs, _ = uc.sync_history(source)
            assert [(r.trigger, r.status) for r in runs] == [
                ("schedule", "SUCCESS"),
                ("create", "FAILED"),
            ]
            assert runs[1].error_message == INTERRUPTED
            assert runs[0].started_at >= runs[1].started_at
            # The half-written snapshot is gone (SQLite may reuse its id for the new one).
            assert (
                db.session.scalar(
                    db.select(db.func.count())
                    .select_from(SchemaTable)
                    .where(SchemaTable.name == "half")
                )
                == 0
            )
            assert db.session.scalars(db.select(SchemaSnapshot.id)).all() == [
                source.current_snapshot_id
            ]
            assert leftover_id  # (was written above)
            assert ("public", "customers") in tables_of(source)
    finally:
        if doomed is not None and doomed.poll() is None:
            doomed.kill()
        proxy.stop()
