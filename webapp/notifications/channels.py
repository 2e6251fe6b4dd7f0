"""Channels: create (validated, the URL checked against the egress policy, secrets encrypted
and the signing secret returned once), list, get, delete. Admins only (the faces check)."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from .. import audit, mailer
from ..core.refusal import ConnectionFailed, ValidationFailed
from ..extensions import db
from ..jobs.events import EVENT_TYPES, iso
from ..jobs.senders import check_url
from ..models import NotificationChannel, Organization, Source

CHANNEL_TYPES = ("webhook", "slack", "email")
MAX_URL = 2000
MAX_ADDRESSES = 20
_EMAIL = re.compile(r"^[^@\s,;<>]{1,64}@[^@\s,;<>]{1,253}\.[^@\s,;<>.]{2,63}$")


def _vault() -> Any:
    return current_app.extensions["datadock_vault"]


def _text_list(value: Any, field: str, errors: dict[str, str]) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,;]+", value) if part]
    if not isinstance(value, list):
        errors[field] = "Must be a list"
        return None
    return value


def _clean(org: Organization, raw: dict[str, Any]) -> dict[str, Any]:
    """The channel's values, or ValidationFailed with an error per field."""
    errors: dict[str, str] = {}
    kind = raw.get("type")
    if kind not in CHANNEL_TYPES:
        errors["type"] = "Choose one of: " + ", ".join(CHANNEL_TYPES)
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or len(name.strip()) > 120):
        errors["name"] = "Use at most 120 characters"
    clean: dict[str, Any] = {
        "type": kind,
        "name": (name or "").strip() if isinstance(name, str) else "",
    }
    if kind in ("webhook", "slack"):
        url = raw.get("url")
        if not isinstance(url, str) or not url.strip():
            errors["url"] = "Required: the URL to POST events to"
        elif len(url) > MAX_URL:
            errors["url"] = f"Use at most {MAX_URL} characters"
        else:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                errors["url"] = "Use an http:// or https:// URL"
            elif parts.username or parts.password:
                errors["url"] = "Leave user and password out of the URL"
            clean["url"] = url.strip()
    if kind == "email" and not mailer.configured():
        errors["type"] = "Email needs a mail server: the operator sets DATADOCK_SMTP_URL"
    if kind == "email":
        addresses = _text_list(raw.get("addresses"), "addresses", errors) or []
        if not addresses and "addresses" not in errors:
            errors["addresses"] = "Required: at least one email address"
        elif len(addresses) > MAX_ADDRESSES:
            errors["addresses"] = f"At most {MAX_ADDRESSES} addresses"
        elif not all(isinstance(a, str) and _EMAIL.match(a.strip()) for a in addresses):
            errors["addresses"] = "Use email addresses like ops@example.com"
        clean["addresses"] = [str(a).strip() for a in addresses]
    events = _text_list(raw.get("events"), "events", errors)
    if events is not None and "events" not in errors:
        if not events or any(e not in EVENT_TYPES for e in events):
            errors["events"] = "Choose from: " + ", ".join(EVENT_TYPES)
        elif set(events) != set(EVENT_TYPES):
            clean["events"] = [e for e in EVENT_TYPES if e in events]
    source_ids = _text_list(raw.get("sourceIds"), "sourceIds", errors)
    if source_ids and "sourceIds" not in errors:
        ids = [int(s) for s in source_ids if str(s).isdigit() and len(str(s)) < 18]
        known = (
            set(
                db.session.scalars(
                    select(Source.id).where(Source.organization_id == org.id, Source.id.in_(ids))
                )
            )
            if ids
            else set()
        )
        if len(ids) != len(source_ids) or set(ids) - known:
            errors["sourceIds"] = "Use ids of this organization's data sources"
        else:
            clean["sourceIds"] = sorted(set(ids))
    if errors:
        raise ValidationFailed("Some fields need attention.", errors)
    return clean


def create_channel(
    org: Organization, raw: dict[str, Any]
) -> tuple[NotificationChannel, str | None]:
    """Store a channel; returns it and the webhook's signing secret (shown once, else None).
    A URL whose host the egress policy refuses is refused here, as it is at delivery."""
    clean = _clean(org, raw)
    kind = clean["type"]
    blob: dict[str, str] = {}
    signing_secret = None
    if kind == "email":
        target = ", ".join(clean["addresses"])
    else:
        try:
            check_url(clean["url"], float(current_app.config["VERIFY_TIMEOUT"]))
        except ConnectionFailed as refused:
            raise ValidationFailed(
                refused.detail,
                {"url": refused.field_errors.get("url") or "Datadock cannot reach this URL"},
            ) from None
        target = urlsplit(clean["url"]).hostname or ""
        blob["url"] = clean["url"]
        if kind == "webhook":
            signing_secret = "whsec_" + secrets.token_urlsafe(32)
            blob["signingSecret"] = signing_secret
    default = {"webhook": "Webhook", "slack": "Slack", "email": "Email"}[kind]
    channel = NotificationChannel(
        organization_id=org.id,
        type=kind,
        name=clean["name"] or f"{default} to {target}"[:120],
        target=target[:2000],
        secrets_blob=_vault().encrypt(blob) if blob else None,
        events=clean.get("events"),
        source_ids=clean.get("sourceIds"),
    )
    db.session.add(channel)
    db.session.flush()
    audit.record(
        org.id,
        "notification_channel.created",
        target_type="notification_channel",
        target_id=channel.id,
        target_name=channel.name,
    )
    db.session.commit()
    return channel, signing_secret


def list_channels(org: Organization) -> list[NotificationChannel]:
    """The organization's channels, oldest first."""
    return list(
        db.session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.organization_id == org.id)
            .order_by(NotificationChannel.id)
        )
    )


def get_channel(org: Organization, channel_id: int) -> NotificationChannel | None:
    """One channel of the organization, or None (also another organization's)."""
    channel = db.session.get(NotificationChannel, channel_id)
    return channel if channel is not None and channel.organization_id == org.id else None


def delete_channel(channel: NotificationChannel) -> None:
    """Remove the channel, its secrets and its delivery log."""
    audit.record(
        channel.organization_id,
        "notification_channel.deleted",
        target_type="notification_channel",
        target_id=channel.id,
        target_name=channel.name,
    )
    db.session.delete(channel)
    db.session.commit()


def channel_view(channel: NotificationChannel) -> dict[str, Any]:
    """The channel as the API answers it: never a URL or a secret, the host only."""
    view: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "name": channel.name,
        "events": channel.events or list(EVENT_TYPES),
        "sourceIds": [str(i) for i in channel.source_ids] if channel.source_ids else None,
        "createdAt": iso(channel.created_at),
    }
    if channel.type == "email":
        view["addresses"] = [a.strip() for a in channel.target.split(",")]
    else:
        view["host"] = channel.target
    return view
