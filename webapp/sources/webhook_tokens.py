"""Per-source webhook tokens that let an ETL job trigger a sync: a random 32-byte token, shown
once, stored only as its SHA-256 (the token is random, so a slow hash adds nothing). Creating
or revoking one is one transaction with its audit event."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .. import audit, ratelimit
from ..core.refusal import WebhookRefused, WebhookThrottled
from ..extensions import db
from ..models import Source, SyncRun
from .commands import one_transaction, request_sync

TOKEN_BYTES = 32
# Webhook calls one source accepts per minute (a call while a sync is queued joins it).
WEBHOOK_RATE = (30, 60)


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(source: Source | None, token: str | None) -> bool:
    """Whether `token` is the source's current webhook token (constant-time comparison)."""
    if source is None or not source.webhook_token_hash or not token or len(token) > 200:
        return False
    return hmac.compare_digest(source.webhook_token_hash, token_hash(token))


def create_webhook_token(source: Source) -> str:
    """A new webhook token for the source, replacing any earlier one (recorded as a rotation);
    returned this once."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    rotated = bool(source.webhook_token_hash)
    with one_transaction():
        source.webhook_token_hash = token_hash(token)
        audit.record(
            source.organization_id,
            "source.webhook_rotated" if rotated else "source.webhook_created",
            target_type="source",
            target_id=source.id,
            target_name=source.display_name,
        )
    return token


def revoke_webhook_token(source: Source) -> None:
    """The source's webhook URL stops working."""
    with one_transaction():
        source.webhook_token_hash = None
        audit.record(
            source.organization_id,
            "source.webhook_revoked",
            target_type="source",
            target_id=source.id,
            target_name=source.display_name,
        )


def webhook_sync(source_id: int, token: str | None) -> tuple[Source, SyncRun]:
    """Queue a sync of source `source_id` for a caller holding its webhook token.

    Raises WebhookRefused (unknown source or wrong token, told apart by nobody) or
    WebhookThrottled (more than WEBHOOK_RATE calls per window for this source).
    """
    source = db.session.get(Source, source_id)
    if not token_matches(source, token):
        raise WebhookRefused(
            "This webhook URL is not valid: the source does not exist or its "
            "token was rotated or revoked."
        )
    assert source is not None
    limit, window = WEBHOOK_RATE
    decision = ratelimit.hit("webhook", str(source.id), limit, window)
    if not decision.allowed:
        raise WebhookThrottled(
            f"This webhook was called more than {limit} times in {window} s. Try again in "
            f"{decision.retry_after_seconds} s.",
            decision.retry_after_ms,
        )
    return source, request_sync(source, trigger="webhook")
