"""API keys: create (the plaintext is returned once, only its SHA-256 is stored), revoke, list,
and recognise the key a request carries.

A key looks like `ddk_` + 43 URL-safe characters (256 random bits). Its first 12 characters are
kept as `prefix` so people can tell keys apart in lists; the rest exists only in the creator's
hands. A fast hash is enough for a random 256-bit secret (nothing to brute-force), and lets a
request find its key with one indexed look-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select

from . import audit
from .core.fields import FieldInvalid, FieldSpec
from .extensions import db
from .models import ApiKey, Organization, User, utcnow

# Where the JSON API these keys open is served (its blueprint's prefix, the keys page's URLs).
API_PATH = "/api/public"
KEY_PREFIX = "ddk_"
SHOWN_PREFIX_LENGTH = 12
# last_used_at is written at most this often per key, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)

NAME = FieldSpec(name="name", label="Name", required=True, max_length=120,
                 placeholder="Provisioning script")


class ApiKeyError(ValueError):
    """A refusal with the field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def hash_key(plaintext: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_key(org: Organization, name: str, created_by: User | None = None
               ) -> tuple[ApiKey, str]:
    """Store a new key of `org` and return it with its plaintext (shown once, never stored)."""
    try:
        clean_name = NAME.clean(name)
    except FieldInvalid as exc:
        raise ApiKeyError("name", str(exc)) from None
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(organization_id=org.id, name=clean_name,
                 created_by_id=created_by.id if created_by is not None else None,
                 prefix=plaintext[:SHOWN_PREFIX_LENGTH], key_hash=hash_key(plaintext))
    db.session.add(key)
    db.session.flush()
    audit.record(org.id, "api_key.created", target_type="api_key", target_id=key.id,
                 target_name=key.name)
    db.session.commit()
    return key, plaintext


def list_keys(org: Organization) -> list[ApiKey]:
    """The organization's keys, active and revoked, newest first."""
    return list(db.session.scalars(
        select(ApiKey).where(ApiKey.organization_id == org.id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))


def get_key(org: Organization, key_id: int) -> ApiKey | None:
    """One key of the organization, or None (also for another organization's key)."""
    key = db.session.get(ApiKey, key_id)
    return key if key is not None and key.organization_id == org.id else None


def revoke_key(key: ApiKey) -> ApiKey:
    """Revoke the key: from now on requests carrying it get 401. Revoking twice is harmless."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(key.organization_id, "api_key.revoked", target_type="api_key",
                     target_id=key.id, target_name=key.name)
        db.session.commit()
    return key


def authenticate(plaintext: str | None) -> ApiKey | None:
    """The active key whose plaintext this is, or None; notes when it was last used."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    digest = hash_key(plaintext)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return key
