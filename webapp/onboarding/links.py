"""Onboarding links: a single-use, expiring link (`secrets.token_urlsafe(32)`, only its SHA-256
stored) with which someone without an account (a customer's DBA) connects one source of one
dialect to an organization. Completing a link calls the same source use-cases as every face
(`sources.create_source`, `sources.verify_input`): the same checks, egress policy, verify slots
(the link's organization) and encryption. A completion is audited and raises a
`source.connected` event naming who completed it and from which address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_request_context
from sqlalchemy import or_, select, update

from .. import audit
from .. import sources as uc
from ..core.refusal import ValidationFailed
from ..dialects import DIALECTS, get_dialect
from ..extensions import db, rows_changed
from ..jobs import events
from ..models import OnboardingLink, Organization, Source, utcnow

if TYPE_CHECKING:
    from ..connect.verify import VerifyResult

CONNECT_PATH = "/connect/"
DEFAULT_VALID = timedelta(days=7)
MIN_SECONDS, MAX_SECONDS = 300, 30 * 24 * 3600
MAX_NAME = 120
SOURCE_CONNECTED = events.SOURCE_CONNECTED
# How long a completion holds the link while it verifies (beyond the verify deadline).
CLAIM_MARGIN = timedelta(seconds=30)


class LinkUnusable(Exception):
    """The link was used, revoked, has expired or never existed; the message says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NewLink:
    """A link just made, with its URL (shown once: only the token's hash is kept)."""

    link: OnboardingLink
    url: str


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def status(link: OnboardingLink, now: datetime | None = None) -> str:
    """ "pending", "completed", "revoked" or "expired"."""
    if link.completed_at is not None:
        return "completed"
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= (now or utcnow()):
        return "expired"
    return "pending"


def url_for_token(base_url: str, token: str) -> str:
    """The link's URL under `base_url` (BASE_URL when set, else the request's root)."""
    return base_url.rstrip("/") + CONNECT_PATH + token


def base_url(request_root: str) -> str:
    """BASE_URL when configured, else the request's own root."""
    return current_app.config.get("BASE_URL") or request_root


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Some fields need attention.", {field: message})


def clean_request(
    dialect: Any, display_name: Any, expires_in: Any
) -> tuple[str, str | None, timedelta]:
    """The dialect key, display name and lifetime of a new link; ValidationFailed with the
    fields `dialect`, `displayName` and `expiresIn` otherwise."""
    errors: dict[str, str] = {}
    chosen = get_dialect(dialect) if isinstance(dialect, str) else None
    if chosen is None:
        errors["dialect"] = "Choose one of: " + ", ".join(DIALECTS)
    name: str | None = None
    if display_name is not None:
        if not isinstance(display_name, str):
            errors["displayName"] = "Must be a string"
        elif len(display_name.strip()) > MAX_NAME:
            errors["displayName"] = f"Use at most {MAX_NAME} characters"
        else:
            name = display_name.strip() or None
    valid = DEFAULT_VALID
    if expires_in is not None:
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
            or not (MIN_SECONDS <= expires_in <= MAX_SECONDS)
        ):
            errors["expiresIn"] = (
                f"Must be a whole number of seconds from {MIN_SECONDS} to {MAX_SECONDS} (30 days)"
            )
        else:
            valid = timedelta(seconds=expires_in)
    if errors:
        raise ValidationFailed("Some fields need attention.", errors)
    assert chosen is not None
    return chosen.key, name, valid


def create_link(
    org: Organization, dialect: Any, display_name: Any = None, expires_in: Any = None, *, base: str
) -> NewLink:
    """A new pending link for one source of `dialect` (audited as `onboarding_link.created`).
    A given display name is checked against the organization's sources now and again when
    the link is completed."""
    key, name, valid = clean_request(dialect, display_name, expires_in)
    if name is not None and uc.get_source_by_name(org, name) is not None:
        raise _refuse("displayName", "A data source with this name already exists")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    actor = audit.record(
        org.id,
        "onboarding_link.created",
        target_type="onboarding_link",
        target_name=name or DIALECTS[key].label,
        details={"dialect": key, "expiresInSeconds": int(valid.total_seconds())},
    )
    link = OnboardingLink(
        organization_id=org.id,
        dialect=key,
        display_name=name,
        token_hash=hash_token(token),
        created_by=actor.actor[:300],
        created_at=now,
        expires_at=now + valid,
    )
    db.session.add(link)
    db.session.flush()
    actor.target_id = link.id
    db.session.commit()
    return NewLink(link, url_for_token(base, token))


def for_token(token: str | None) -> OnboardingLink:
    """The pending link of this token; LinkUnusable says why not."""
    if not token or len(token) > 200:
        raise LinkUnusable("unknown", "This onboarding link is not valid.")
    digest = hash_token(token)
    row = db.session.scalar(select(OnboardingLink).where(OnboardingLink.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise LinkUnusable("unknown", "This onboarding link is not valid.")
    state = status(row)
    messages = {
        "completed": "This onboarding link was already used: the connection is saved. Ask "
        "for a new link to connect another database.",
        "revoked": "This onboarding link was revoked. Ask the person who sent it for a new one.",
        "expired": "This onboarding link has expired. Ask the person who sent it for a new one.",
    }
    if state in messages:
        raise LinkUnusable(state, messages[state])
    return row


@contextmanager
def _acting_as(who: str) -> Iterator[None]:
    """Audit events written inside name the link's holder (an account-less actor)."""
    if not has_request_context():
        yield
        return
    before = g.get("audit_actor")
    g.audit_actor = who
    try:
        yield
    finally:
        g.audit_actor = before


def holder(name: str) -> str:
    """How the audit log shows the person who completed a link."""
    return f"{name} (onboarding link)"[:300]


def clean_holder(name: Any) -> str:
    """The name (or email) the holder gives; ValidationFailed on `completedBy`."""
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        raise _refuse("completedBy", "Enter your name or email, so the team knows who connected")
    if len(text) > MAX_NAME:
        raise _refuse("completedBy", f"Use at most {MAX_NAME} characters")
    return text


def _input(link: OnboardingLink, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The holder's values for the link's dialect only (its fields and the display name)."""
    dialect = DIALECTS[link.dialect]
    names = {spec.name for spec in dialect.fields}
    values = {k: v for k, v in raw.items() if k in names}
    values["dialect"] = link.dialect
    values["displayName"] = link.display_name or raw.get("displayName")
    return values


def verify(link: OnboardingLink, raw: Mapping[str, Any], who: str | None = None) -> VerifyResult:
    """Connect once with the holder's values (in the link's organization's verify slots)."""
    with _acting_as(holder(who or "someone")):
        return uc.verify_input(_input(link, raw), org=link.organization, name_required=False)


def _claim(link: OnboardingLink) -> None:
    """Hold the link for one completion (one conditional UPDATE), or LinkUnusable."""
    now = utcnow()
    until = now + timedelta(seconds=current_app.config["VERIFY_TIMEOUT"]) + CLAIM_MARGIN
    claimed = db.session.execute(
        update(OnboardingLink)
        .where(
            OnboardingLink.id == link.id,
            OnboardingLink.completed_at.is_(None),
            OnboardingLink.revoked_at.is_(None),
            OnboardingLink.expires_at > now,
            or_(OnboardingLink.claimed_until.is_(None), OnboardingLink.claimed_until < now),
        )
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if rows_changed(claimed) != 1:
        raise LinkUnusable(
            "busy", "This onboarding link is being used right now. Try again in a minute."
        )


def _release(link: OnboardingLink) -> None:
    db.session.rollback()
    db.session.execute(
        update(OnboardingLink)
        .where(OnboardingLink.id == link.id)
        .values(claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def complete(token: str, raw: Mapping[str, Any], completed_by: Any) -> Source:
    """Verify and save the holder's source (sources.create_source), then close the link: it
    works once. Audited (`onboarding_link.completed`) with who and from where, and raises a
    `source.connected` event. A refused verify leaves the link usable."""
    link = for_token(token)
    who = clean_holder(completed_by)
    _claim(link)
    org = link.organization
    try:
        with _acting_as(holder(who)):
            source = uc.create_source(org, _input(link, raw))
    except BaseException:
        _release(link)
        raise
    now = utcnow()
    address = audit.client_address()
    link.completed_at, link.completed_by, link.completed_ip = now, who, address
    link.claimed_until, link.source_id = None, source.id
    audit.record(
        org.id,
        "onboarding_link.completed",
        target_type="source",
        target_id=source.id,
        target_name=source.display_name,
        actor=holder(who),
        details={"dialect": source.dialect, "connectionId": link.public_id, "linkId": link.id},
    )
    events.record(
        org.id,
        SOURCE_CONNECTED,
        source,
        {
            "connectionId": link.public_id,
            "completedBy": who,
            "ipAddress": address,
            "via": "onboarding_link",
        },
    )
    db.session.commit()
    return source


def revoke(link: OnboardingLink) -> OnboardingLink:
    """Revoke a pending link: it says so from now on. Revoking twice is harmless."""
    if status(link) in ("pending", "expired") and link.revoked_at is None:
        link.revoked_at = utcnow()
        audit.record(
            link.organization_id,
            "onboarding_link.revoked",
            target_type="onboarding_link",
            target_id=link.id,
            target_name=link.display_name or DIALECTS[link.dialect].label,
        )
        db.session.commit()
    return link


def list_links(org: Organization, limit: int = 50) -> list[OnboardingLink]:
    """The organization's links, newest first."""
    return list(
        db.session.scalars(
            select(OnboardingLink)
            .where(OnboardingLink.organization_id == org.id)
            .order_by(OnboardingLink.created_at.desc(), OnboardingLink.id.desc())
            .limit(limit)
        )
    )


def get_link(org: Organization, connection_id: str) -> OnboardingLink | None:
    """One link of the organization by its public id (connection id), or None."""
    if not isinstance(connection_id, str) or len(connection_id) > 36:
        return None
    row = db.session.scalar(
        select(OnboardingLink).where(OnboardingLink.public_id == connection_id.lower())
    )
    return row if row is not None and row.organization_id == org.id else None


def source_of(link: OnboardingLink) -> Source | None:
    """The source a completed link made (None before, or after it was deleted)."""
    return db.session.get(Source, link.source_id) if link.source_id is not None else None
