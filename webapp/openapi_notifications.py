"""The OpenAPI entries of notification channels (admin keys) and events (read keys), merged
into the document by openapi.build_document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .jobs.events import EVENT_TYPES
from .notifications.channels import CHANNEL_TYPES
from .openapi_parts import operation, ref

PREFIX = "/api/public"
TAG = "Notifications"


_ref = ref


def schemas() -> dict[str, Any]:
    """NotificationChannel, CreateNotificationChannel, Delivery and Event."""
    moment = {"type": ["string", "null"], "format": "date-time"}
    events = {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}}
    return {
        "NotificationChannel": {
            "type": "object",
            "required": ["id", "type", "name", "events", "createdAt"],
            "properties": {
                "id": {"type": "string"},
                "type": {"type": "string", "enum": list(CHANNEL_TYPES)},
                "name": {"type": "string"},
                "events": events,
                "sourceIds": {
                    "type": ["array", "null"],
                    "items": {"type": "string"},
                    "description": "Only these sources' events (null: all).",
                },
                "host": {
                    "type": "string",
                    "description": "The URL's host (webhook, Slack); "
                    "the URL itself is never returned.",
                },
                "addresses": {"type": "array", "items": {"type": "string"}},
                "signingSecret": {
                    "type": "string",
                    "description": "Webhooks: only in the 201 answer that created the channel.",
                },
                "createdAt": moment,
            },
        },
        "CreateNotificationChannel": {
            "type": "object",
            "required": ["type"],
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "enum": list(CHANNEL_TYPES)},
                "name": {"type": "string", "maxLength": 120},
                "url": {
                    "type": "string",
                    "maxLength": 2000,
                    "writeOnly": True,
                    "description": "webhook, slack: where events are POSTed.",
                },
                "addresses": {
                    "type": "array",
                    "items": {"type": "string"},
                    "maxItems": 20,
                    "description": "email: the recipients.",
                },
                "events": {**events, "description": "Default: every event type."},
                "sourceIds": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Default: every source.",
                },
            },
        },
        "Delivery": {
            "type": "object",
            "required": ["id", "status", "attempts"],
            "properties": {
                "id": {"type": "string", "description": "X-Datadock-Delivery"},
                "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                "attempts": {"type": "integer"},
                "responseCode": {"type": ["integer", "null"]},
                "error": {"type": ["string", "null"]},
                "createdAt": moment,
                "lastAttemptAt": moment,
                "nextAttemptAt": moment,
                "deliveredAt": moment,
                "log": {"type": "array", "items": {"type": "object"}},
                "event": {"type": "object"},
            },
        },
        "Event": {
            "type": "object",
            "required": ["id", "type", "occurredAt", "organizationId", "source", "data", "url"],
            "properties": {
                "id": {"type": "string"},
                "type": {"type": "string", "enum": [*EVENT_TYPES, "test"]},
                "occurredAt": {"type": "string", "format": "date-time"},
                "organizationId": {"type": "string"},
                "source": {
                    "type": ["object", "null"],
                    "properties": {
                        "id": {"type": "string"},
                        "displayName": {"type": "string"},
                        "dialect": {"type": "string"},
                    },
                },
                "data": {"type": "object"},
                "url": {"type": "string"},
            },
        },
    }


def parameters() -> dict[str, Any]:
    """The parameters of these operations."""
    return {
        "channelId": {
            "name": "channelId",
            "in": "path",
            "required": True,
            "description": "Notification channel ID",
            "schema": {"type": "string"},
        },
        "deliveryId": {
            "name": "deliveryId",
            "in": "path",
            "required": True,
            "description": "Delivery ID (a UUID)",
            "schema": {"type": "string"},
        },
        "eventType": {
            "name": "type",
            "in": "query",
            "required": False,
            "description": "Only events of this type.",
            "schema": {"type": "string", "enum": [*EVENT_TYPES, "test"]},
        },
        "sourceId": {
            "name": "sourceId",
            "in": "query",
            "required": False,
            "description": "Only events of this data source.",
            "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
        },
    }


def paths(
    ok: Callable[..., dict[str, Any]],
    errors: Callable[..., dict[str, Any]],
    data: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """The operations, with openapi.py's answer builders."""
    many = f"{PREFIX}/organizations/{{orgId}}/notification-channels"
    one = many + "/{channelId}"
    channel = data(_ref("schemas", "NotificationChannel"))
    delivery = data(_ref("schemas", "Delivery"))

    def op(
        op_id: str,
        summary: str,
        description: str,
        responses: dict[str, Any],
        params: tuple[str, ...] = ("orgId",),
        body: str | None = None,
        scope: str = "admin",
    ) -> dict[str, Any]:
        return operation(
            op_id, summary, description, responses, tag=TAG, params=params, body=body, scope=scope
        )

    ids = ("orgId", "channelId")
    return {
        many: {
            "get": op(
                "listNotificationChannels",
                "List notification channels",
                "The organization's channels; URLs and secrets are never returned.",
                {
                    **ok(
                        "Channels",
                        data({"type": "array", "items": _ref("schemas", "NotificationChannel")}),
                    ),
                    **errors("404"),
                },
            ),
            "post": op(
                "createNotificationChannel",
                "Create a notification channel",
                "A signed webhook, a Slack incoming webhook or email addresses. The URL "
                "must pass the egress policy. A webhook's signingSecret is in this "
                "answer only.",
                {**ok("Channel created", channel, "201"), **errors("400", "404")},
                body="CreateNotificationChannel",
            ),
        },
        one: {
            "get": op(
                "getNotificationChannel",
                "Get a notification channel",
                "One channel.",
                {**ok("The channel", channel), **errors("404")},
                ids,
            ),
            "delete": op(
                "deleteNotificationChannel",
                "Delete a notification channel",
                "Removes the channel, its secrets and its delivery log.",
                {**ok("Deleted", data({"type": "object"})), **errors("404")},
                ids,
            ),
        },
        one + "/test": {
            "post": op(
                "testNotificationChannel",
                "Send a test event",
                "Queues a `test` event for this channel; the delivery job sends it.",
                {**ok("Test queued", delivery, "202"), **errors("404")},
                ids,
            )
        },
        one + "/deliveries": {
            "get": op(
                "listChannelDeliveries",
                "Delivery log of a channel",
                "Deliveries newest first: status, response code, attempts and their times.",
                {
                    **ok(
                        "Deliveries",
                        data({"type": "array", "items": _ref("schemas", "Delivery")}, "Pagination"),
                    ),
                    **errors("400", "404"),
                },
                (*ids, "limit", "cursor"),
            )
        },
        one + "/deliveries/{deliveryId}/redeliver": {
            "post": op(
                "redeliverChannelDelivery",
                "Redeliver",
                "Sends the delivery's event again as a new delivery (a new X-Datadock-Delivery).",
                {**ok("Redelivery queued", delivery, "202"), **errors("404")},
                (*ids, "deliveryId"),
            )
        },
        f"{PREFIX}/organizations/{{orgId}}/events": {
            "get": op(
                "listEvents",
                "List events",
                "The organization's events (the payloads channels receive), newest first.",
                {
                    **ok(
                        "Events",
                        data({"type": "array", "items": _ref("schemas", "Event")}, "Pagination"),
                    ),
                    **errors("400", "404"),
                },
                ("orgId", "limit", "cursor", "eventType", "sourceId"),
                scope="read",
            )
        },
    }
