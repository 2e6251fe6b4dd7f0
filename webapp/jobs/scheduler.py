"""APScheduler in-process: a short tick claims due syncs and hands them to a worker pool."""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..models import utcnow
from .claims import claim_due_syncs
from .sync import run_sync

log = logging.getLogger(__name__)

TICK_JOB = "sync-tick"
OWNER = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    """One app's scheduler: a tick executor of one thread and a pool of sync workers."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.workers = max(1, int(app.config["SCHEDULER_WORKERS"]))
        self.in_flight = 0
        self.lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(self.workers),
                       "tick": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )
        self.scheduler.add_job(self.tick, "interval", id=TICK_JOB, executor="tick",
                               seconds=app.config["SCHEDULER_TICK_SECONDS"],
                               next_run_time=datetime.now().astimezone())

    def tick(self) -> None:
        """Claim as many due syncs as there are free workers, and submit them."""
        with self.lock:
            free = self.workers - self.in_flight
        with self.app.app_context():
            ids = claim_due_syncs(OWNER, utcnow(), self.app.config["JOB_LEASE_SECONDS"], free)
        for source_id in ids:
            with self.lock:
                self.in_flight += 1
            self.scheduler.add_job(self._run, args=[source_id], id=f"sync-{source_id}-{OWNER}",
                                   replace_existing=True)

    def _run(self, source_id: int) -> None:
        try:
            with self.app.app_context():
                run_sync(source_id, OWNER)
        except Exception:
            log.exception("sync job for source %s crashed", source_id)
        finally:
            with self.lock:
                self.in_flight -= 1
            self.wake()

    def stop(self) -> None:
        """Stop scheduling (running jobs finish in their threads)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def wake(self) -> None:
        """Run the tick now instead of at its next interval."""
        try:
            self.scheduler.modify_job(TICK_JOB, next_run_time=datetime.now().astimezone())
        except Exception:  # noqa: BLE001 - shutting down, or the job is being replaced
            log.debug("could not wake the scheduler tick", exc_info=True)


def start(app: Flask) -> Runner:
    """Start the app's scheduler (idempotent) and stop it at exit."""
    runner = app.extensions.get("datadock_runner")
    if runner is None:
        runner = Runner(app)
        app.extensions["datadock_runner"] = runner
        runner.scheduler.start()
        atexit.register(runner.stop)
        log.info("scheduler started as %s with %s workers", OWNER, runner.workers)
    return runner


def wake(app: Flask) -> None:
    """Wake the tick of the app's scheduler, if it runs in this process."""
    runner = app.extensions.get("datadock_runner")
    if runner is not None:
        runner.wake()
