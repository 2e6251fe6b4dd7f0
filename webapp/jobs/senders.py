"""Sending one delivery: a signed JSON POST (webhook), a readable message (Slack, email).

HTTP goes to the address the egress policy checked (connect/egress.py), with the URL's host
name in the Host header and TLS SNI/certificate check, so a name that resolves elsewhere later
cannot redirect a delivery; redirects are not followed; every step has a timeout.
"""

from __future__ import annotations

import http.client
import json
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import mailer
from ..connect import egress
from ..core.refusal import ConnectionFailed
from ..core.signatures import HEADER, sign

USER_AGENT = "Datadock-Webhooks/1"
MAX_ERROR = 300


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: delivered, to retry (network, 5xx, 429) or failed for good."""

    delivered: bool
    retry: bool
    code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Message:
    """Everything an attempt needs, read from the store before the network is awaited."""

    channel_type: str
    payload: dict[str, Any]
    delivery_uid: str
    url: str | None = None
    signing_secret: str | None = None
    addresses: tuple[str, ...] = ()


def send(message: Message, timeout: float) -> Outcome:
    """One attempt."""
    if message.channel_type == "email":
        return _email(message)
    if message.channel_type == "slack":
        body = json.dumps({"text": slack_text(message.payload)}).encode()
        return post(message.url or "", body, {}, timeout)
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "X-Datadock-Event": str(message.payload.get("type")),
        "X-Datadock-Delivery": message.delivery_uid,
        HEADER: sign(message.signing_secret or "", body),
    }
    return post(message.url or "", body, headers, timeout)


def check_url(url: str, timeout: float) -> str:
    """The address `url` would be sent to, or ConnectionFailed on the `url` field."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionFailed(
            "fields", "Use an http:// or https:// URL.", {"url": "Use an http:// or https:// URL"}
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return egress.resolve(parts.hostname, port, timeout, host_field="url")


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate of the URL's host name."""

    def __init__(self, address: str, port: int, name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._name = name

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]  # private in typeshed
            sock, server_hostname=self._name
        )


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """POST JSON to `url` through the egress policy; never follows a redirect."""
    try:
        address = check_url(url, timeout)
    except ConnectionFailed as refused:
        blocked = refused.field_errors.get("url") == egress.NOT_ALLOWED
        return Outcome(False, retry=not blocked, error=refused.detail[:MAX_ERROR])
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    name = parts.hostname or ""
    connection: http.client.HTTPConnection = (
        _PinnedHTTPS(address, port, name, timeout)
        if parts.scheme == "https"
        else http.client.HTTPConnection(address, port, timeout=timeout)
    )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = name if parts.port is None else f"{name}:{parts.port}"
    if ":" in name:  # an IPv6 literal
        host = f"[{name}]" if parts.port is None else f"[{name}]:{parts.port}"
    try:
        connection.request(
            "POST",
            path,
            body,
            {"Host": host, "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
        )
        response = connection.getresponse()
        response.read(65536)
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, retry=True, error=_network_error(exc))
    finally:
        connection.close()
    status = response.status
    if 200 <= status < 300:
        return Outcome(True, retry=False, code=status)
    retry = status >= 500 or status in (408, 429)
    return Outcome(False, retry=retry, code=status, error=f"The receiver answered {status}.")


def _network_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "The receiver did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return "The receiver refused the connection."
    if isinstance(exc, ssl.SSLError):
        return "The TLS handshake with the receiver failed (its certificate?)."
    return f"Could not reach the receiver ({type(exc).__name__})."


def _email(message: Message) -> Outcome:
    subject, text = email_text(message.payload)
    try:
        mailer.send_mail(list(message.addresses), subject, text)
    except mailer.MailNotConfigured:
        return Outcome(False, retry=False, error="No mail server: set DATADOCK_SMTP_URL.")
    except smtplib.SMTPRecipientsRefused:
        return Outcome(False, retry=False, error="The mail server refused the recipients.")
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, retry=True, error=f"Could not send mail ({type(exc).__name__}).")
    return Outcome(True, retry=False)


def headline(payload: dict[str, Any]) -> str:
    """One line saying what happened, e.g. "Orders DB is unhealthy"."""
    source = (payload.get("source") or {}).get("displayName") or "A data source"
    data = payload.get("data") or {}
    kind = payload.get("type")
    if kind == "source.unhealthy":
        return f"{source} is unhealthy ({data.get('consecutiveFailures')} failed checks in a row)"
    if kind == "source.recovered":
        return f"{source} recovered after {_duration(int(data.get('durationSeconds') or 0))}"
    if kind == "sync.failed":
        return f"Schema sync of {source} failed"
    if kind == "schema.changed":
        return f"The schema of {source} changed ({data.get('total')} changes)"
    if kind == "source.connected":
        return f"{source} was connected by {data.get('completedBy')} with an onboarding link"
    if kind == "test":
        return "Test notification from Datadock"
    return f"{kind} on {source}"


def details(payload: dict[str, Any]) -> list[str]:
    """More lines: the reason, or what changed."""
    data = payload.get("data") or {}
    lines = []
    if data.get("reason"):
        lines.append(str(data["reason"]))
    labels = {
        "tablesAdded": "Tables added",
        "tablesRemoved": "Tables removed",
        "columnsAdded": "Columns added",
        "columnsRemoved": "Columns removed",
        "columnsRetyped": "Columns retyped",
    }
    counts = data.get("counts") or {}
    for key, label in labels.items():
        if counts.get(key):
            names = ", ".join((data.get("first") or {}).get(key) or [])
            lines.append(f"{label}: {counts[key]}" + (f" ({names}…)" if names else ""))
    if payload.get("type") == "test":
        lines.append("This channel is set up: Datadock events will arrive like this one.")
    return lines


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def slack_text(payload: dict[str, Any]) -> str:
    """Slack mrkdwn: the headline, details, and a link."""
    lines = [
        f"*{_slack_escape(headline(payload))}*",
        *(_slack_escape(line) for line in details(payload)),
    ]
    if payload.get("url"):
        lines.append(f"<{payload['url']}|Open in Datadock>")
    return "\n".join(lines)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_text(payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body."""
    lines = [headline(payload), "", *details(payload)]
    if payload.get("url"):
        lines += ["", f"Open in Datadock: {payload['url']}"]
    lines += [
        "",
        f"Event {payload.get('id')} ({payload.get('type')}) at {payload.get('occurredAt')}",
    ]
    return f"[Datadock] {headline(payload)}", "\n".join(lines)
