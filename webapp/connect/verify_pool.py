"""Verify slots: every verify (form, htmx, API, and the verify a save makes) runs in a slot of
its own, at most VERIFY_CONCURRENCY per process and VERIFY_CONCURRENCY_PER_ORG per organization.

A request that finds no free slot is refused at once with VerifyBusy (429 RateLimitExceeded,
Retry-After) instead of waiting, so however many silent hosts are being tried, the process's
other request threads stay free for pages and the API. The bound must stay below the web
server's thread count (gunicorn `--threads`): the requesting thread waits for its verify.

The verify itself runs on a thread of the process's own (`datadock-verify-N`: a daemon thread,
started when none is idle and then reused) under the app context, and the request waits for it
at most the verify deadline plus GRACE_SECONDS: a driver that ignores its own timeout keeps its
slot and its thread (so the bound still holds, and the process still exits) but not the
request thread.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app

from .. import request_ids
from ..core.refusal import ConnectionFailed, VerifyBusy

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_CONCURRENCY = 4
DEFAULT_PER_ORG = 2
# Seconds past the verify deadline a request waits for a driver that overruns it.
GRACE_SECONDS = 2.0
_EXTENSION = "datadock_verify_slots"
THREAD_PREFIX = "datadock-verify"
_create_lock = threading.Lock()
ALL: Hashable = object()  # in_flight() of every organization


@dataclass(frozen=True)
class _Slot:
    org: Hashable
    deadline: float  # time.monotonic() when the verify's own deadline passes


class VerifySlots:
    """One process's taken slots; the limits are passed to each `acquire` (read from config)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._taken: dict[int, _Slot] = {}
        self._ids = itertools.count(1)
        self.threads = _Threads()

    def acquire(self, org: Hashable, size: int, per_org: int, seconds: float) -> int:
        """Take a slot for `org` for about `seconds`, or raise VerifyBusy; returns its token."""
        now = time.monotonic()
        with self._lock:
            taken = list(self._taken.values())
            mine = [s for s in taken if s.org == org]
            if len(taken) >= max(1, size):
                raise _busy(
                    taken,
                    now,
                    f"Datadock is already verifying {_count(taken)}; try again in a few seconds.",
                )
            if len(mine) >= max(1, per_org):
                raise _busy(
                    mine,
                    now,
                    "Your organization is already verifying "
                    f"{_count(mine)} at once; try again in a few seconds.",
                )
            token = next(self._ids)
            self._taken[token] = _Slot(org, now + seconds)
            return token

    def release(self, token: int) -> None:
        """Free the slot (a token released twice is ignored)."""
        with self._lock:
            self._taken.pop(token, None)

    def in_flight(self, org: Hashable = ALL) -> int:
        """Slots taken now: all of them, or `org`'s."""
        with self._lock:
            return sum(1 for s in self._taken.values() if org is ALL or s.org == org)


class _Threads:
    """Daemon threads for verifies: one is started when no thread is idle, then it waits for
    the next verify (a thread costs more to start than a verify's hand-off)."""

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a task, or about to
        self._names = itertools.count(1)

    def submit(self, task: Callable[[], None]) -> None:
        """Run `task` on an idle thread, or on a new one."""
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        self._tasks.put(task)
        if start:
            name = f"{THREAD_PREFIX}-{next(self._names)}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        while True:
            self._tasks.get()()  # a task never raises: verify_pool.run's task catches all
            with self._lock:
                self._idle += 1


def _count(slots: list[_Slot]) -> str:
    return f"{len(slots)} connection" + ("" if len(slots) == 1 else "s")


def _busy(slots: list[_Slot], now: float, detail: str) -> VerifyBusy:
    """The refusal; Retry-After is when the soonest of these verifies reaches its deadline."""
    soonest = min(s.deadline for s in slots)
    return VerifyBusy(detail, max(1000, math.ceil((soonest - now) * 1000)), len(slots))


def slots_of(app: Flask) -> VerifySlots:
    """The app's slots in this process (a forked worker starts with none taken)."""
    slots = app.extensions.get(_EXTENSION)
    if slots is None or slots.pid != os.getpid():
        with _create_lock:
            slots = app.extensions.get(_EXTENSION)
            if slots is None or slots.pid != os.getpid():
                slots = app.extensions[_EXTENSION] = VerifySlots()
    return slots


def limits(app: Flask) -> tuple[int, int]:
    """(verifies per process, verifies per organization) from the app's config."""
    size = int(app.config.get("VERIFY_CONCURRENCY", DEFAULT_CONCURRENCY))
    return size, int(app.config.get("VERIFY_CONCURRENCY_PER_ORG", DEFAULT_PER_ORG))


def run(org_id: Hashable, timeout: float, work: Callable[[], T]) -> T:
    """Run `work` (one verify with deadline `timeout`) in a slot of `org_id`; return its result.

    Raises VerifyBusy when no slot is free, whatever `work` raises, or ConnectionFailed
    ("timeout") when `work` overruns its deadline by GRACE_SECONDS (its slot stays taken
    until it returns).
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    size, per_org = limits(app)
    slots = slots_of(app)
    token = slots.acquire(org_id, size, per_org, timeout)
    future: Future[Any] = Future()
    request_id = request_ids.current() or request_ids.new_id()

    def task() -> None:
        result: Any = None
        failure: BaseException | None = None
        try:
            with app.app_context(), request_ids.bind(request_id):
                result = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
            failure = exc
        finally:
            slots.release(token)  # before the waiter wakes: its next try finds the slot free
        if failure is not None:
            future.set_exception(failure)
        else:
            future.set_result(result)

    try:
        slots.threads.submit(task)
    except BaseException:
        slots.release(token)
        raise
    try:
        return future.result(timeout=timeout + GRACE_SECONDS)
    except FutureTimeout:
        log.warning(
            "a verify overran its %g s deadline; its slot stays taken until the driver returns",
            timeout,
        )
        raise ConnectionFailed(
            "timeout",
            f"The connection attempt did not finish within {timeout:g} s and was "
            "abandoned. Check the host and port, and allow Datadock's outbound address in the "
            "database's firewall.",
        ) from None
