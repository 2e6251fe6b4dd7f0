"""The delivery job: claim due deliveries through the store, send each once, record how it went.

A delivery is claimed the way sources are (jobs/claims.py): one conditional UPDATE … RETURNING
over a `FOR UPDATE SKIP LOCKED` subquery on PostgreSQL sets a short lease, so several processes
never send one delivery twice at once. A failed attempt (network, 5xx, 429) is retried after
1, 2, 4 … minutes, at most an hour apart, for a day; then the delivery is `failed`. Any other
4xx, or an address the egress policy refuses, fails it at once.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import Delivery, Event, NotificationChannel, utcnow
from ..vault import Vault
from .senders import Message, Outcome, send

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
TIMEOUT_SECONDS = 10.0
FIRST_RETRY_SECONDS = 60.0
MAX_RETRY_SECONDS = 3600.0
RETRY_WINDOW = timedelta(hours=24)
LOG_KEPT = 20  # attempts kept in a delivery's log


def _due(now: datetime):
    return (
        (Delivery.status == "pending")
        & (Delivery.next_attempt_at <= now)
        & or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
    )


def claim(owner: str, now: datetime, limit: int, lease_seconds: float = LEASE_SECONDS) -> list[int]:
    """Lease up to `limit` due deliveries to `owner`, the oldest due first."""
    if limit <= 0:
        return []
    candidates = (
        select(Delivery.id).where(_due(now)).order_by(Delivery.next_attempt_at).limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = list(
        db.session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(candidates.scalar_subquery()), _due(now))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return claimed


def message_for(
    delivery: Delivery, channel: NotificationChannel, event: Event, vault: Vault
) -> Message:
    """What to send, with the channel's secrets decrypted (never logged or stored)."""
    secrets = vault.decrypt(channel.secrets_blob)
    addresses = (
        tuple(a.strip() for a in channel.target.split(",") if a.strip())
        if channel.type == "email"
        else ()
    )
    return Message(
        channel.type,
        event.payload,
        delivery.uid,
        secrets.get("url"),
        secrets.get("signingSecret"),
        addresses,
    )


def run_delivery(delivery_id: int, owner: str, now: datetime | None = None) -> Outcome | None:
    """Send the delivery if `owner` holds its lease; record the attempt. The store connection
    is given back while the network is awaited."""
    try:
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is None or delivery.lease_owner != owner or delivery.status != "pending":
            return None
        channel = db.session.get(NotificationChannel, delivery.channel_id)
        event = db.session.get(Event, delivery.event_id)
        if channel is None or event is None:
            return None
        message = message_for(delivery, channel, event, current_app.extensions["datadock_vault"])
        db.session.commit()
        outcome = send(message, TIMEOUT_SECONDS)
        _record(delivery_id, owner, outcome, now or utcnow())
        return outcome
    finally:
        db.session.rollback()


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: 60, 120, 240 … ≤ 3600."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1), MAX_RETRY_SECONDS)


def _record(delivery_id: int, owner: str, outcome: Outcome, now: datetime) -> None:
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.lease_owner != owner:
        return
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.last_attempt_at = now
    delivery.response_code = outcome.code
    delivery.error = outcome.error
    delivery.attempt_log = [
        *(delivery.attempt_log or []),
        {"at": now.isoformat() + "Z", "code": outcome.code, "error": outcome.error},
    ][-LOG_KEPT:]
    delivery.lease_owner = delivery.lease_until = None
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    else:
        retry_at = now + timedelta(seconds=retry_delay(delivery.attempts))
        if outcome.retry and retry_at <= delivery.created_at + RETRY_WINDOW:
            delivery.next_attempt_at = retry_at
        else:
            delivery.status, delivery.next_attempt_at = "failed", None
    db.session.commit()
    log.info(
        "delivery %s (attempt %s): %s",
        delivery.uid,
        delivery.attempts,
        delivery.status if not outcome.error else f"{delivery.status}, {outcome.error}",
    )


def run_due(owner: str, now: datetime | None = None, limit: int = 50) -> int:
    """Claim and send the due deliveries one after another (tests and the CLI); how many."""
    ids = claim(owner, now or utcnow(), limit)
    for delivery_id in ids:
        run_delivery(delivery_id, owner, now)
    return len(ids)


class Worker:
    """The scheduler's delivery pool: a tick claims as many as there are free threads."""

    def __init__(self, app: Flask, owner: str, threads: int = 4) -> None:
        self.app, self.owner, self.threads = app, owner, threads
        self.busy = 0
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="datadock-delivery")

    def tick(self) -> None:
        """Claim due deliveries for the free threads and send them there."""
        with self.lock:
            free = self.threads - self.busy
        if free <= 0:
            return
        with self.app.app_context():
            ids = claim(self.owner, utcnow(), free)
        for delivery_id in ids:
            with self.lock:
                self.busy += 1
            try:
                self.pool.submit(self._run, delivery_id)
            except RuntimeError:  # shutting down: the lease expires and another takes it
                with self.lock:
                    self.busy -= 1

    def _run(self, delivery_id: int) -> None:
        try:
            with self.app.app_context():
                run_delivery(delivery_id, self.owner)
        except Exception:
            log.exception("delivery %s crashed", delivery_id)
        finally:
            with self.lock:
                self.busy -= 1

    def stop(self, wait: bool = False) -> None:
        """Take no more work."""
        self.pool.shutdown(wait=wait, cancel_futures=True)
