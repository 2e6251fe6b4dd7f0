"""The verify slots themselves (webapp/connect/verify_pool.py): bounds per organization and per
process, the refusal's Retry-After, slots freed whatever the verify does, and a verify that
overruns its deadline keeping its slot but not the request.

`work` here is a plain function that waits on an Event: these tests are about the slots, the
network is tried in tests/integration/test_verify_pool.py."""

from __future__ import annotations

import threading
import time

import pytest

from webapp import request_ids
from webapp.connect import verify_pool
from webapp.connect.errors import ConnectionFailed
from webapp.connect.verify_pool import VerifyBusy, VerifySlots


def _poll(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_one_organization_cannot_take_every_slot():
    slots = VerifySlots()
    first = slots.acquire("a", 4, 2, 10)
    slots.acquire("a", 4, 2, 10)
    with pytest.raises(VerifyBusy) as caught:
        slots.acquire("a", 4, 2, 10)
    assert caught.value.status == 429 and caught.value.title == "RateLimitExceeded"
    assert caught.value.detail == (
        "Your organization is already verifying 2 connections at once; try again in a few seconds."
    )
    assert 9000 <= caught.value.retry_after_ms <= 10000
    assert caught.value.retry_after_seconds == 10
    slots.acquire("b", 4, 2, 3)  # another organization still gets slots
    slots.release(first)
    slots.acquire("a", 4, 2, 10)  # a freed slot is taken again
    assert slots.in_flight() == 3 and slots.in_flight("a") == 2 and slots.in_flight("b") == 1


def test_the_process_bound_holds_across_organizations():
    slots = VerifySlots()
    for org, seconds in (("a", 30), ("b", 2), ("c", 30)):
        slots.acquire(org, 3, 2, seconds)
    with pytest.raises(VerifyBusy) as caught:
        slots.acquire("d", 3, 2, 30)
    assert caught.value.detail == (
        "Datadock is already verifying 3 connections; try again in a few seconds."
    )
    # Retry-After: when the soonest verify in flight reaches its deadline.
    assert 1000 <= caught.value.retry_after_ms <= 2000
    assert caught.value.in_flight == 3


def test_a_verify_runs_in_a_slot_with_the_app_context_and_the_request_id(quick_app):
    seen = {}

    def work() -> str:
        from flask import current_app

        seen["app"] = current_app._get_current_object()
        seen["request_id"] = request_ids.current()
        seen["in_flight"] = verify_pool.slots_of(quick_app).in_flight()
        return "PostgreSQL 16"

    with quick_app.app_context(), request_ids.bind("req-123"):
        assert verify_pool.run(7, 3.0, work) == "PostgreSQL 16"
    assert seen == {"app": quick_app, "request_id": "req-123", "in_flight": 1}
    assert verify_pool.slots_of(quick_app).in_flight() == 0


def test_a_failed_verify_frees_its_slot_and_its_error_reaches_the_caller(quick_app):
    def work() -> None:
        raise ConnectionFailed("auth", "The server rejected the username or password.")

    with quick_app.app_context(), pytest.raises(ConnectionFailed) as caught:
        verify_pool.run(7, 3.0, work)
    assert caught.value.step == "auth"
    assert verify_pool.slots_of(quick_app).in_flight() == 0


def test_a_second_verify_of_a_full_organization_is_refused_at_once(quick_app):
    quick_app.config.update(VERIFY_CONCURRENCY=4, VERIFY_CONCURRENCY_PER_ORG=1)
    release = threading.Event()
    slots = verify_pool.slots_of(quick_app)

    def hold() -> None:
        with quick_app.app_context():
            verify_pool.run(7, 3.0, release.wait)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        _poll(lambda: slots.in_flight(7) == 1)
        with quick_app.app_context(), pytest.raises(VerifyBusy) as caught:
            verify_pool.run(7, 3.0, lambda: pytest.fail("a refused verify must not run"))
        assert "1 connection at once" in caught.value.detail
        with quick_app.app_context():
            assert verify_pool.run(8, 3.0, lambda: "other org") == "other org"
    finally:
        release.set()
        holder.join(timeout=10)
        quick_app.config.update(VERIFY_CONCURRENCY_PER_ORG=2)
    assert slots.in_flight() == 0


def test_an_overrunning_verify_frees_the_request_but_keeps_its_slot(quick_app, monkeypatch):
    monkeypatch.setattr(verify_pool, "GRACE_SECONDS", 0.2)
    release = threading.Event()
    slots = verify_pool.slots_of(quick_app)
    try:
        with quick_app.app_context(), pytest.raises(ConnectionFailed) as caught:
            verify_pool.run(9, 0.3, release.wait)  # a driver that ignores its deadline
        assert caught.value.step == "timeout"
        assert "did not finish within 0.3 s" in caught.value.detail
        assert slots.in_flight(9) == 1  # still counted: the bound holds for hung drivers
    finally:
        release.set()
    _poll(lambda: slots.in_flight(9) == 0)
