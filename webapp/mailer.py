"""Outgoing mail through the operator's SMTP server (DATADOCK_SMTP_URL), with a timeout."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

TIMEOUT_SECONDS = 10.0


class MailNotConfigured(RuntimeError):
    """DATADOCK_SMTP_URL is not set: no mail can be sent."""


def configured() -> bool:
    """Whether the operator configured a mail server."""
    return bool(current_app.config.get("SMTP_URL"))


def send_mail(to: list[str], subject: str, text: str, html: str | None = None) -> None:
    """Send one message to `to`; smtp:// upgrades with STARTTLS when the server offers it,
    smtps:// speaks TLS from the start. Raises MailNotConfigured, OSError or SMTPException."""
    url = current_app.config.get("SMTP_URL")
    if not url:
        raise MailNotConfigured("DATADOCK_SMTP_URL is not set")
    parts = urlsplit(url)
    message = EmailMessage()
    message["From"] = current_app.config.get("SMTP_FROM") or "datadock@localhost"
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    host = parts.hostname or "localhost"
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(host, parts.port or 587, timeout=TIMEOUT_SECONDS)
    with client:
        if parts.scheme == "smtp":
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif parts.username:
                raise smtplib.SMTPNotSupportedError(
                    f"{host} offers no STARTTLS: Datadock does not send a password in clear"
                )
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
