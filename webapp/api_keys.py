"""API keys: create (the plaintext is returned once, only its SHA-256 is stored), revoke, list,
and recognise the key a request carries.

A key has a scope (`read`: GET operations; `write`: sources; `admin`: everything) and an
optional expiry. It never does more than its creator's role allows today, and it stops working
when its creator leaves the organization (removal also revokes it).

A key looks like `ddk_` + 43 URL-safe characters (256 random bits). Its first 12 characters are
kept as `prefix` so people can tell keys apart in lists; the rest exists only in the creator's
hands. A fast hash is enough for a random 256-bit secret (nothing to brute-force), and lets a
request find its key with one indexed look-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from . import audit
from .core.fields import FieldInvalid, FieldSpec
from .extensions import db
from .members.roles import KeyScope, parse_scope, scope_allows, scope_for_role
from .models import ApiKey, Membership, Organization, User, utcnow

# Where the JSON API these keys open is served (its blueprint's prefix, the keys page's URLs).
API_PATH = "/api/public"
KEY_PREFIX = "ddk_"
SHOWN_PREFIX_LENGTH = 12
# last_used_at is written at most this often per key, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)

NAME = FieldSpec(
    name="name", label="Name", required=True, max_length=120, placeholder="Provisioning script"
)
MAX_EXPIRY_DAYS = 3650


class ApiKeyError(ValueError):
    """A refusal with the field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def hash_key(plaintext: str) -> str:
    """The stored form of a key: its SHA-256, hex."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def expiry_after(days: int | None) -> datetime | None:
    """The expiry `days` from now (None: never); ApiKeyError for a number out of range."""
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ApiKeyError("expiresInDays", f"Choose 1 to {MAX_EXPIRY_DAYS} days, or never")
    return utcnow() + timedelta(days=days)


def create_key(
    org: Organization,
    name: str,
    created_by: User | None = None,
    scope: str = KeyScope.ADMIN.value,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key of `org` and return it with its plaintext (shown once, never stored)."""
    try:
        clean_name = NAME.clean(name)
    except FieldInvalid as exc:
        raise ApiKeyError("name", str(exc)) from None
    clean_scope = parse_scope(scope)
    if clean_scope is None:
        raise ApiKeyError("scope", "Choose one of: " + ", ".join(s.value for s in KeyScope))
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        organization_id=org.id,
        name=clean_name,
        scope=clean_scope.value,
        expires_at=expires_at,
        created_by_id=created_by.id if created_by is not None else None,
        prefix=plaintext[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_key(plaintext),
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        org.id,
        "api_key.created",
        target_type="api_key",
        target_id=key.id,
        target_name=key.name,
        details={"scope": key.scope, "expires": bool(expires_at)},
    )
    db.session.commit()
    return key, plaintext


def list_keys(org: Organization) -> list[ApiKey]:
    """The organization's keys, active and revoked, newest first."""
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == org.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def get_key(org: Organization, key_id: int) -> ApiKey | None:
    """One key of the organization, or None (also for another organization's key)."""
    key = db.session.get(ApiKey, key_id)
    return key if key is not None and key.organization_id == org.id else None


def revoke_key(key: ApiKey) -> ApiKey:
    """Revoke the key: from now on requests carrying it get 401. Revoking twice is harmless."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(
            key.organization_id,
            "api_key.revoked",
            target_type="api_key",
            target_id=key.id,
            target_name=key.name,
        )
        db.session.commit()
    return key


def is_expired(key: ApiKey) -> bool:
    """Whether the key's expiry has passed."""
    return key.expires_at is not None and key.expires_at <= utcnow()


def effective_scope(key: ApiKey) -> KeyScope | None:
    """What the key may do now: its scope, narrowed to what its creator's role allows; None
    when the creator is no longer a member of the key's organization."""
    scope = parse_scope(key.scope)
    if key.created_by_id is None or scope is None:
        return scope
    role = db.session.scalar(
        select(Membership.role).where(
            Membership.user_id == key.created_by_id,
            Membership.organization_id == key.organization_id,
        )
    )
    widest = scope_for_role(role)
    if widest is None:
        return None
    return scope if scope_allows(widest.value, scope.value) else widest


def authenticate(plaintext: str | None) -> ApiKey | None:
    """The active key whose plaintext this is, or None (unknown, revoked, expired, or its
    creator left the organization); notes when it was last used."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    digest = hash_key(plaintext)
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        return None
    if is_expired(key) or effective_scope(key) is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return key
