"""APScheduler in-process: a short tick claims due work through the store and hands it to a
worker pool per kind of job; a heartbeat thread renews the leases of the jobs running here;
a prune job (hourly by default) drops old health history and spent rate-limit counters.

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

from ..extensions import db
from ..models import utcnow
from ..ratelimit import purge_spent
from . import deliveries, events, schedules
from .claims import HEALTH, SYNC, JobKind, claim_due, heartbeat, release
from .health import prune_health, run_health
from .sync import run_sync

log = logging.getLogger(__name__)

TICK_JOB = "tick"
PRUNE_JOB = "prune"
DELIVERY_JOB = "deliveries"
OWNER = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Pool:
    """A fixed number of worker threads for one kind of job, and how many are busy.

    Between full ticks, finished jobs wake the tick to refill the pool `batch` workers at a
    time, so a sweep of a thousand short checks costs a few dozen claims, not a thousand.
    """

    def __init__(
        self,
        kind: JobKind,
        workers: int,
        job: Callable[[int, str], None],
        app: Flask,
        done: Callable[[str], None],
    ) -> None:
        self.kind, self.workers, self.job, self.app, self.done = kind, workers, job, app, done
        self.batch = max(1, workers // 8)
        self.busy = 0
        self.running: set[int] = set()  # source ids whose jobs run here (their leases renewed)
        self.lock = threading.Lock()
        self.threads = ThreadPoolExecutor(workers, thread_name_prefix=f"datadock-{kind.name}")
        threading.Thread(
            target=self._start_threads, daemon=True, name=f"datadock-{kind.name}-start"
        ).start()

    def _start_threads(self) -> None:
        """Start every worker thread at boot (in the background), while the process is idle:
        started on demand in the middle of a sweep, each new thread waits for the GIL the
        running checks hold (milliseconds each), and a big sweep's last checks would start
        seconds late."""
        ready = threading.Event()
        try:
            for _ in range(self.workers):  # each blocks until all are submitted: none idles
                self.threads.submit(ready.wait, 10)
        except RuntimeError:  # stopped meanwhile
            pass
        finally:
            ready.set()

    def free(self) -> int:
        """Workers with nothing to do."""
        with self.lock:
            return self.workers - self.busy

    def held(self) -> list[int]:
        """The sources whose jobs run in this pool now."""
        with self.lock:
            return sorted(self.running)

    def submit(self, source_ids: list[int]) -> None:
        """Run the job for each claimed source."""
        with self.lock:
            self.busy += len(source_ids)
            self.running.update(source_ids)
        for source_id in source_ids:
            try:
                self.threads.submit(self._run, source_id)
            except RuntimeError:  # shutting down: give the claim back at once
                with self.lock:
                    self.busy -= 1
                    self.running.discard(source_id)
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
                self.running.discard(source_id)
            self.done(self.kind.name)

    def stop(self, wait: bool = False) -> None:
        """Take no more work; running jobs finish (waited for when `wait`)."""
        self.threads.shutdown(wait=wait, cancel_futures=True)


class Runner:
    """One app's scheduler: the tick (one thread), the prune job, the worker pools and the
    heartbeat thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.heartbeats = threading.Thread(
            target=self._heartbeats, daemon=True, name="datadock-heartbeat"
        )
        self.pending: set[str] = set()  # kinds woken since the last tick
        self.full_at = 0.0  # when the next tick claims for every pool, whatever is free
        self.pools = [
            Pool(SYNC, max(1, int(app.config["SCHEDULER_WORKERS"])), run_sync, app, self.wake)
        ]
        if app.config["HEALTH_INTERVAL"] > 0:
            self.pools.append(
                Pool(HEALTH, max(1, int(app.config["HEALTH_WORKERS"])), run_health, app, self.wake)
            )
        self.scheduler = BackgroundScheduler(
            executors={"default": SchedulerThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )
        now = datetime.now().astimezone()
        self.scheduler.add_job(
            self.tick,
            "interval",
            id=TICK_JOB,
            next_run_time=now,
            seconds=app.config["SCHEDULER_TICK_SECONDS"],
        )
        prune_every = app.config["PRUNE_INTERVAL"]
        self.scheduler.add_job(
            self.prune,
            "interval",
            id=PRUNE_JOB,
            seconds=prune_every,
            next_run_time=now + timedelta(seconds=min(60.0, prune_every)),
        )
        # Event deliveries (webhooks, Slack, email): their own threads, claimed like jobs.
        self.deliveries = deliveries.Worker(app, OWNER)
        self.scheduler.add_job(
            self.deliveries.tick,
            "interval",
            id=DELIVERY_JOB,
            seconds=app.config["SCHEDULER_TICK_SECONDS"],
            next_run_time=now,
        )

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
                    pool.submit(claim_due(pool.kind, OWNER, schedules.now(), lease, free))

    def prune(self) -> None:
        """Delete health checks older than the retention period, and the rate-limit counters
        of windows that ended."""
        days = self.app.config["HEALTH_RETENTION_DAYS"]
        with self.app.app_context():
            removed = prune_health(utcnow() - timedelta(days=days))
            counters = purge_spent(self.app.config, utcnow())
            old_events = events.prune_events(utcnow() - timedelta(days=events.EVENT_RETENTION_DAYS))
        if old_events:
            log.info("pruned %s events older than %s days", old_events, events.EVENT_RETENTION_DAYS)
        if removed:
            log.info("pruned %s health checks older than %s days", removed, days)
        if counters:
            log.info("purged %s spent rate-limit counters", counters)

    def renew_leases(self) -> int:
        """Extend the leases of every job running in this process; how many were renewed."""
        lease = self.app.config["JOB_LEASE_SECONDS"]
        renewed = 0
        with self.app.app_context():
            for pool in self.pools:
                renewed += heartbeat(pool.kind, pool.held(), OWNER, utcnow(), lease)
        return renewed

    def _heartbeats(self) -> None:
        """Every JOB_HEARTBEAT_SECONDS, renew the leases; after a stop, go on while jobs still
        run here (they finish with their leases). A failed beat is logged and tried again at
        the next one: a lease outlasts a missed beat or two."""
        every = self.app.config["JOB_HEARTBEAT_SECONDS"]
        while True:
            if self.stopped.is_set():
                time.sleep(every)
            else:
                self.stopped.wait(every)
            if self.stopped.is_set() and not any(pool.held() for pool in self.pools):
                return
            try:
                self.renew_leases()
            except Exception:
                log.exception("could not renew the job leases")
                with self.app.app_context():
                    db.session.rollback()

    def stop(self, wait: bool = False) -> None:
        """Stop scheduling and take no more work; running jobs finish in their threads (and
        are waited for when `wait`)."""
        self.stopped.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        for pool in self.pools:
            pool.stop(wait)
        self.deliveries.stop(wait)

    def wake(self, kind: str | None = None) -> None:
        """Run the tick now instead of at its next interval, for one kind of job or all."""
        with self.lock:
            self.pending.update([kind] if kind else [p.kind.name for p in self.pools])
        try:
            self.scheduler.modify_job(TICK_JOB, next_run_time=datetime.now().astimezone())
        except Exception:
            log.debug("could not wake the scheduler tick", exc_info=True)


def start(app: Flask) -> Runner:
    """Start the app's scheduler (idempotent) and stop it at exit."""
    runner = app.extensions.get("datadock_runner")
    if runner is None:
        runner = Runner(app)
        app.extensions["datadock_runner"] = runner
        runner.scheduler.start()
        runner.heartbeats.start()
        atexit.register(runner.stop)
        log.info(
            "scheduler started as %s: %s",
            OWNER,
            ", ".join(f"{p.workers} {p.kind.name} workers" for p in runner.pools),
        )
    return runner


def wake(app: Flask) -> None:
    """Wake the tick of the app's scheduler, if it runs in this process."""
    runner = app.extensions.get("datadock_runner")
    if runner is not None:
        runner.wake()
