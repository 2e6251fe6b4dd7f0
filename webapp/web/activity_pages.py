"""The Activity page (every member): the organization's events, newest first, by type."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import render_template, request

from .. import notifications as uc
from . import bp
from .access import current_org, viewer_required
from .notification_pages import EVENT_LABELS

PAGE = 50
KINDS = {**EVENT_LABELS, "test": "Test notifications"}


def describe(event: dict[str, Any]) -> str:
    """One line about an event's data."""
    data = event.get("data") or {}
    kind = event.get("type")
    if kind == "source.unhealthy":
        return f"{data.get('consecutiveFailures')} failed checks in a row: {data.get('reason')}"
    if kind == "source.recovered":
        seconds = int(data.get("durationSeconds") or 0)
        return f"Healthy again after {seconds // 60} min {seconds % 60} s"
    if kind == "sync.failed":
        return str(data.get("reason") or "")
    if kind == "schema.changed":
        counts = data.get("counts") or {}
        first = [name for names in (data.get("first") or {}).values() for name in names][:5]
        summary = (
            ", ".join(
                f"{label}: {counts[key]}"
                for key, label in (
                    ("tablesAdded", "tables added"),
                    ("tablesRemoved", "tables removed"),
                    ("columnsAdded", "columns added"),
                    ("columnsRemoved", "columns removed"),
                    ("columnsRetyped", "columns retyped"),
                )
                if counts.get(key)
            )
            or "changes"
        )
        return summary + (f" ({', '.join(first)}…)" if first else "")
    if kind == "source.connected":
        return f"Connected by {data.get('completedBy')} from {data.get('ipAddress')}"
    return str(data.get("message") or "")


def local(url: str) -> str:
    """An event's link as a path on this server (the payload's is absolute)."""
    parts = urlsplit(url)
    return parts.path + (f"#{parts.fragment}" if parts.fragment else "")


@bp.route("/activity")
@viewer_required
def activity() -> Any:
    """Events of the organization (the payloads its channels receive), paginated."""
    kind = request.args.get("type") or None
    if kind not in KINDS:
        kind = None
    before = request.args.get("before", type=int)
    rows, more = uc.list_events(current_org(), PAGE, before, kind)
    events = [uc.event_view(e) for e in rows]
    return render_template(
        "activity/list.html",
        events=events,
        kinds=KINDS,
        kind=kind,
        describe=describe,
        local=local,
        labels=KINDS,
        next_before=rows[-1].id if more else None,
    )
