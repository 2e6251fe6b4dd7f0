"""Notification channel endpoints (API keys act as admins): create (the webhook's
signingSecret is in the 201 answer only), list, get, delete, send a test, the delivery log and
Redeliver; and the organization's events, newest first."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from .. import notifications as uc
from ..core.refusal import Refusal
from . import bp
from .data_sources import _ID, DATA_SOURCES, _body, _cursor_arg, _int_arg, _org, _query
from .errors import ApiError, invalid

ORG = DATA_SOURCES.removesuffix("/data-sources")
CHANNELS = ORG + "/notification-channels"
ONE = CHANNELS + "/<channel_id>"
FIELDS = {"type", "name", "url", "addresses", "events", "sourceIds"}


def _no_such_channel() -> ApiError:
    return ApiError(404, "NotFound", "No such notification channel in this organization.")


def _channel(org: Any, channel_id: str) -> Any:
    channel = uc.get_channel(org, int(channel_id)) if _ID.match(channel_id) else None
    if channel is None:
        raise _no_such_channel()
    return channel


@bp.post(CHANNELS)
def create_notification_channel(org_id: str) -> Any:
    """A webhook, Slack or email channel; 201 with a Location."""
    org = _org(org_id)
    body = _body()
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise invalid({name: "Unknown field" for name in unknown})
    channel, secret = uc.create_channel(org, body)
    data = uc.channel_view(channel)
    if secret is not None:
        data["signingSecret"] = secret  # shown once: only the encrypted copy is kept
    response = jsonify(data=data)
    response.status_code = 201
    response.headers["Location"] = url_for(
        ".get_notification_channel", org_id=org.id, channel_id=channel.id
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(CHANNELS)
def list_notification_channels(org_id: str) -> Any:
    """Every channel of the organization (never a URL or secret)."""
    _query(set())
    return jsonify(data=[uc.channel_view(c) for c in uc.list_channels(_org(org_id))])


@bp.get(ONE)
def get_notification_channel(org_id: str, channel_id: str) -> Any:
    """One channel."""
    _query(set())
    return jsonify(data=uc.channel_view(_channel(_org(org_id), channel_id)))


@bp.delete(ONE)
def delete_notification_channel(org_id: str, channel_id: str) -> Any:
    """Remove the channel, its secrets and its log."""
    uc.delete_channel(_channel(_org(org_id), channel_id))
    return jsonify(data={"success": True})


@bp.post(ONE + "/test")
def test_notification_channel(org_id: str, channel_id: str) -> Any:
    """Queue a `test` event for this channel; 202 with the pending delivery."""
    delivery = uc.send_test(_channel(_org(org_id), channel_id))
    return jsonify(data=uc.delivery_view(delivery)), 202


@bp.get(ONE + "/deliveries")
def list_channel_deliveries(org_id: str, channel_id: str) -> Any:
    """The channel's delivery log, newest first."""
    channel = _channel(_org(org_id), channel_id)
    _query({"limit", "cursor"})
    rows, more = uc.list_deliveries(channel, _int_arg("limit", 50, 1, 100), _cursor_arg())
    return jsonify(
        data=[uc.delivery_view(d, e) for d, e in rows],
        pagination={"nextCursor": str(rows[-1][0].id) if more else None, "hasMore": more},
    )


@bp.post(ONE + "/deliveries/<delivery_id>/redeliver")
def redeliver_channel_delivery(org_id: str, channel_id: str, delivery_id: str) -> Any:
    """Send a delivery's event again (a new delivery); 202."""
    channel = _channel(_org(org_id), channel_id)
    try:
        delivery = uc.redeliver(channel, delivery_id)
    except Refusal:
        raise ApiError(404, "NotFound", "No such delivery on this channel.") from None
    return jsonify(data=uc.delivery_view(delivery)), 202


@bp.get(ORG + "/events")
def list_organization_events(org_id: str) -> Any:
    """The organization's events (the webhook payloads), newest first."""
    org = _org(org_id)
    _query({"limit", "cursor", "type", "sourceId"})
    kind = request.args.get("type") or None
    if kind is not None and kind not in (*uc.EVENT_TYPES, "test"):
        raise invalid({"type": "Choose one of: " + ", ".join((*uc.EVENT_TYPES, "test"))})
    source = request.args.get("sourceId")
    if source is not None and not _ID.match(source):
        raise invalid({"sourceId": "Use a data source id"})
    rows, more = uc.list_events(
        org, _int_arg("limit", 50, 1, 100), _cursor_arg(), kind, int(source) if source else None
    )
    return jsonify(
        data=[uc.event_view(e) for e in rows],
        pagination={"nextCursor": str(rows[-1].id) if more else None, "hasMore": more},
    )


# The key scope each operation needs (read by the API guard): channels are for admin keys,
# events for any key of the organization.
for _view in (
    create_notification_channel,
    list_notification_channels,
    get_notification_channel,
    delete_notification_channel,
    test_notification_channel,
    list_channel_deliveries,
    redeliver_channel_delivery,
):
    _view.scope = "admin"  # type: ignore[union-attr]
list_organization_events.scope = "read"  # type: ignore[attr-defined]
