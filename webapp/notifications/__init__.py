"""Notification channels and events (use-cases): channels per organization (webhook, Slack,
email; admins), the events every member reads, Send test and Redeliver. Events are recorded and
delivered by the jobs (jobs/events.py, jobs/deliveries.py)."""

from __future__ import annotations

from .channels import (
    CHANNEL_TYPES,
    channel_view,
    create_channel,
    delete_channel,
    get_channel,
    list_channels,
)
from .events import EVENT_TYPES, event_view, list_events
from .log import delivery_view, list_deliveries, redeliver, send_test

__all__ = [
    "CHANNEL_TYPES",
    "EVENT_TYPES",
    "channel_view",
    "create_channel",
    "delete_channel",
    "delivery_view",
    "event_view",
    "get_channel",
    "list_channels",
    "list_deliveries",
    "list_events",
    "redeliver",
    "send_test",
]
