"""Per-source webhook tokens that let an ETL job trigger a sync: a random 32-byte token, shown
once, stored only as its SHA-256 (the token is random, so a slow hash adds nothing)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..extensions import db
from ..models import Source

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(source: Source) -> str:
    """A new token for the source (replacing any earlier one); returns it, the only time."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    source.webhook_token_hash = token_hash(token)
    db.session.commit()
    return token


def revoke_token(source: Source) -> None:
    """The source's webhook stops working."""
    source.webhook_token_hash = None
    db.session.commit()


def token_matches(source: Source | None, token: str | None) -> bool:
    """Whether `token` is the source's current webhook token (constant-time comparison)."""
    if source is None or not source.webhook_token_hash or not token or len(token) > 200:
        return False
    return hmac.compare_digest(source.webhook_token_hash, token_hash(token))
