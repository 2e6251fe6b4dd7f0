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

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, bindparam, select

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
    if key.created_by_id is None:
        return parse_scope(key.scope)
    role = db.session.scalar(
        select(Membership.role).where(
            Membership.user_id == key.created_by_id,
            Membership.organization_id == key.organization_id,
        )
    )
    return _narrowed(key, role)


def _narrowed(key: ApiKey, creator_role: str | None) -> KeyScope | None:
    """The key's scope narrowed to its creator's role in the key's organization (None: the
    creator is no member there); a key without a creator keeps its scope."""
    scope = parse_scope(key.scope)
    if key.created_by_id is None or scope is None:
        return scope
    widest = scope_for_role(creator_role)
    if widest is None:
        return None
    return scope if scope_allows(widest.value, scope.value) else widest


@functools.cache
def _lookup() -> Select[ApiKey, str | None, Organization]:
    """A key by its hash (`digest`), its creator's role in its organization, and that
    organization; built once (building an ORM statement costs more than running it)."""
    return (
        select(ApiKey, Membership.role, Organization)
        .join(Organization, Organization.id == ApiKey.organization_id)
        .outerjoin(
            Membership,
            and_(
                Membership.user_id == ApiKey.created_by_id,
                Membership.organization_id == ApiKey.organization_id,
            ),
        )
        .where(ApiKey.key_hash == bindparam("digest"))
    )


@dataclass(frozen=True)
class Recognised:
    """A request's valid key, what it may do now, and its organization."""

    key: ApiKey
    scope: KeyScope
    # Loaded with the key: while it is held, the session answers `get(Organization, id)`
    # from its identity map (which holds objects weakly) without a query.
    organization: Organization


def recognise(plaintext: str | None) -> Recognised | None:
    """The active key whose plaintext this is and what it may do now (`effective_scope`), or
    None (unknown, revoked, expired, or its creator left the organization); notes when it was
    last used.

    One query, exact on every request (a revoked key, a demoted or removed creator count at
    once): the key by its hash, its creator's role, and its organization (which every API
    operation reads next: the session then has it without a query of its own)."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
        return None
    digest = hash_key(plaintext)
    row = db.session.execute(_lookup(), {"digest": digest}).first()
    if row is None:
        return None
    key, role, org = row
    if not hmac.compare_digest(key.key_hash, digest) or key.revoked_at or is_expired(key):
        return None
    scope = _narrowed(key, role)
    if scope is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        db.session.commit()
    return Recognised(key, scope, org)


def authenticate(plaintext: str | None) -> ApiKey | None:
    """The active key whose plaintext this is, or None (see `recognise`)."""
    found = recognise(plaintext)
    return found.key if found is not None else None
