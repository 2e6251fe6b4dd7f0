"""A channel's delivery log, Send test and Redeliver (each a new pending delivery that the
delivery job sends; never sent from the request thread)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from .. import audit
from ..core.refusal import ValidationFailed
from ..extensions import db
from ..jobs.events import TEST, iso, link, record
from ..models import Delivery, Event, NotificationChannel, utcnow


def list_deliveries(
    channel: NotificationChannel, limit: int = 50, before_id: int | None = None
) -> tuple[list[tuple[Delivery, Event]], bool]:
    """The channel's deliveries with their events, newest first, and whether more follow."""
    query = (
        select(Delivery, Event)
        .join(Event, Event.id == Delivery.event_id)
        .where(Delivery.channel_id == channel.id)
    )
    if before_id is not None:
        query = query.where(Delivery.id < before_id)
    rows = [
        tuple(r) for r in db.session.execute(query.order_by(Delivery.id.desc()).limit(limit + 1))
    ]
    return rows[:limit], len(rows) > limit  # type: ignore[return-value]


def send_test(channel: NotificationChannel) -> Delivery:
    """Queue a `test` event for this channel only."""
    event = record(
        channel.organization_id,
        TEST,
        None,
        {"message": "A test from Datadock.", "channelId": str(channel.id)},
        url=link("/activity"),
        channel=channel,
    )
    audit.record(
        channel.organization_id,
        "notification_channel.tested",
        target_type="notification_channel",
        target_id=channel.id,
        target_name=channel.name,
    )
    db.session.commit()
    return db.session.scalars(select(Delivery).where(Delivery.event_id == event.id)).one()


def redeliver(channel: NotificationChannel, delivery_uid: str) -> Delivery:
    """A new delivery of the same event to the same channel, due now."""
    old = db.session.scalar(select(Delivery).where(Delivery.uid == str(delivery_uid)[:36]))
    if old is None or old.channel_id != channel.id:
        raise ValidationFailed(
            "No such delivery on this channel.", {"deliveryId": "No such delivery on this channel"}
        )
    now = utcnow()
    again = Delivery(
        uid=str(uuid.uuid4()),
        channel_id=channel.id,
        event_id=old.event_id,
        status="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    db.session.add(again)
    db.session.flush()
    audit.record(
        channel.organization_id,
        "notification_delivery.redelivered",
        target_type="notification_channel",
        target_id=channel.id,
        target_name=channel.name,
        details={"deliveryId": old.uid},
    )
    db.session.commit()
    return again


def delivery_view(delivery: Delivery, event: Event | None = None) -> dict[str, Any]:
    """A log entry: status, response code, times, attempts."""
    view = {
        "id": delivery.uid,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "responseCode": delivery.response_code,
        "error": delivery.error,
        "createdAt": iso(delivery.created_at),
        "lastAttemptAt": iso(delivery.last_attempt_at),
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "deliveredAt": iso(delivery.delivered_at),
        "log": delivery.attempt_log or [],
    }
    if event is not None:
        view["event"] = {
            "id": event.uid,
            "type": event.type,
            "occurredAt": iso(event.occurred_at),
            "sourceName": (event.payload.get("source") or {}).get("displayName"),
        }
    return view
