"""Events as members read them: the Activity page and GET …/events, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..jobs.events import EVENT_TYPES, TEST
from ..models import Event, Organization

__all__ = ["EVENT_TYPES", "TEST", "event_view", "list_events"]


def list_events(
    org: Organization,
    limit: int = 50,
    before_id: int | None = None,
    kind: str | None = None,
    source_id: int | None = None,
) -> tuple[list[Event], bool]:
    """A page of the organization's events (newest first, before event `before_id`) and
    whether more follow."""
    query = select(Event).where(Event.organization_id == org.id)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    if kind:
        query = query.where(Event.type == kind)
    if source_id is not None:
        query = query.where(Event.source_id == source_id)
    rows = list(db.session.scalars(query.order_by(Event.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def event_view(event: Event) -> dict[str, Any]:
    """The event as delivered (the webhook payload)."""
    return dict(event.payload)
