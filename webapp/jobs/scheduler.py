"""APScheduler in-process: a short tick claims due work through the store and hands it to a
worker pool per kind of job; an hourly job prunes old health history.

Syncs and health checks have separate pools: a sync is CPU- and store-heavy (a few workers),
a health check mostly waits on the network (many workers), so a hundred silent hosts tie up
health workers for one timeout each and never delay a sync, another source's check or a page.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as SchedulerThreads
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..models import utcnow
from .claims import HEALTH, SYNC, JobKind, claim_due, release
from .health import prune_health, run_health
from .sync import run_sync

log = logging.getLogger(__name__)

TICK_JOB = "tick"
PRUNE_JOB = "prune"
PRUNE_EVERY = timedelta(hours=1)
OWNER = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Pool:
    """A fixed number of worker threads for one kind of job, and how many are busy.

    Between full ticks, finished jobs wake the tick to refill the pool `batch` workers at a
    time, so a sweep of a thousand short checks costs a few dozen claims, not a thousand.
    """

    def __init__(self, kind: JobKind, workers: int, job: Callable[[int, str], None],
                 app: Flask, done: Callable[[str], None]) -> None:
        self.kind, self.workers, self.job, self.app, self.done = kind, workers, job, app, done
        self.batch = max(1, workers // 8)
        self.busy = 0
        self.lock = threading.Lock()
        self.threads = ThreadPoolExecutor(workers, thread_name_prefix=f"datadock-{kind.name}")

    def free(self) -> int:
        """Workers with nothing to do."""
        with self.lock:
            return self.workers - self.busy

    def submit(self, source_ids: list[int]) -> None:
        """Run the job for each claimed source."""
        with self.lock:
            self.busy += len(source_ids)
        for source_id in source_ids:
            try:
                self.threads.submit(self._run, source_id)
            except RuntimeError:  # shutting down: give the claim back at once
                with self.lock:
                    self.busy -= 1
                release(self.kind, source_id, OWNER)

    def _run(self, source_id: int) -> None:
        try:
            with self.app.app_context():
                self.job(source_id, OWNER)
        except Exception:
            log.exception("%s job for source %s crashed", self.kind.name, source_id)
        finally:
            with self.lock:
                self.busy -= 1
            self.done(self.kind.name)

    def stop(self, wait: bool = False) -> None:
        """Take no more work; running jobs finish (waited for when `wait`)."""
        self.threads.shutdown(wait=wait, cancel_futures=True)


class Runner:
    """One app's scheduler: the tick (one thread), the prune job and the worker pools."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.pending: set[str] = set()  # kinds woken since the last tick
        self.full_at = 0.0  # when the next tick claims for every pool, whatever is free
        self.pools = [Pool(SYNC, max(1, int(app.config["SCHEDULER_WORKERS"])), run_sync, app,
                           self.wake)]
        if app.config["HEALTH_INTERVAL"] > 0:
            self.pools.append(Pool(HEALTH, max(1, int(app.config["HEALTH_WORKERS"])),
                                   run_health, app, self.wake))
        self.scheduler = BackgroundScheduler(
            executors={"default": SchedulerThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )
        now = datetime.now().astimezone()
        self.scheduler.add_job(self.tick, "interval", id=TICK_JOB, next_run_time=now,
                               seconds=app.config["SCHEDULER_TICK_SECONDS"])
        self.scheduler.add_job(self.prune, "interval", id=PRUNE_JOB,
                               seconds=PRUNE_EVERY.total_seconds(),
                               next_run_time=now + timedelta(minutes=1))

    @property
    def workers(self) -> int:
        """Sync workers (kept for log lines and callers that report it)."""
        return self.pools[0].workers

    def tick(self) -> None:
        """Claim as many due jobs as there are free workers, and submit them: for every pool
        once per interval, in between for the pools woken that have a batch of free workers."""
        lease = self.app.config["JOB_LEASE_SECONDS"]
        now = time.monotonic()
        with self.lock:
            full = now >= self.full_at
            if full:
                self.full_at = now + self.app.config["SCHEDULER_TICK_SECONDS"]
            woken, self.pending = self.pending, set()
        with self.app.app_context():
            for pool in self.pools:
                free = pool.free()
                if (full and free > 0) or (pool.kind.name in woken and free >= pool.batch):
                    pool.submit(claim_due(pool.kind, OWNER, utcnow(), lease, free))

    def prune(self) -> None:
        """Delete health checks older than the retention period."""
        days = self.app.config["HEALTH_RETENTION_DAYS"]
        with self.app.app_context():
            removed = prune_health(utcnow() - timedelta(days=days))
        if removed:
            log.info("pruned %s health checks older than %s days", removed, days)

    def stop(self, wait: bool = False) -> None:
        """Stop scheduling and take no more work; running jobs finish in their threads (and
        are waited for when `wait`)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        for pool in self.pools:
            pool.stop(wait)

    def wake(self, kind: str | None = None) -> None:
        """Run the tick now instead of at its next interval, for one kind of job or all."""
        with self.lock:
            self.pending.update([kind] if kind else [p.kind.name for p in self.pools])
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
        log.info("scheduler started as %s: %s", OWNER,
                 ", ".join(f"{p.workers} {p.kind.name} workers" for p in runner.pools))
    return runner


def wake(app: Flask) -> None:
    """Wake the tick of the app's scheduler, if it runs in this process."""
    runner = app.extensions.get("datadock_runner")
    if runner is not None:
        runner.wake()
