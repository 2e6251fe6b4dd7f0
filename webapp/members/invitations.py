"""Invitations: a single-use link, valid 7 days, that lets one email join an organization
with a role. The token is `secrets.token_urlsafe(32)`; only its SHA-256 is stored and looked
up (compared in constant time). The link is shown once and mailed when SMTP is configured.

The SSO sign-in (webapp/web/sso.py) calls `pending_for_email` and `accept` too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from .. import accounts, audit, mailer
from ..core.refusal import ValidationFailed
from ..extensions import db, rows_changed
from ..models import Invitation, Membership, Organization, User, utcnow
from .roles import Role, parse_role

log = logging.getLogger(__name__)

VALID_FOR = timedelta(days=7)
ACCEPT_PATH = "/invitations/"
MAX_NAME = 120


class InvitationUnusable(Exception):
    """The link was used, revoked, has expired or never existed; the message says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class NewInvitation:
    """An invitation just made, with its link (shown once) and whether it was mailed."""

    invitation: Invitation
    url: str
    mailed: bool
    mail_error: str | None = None


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def status(invitation: Invitation, now: datetime | None = None) -> str:
    """ "pending", "accepted", "revoked" or "expired"."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= (now or utcnow()):
        return "expired"
    return "pending"


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Some fields need attention.", {field: message})


def _clean(email: str | None, role: str | None) -> tuple[str, Role]:
    try:
        clean_email = accounts.clean_email(email)
    except accounts.AccountError as exc:
        raise _refuse("email", str(exc)) from None
    clean_role = parse_role(role)
    if clean_role is None:
        raise _refuse("role", "Choose one of: " + ", ".join(r.value for r in Role))
    return clean_email, clean_role


def link(base_url: str, token: str) -> str:
    """The invitation's URL under `base_url` (BASE_URL when set, else the request's host)."""
    return base_url.rstrip("/") + ACCEPT_PATH + token


def create(
    org: Organization,
    email: str | None,
    role: str | None,
    base_url: str,
    invited_by: User | None = None,
) -> NewInvitation:
    """Invite `email` as `role`: a new link (a pending one for the same email is revoked),
    audited as `invitation.sent`, mailed when SMTP is configured. Refuses a current member."""
    clean_email, clean_role = _clean(email, role)
    member_of = db.session.scalar(
        select(Membership.organization_id).join(User).where(User.email == clean_email).limit(1)
    )
    if member_of == org.id:
        raise _refuse("email", "This person is already a member of the organization")
    if member_of is not None:
        raise _refuse(
            "email",
            "This email already has an account in another organization "
            "(an account belongs to one organization)",
        )
    now = utcnow()
    for old in db.session.scalars(
        select(Invitation).where(
            Invitation.organization_id == org.id,
            Invitation.email == clean_email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization_id=org.id,
        email=clean_email,
        role=clean_role.value,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + VALID_FOR,
        created_by_id=invited_by.id if invited_by is not None else None,
    )
    db.session.add(invitation)
    db.session.flush()
    url = link(base_url, token)
    mailed, error = _mail(org, invitation, url, invited_by)
    audit.record(
        org.id,
        "invitation.sent",
        target_type="invitation",
        target_id=invitation.id,
        target_name=clean_email,
        details={"role": clean_role.value, "mailed": mailed},
    )
    db.session.commit()
    return NewInvitation(invitation, url, mailed, error)


def _mail(
    org: Organization, invitation: Invitation, url: str, invited_by: User | None
) -> tuple[bool, str | None]:
    if not mailer.configured():
        return False, None
    who = invited_by.email if invited_by is not None else "An admin"
    text = (
        f"{who} invited you to join {org.name} on Datadock as {invitation.role}.\n\n"
        f"Open this link to choose a password and sign in (valid 7 days, once):\n{url}\n"
    )
    try:
        mailer.send_mail([invitation.email], f"Join {org.name} on Datadock", text)
    except Exception as exc:  # noqa: BLE001  (the link is still shown: say the mail failed)
        log.warning("invitation mail to %s failed: %s", invitation.email, type(exc).__name__)
        return False, "The email could not be sent; copy the link and send it yourself."
    return True, None


def list_pending(org: Organization) -> list[Invitation]:
    """The organization's invitations not yet accepted or revoked, newest first (expired
    ones included: the page shows them as expired)."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        )
    )


def get(org: Organization, invitation_id: int) -> Invitation | None:
    """One invitation of the organization, or None (also for another organization's)."""
    row = db.session.get(Invitation, invitation_id)
    return row if row is not None and row.organization_id == org.id else None


def revoke(invitation: Invitation) -> Invitation:
    """Revoke a pending invitation: its link says so from now on. Revoking twice is harmless."""
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            invitation.organization_id,
            "invitation.revoked",
            target_type="invitation",
            target_id=invitation.id,
            target_name=invitation.email,
        )
        db.session.commit()
    return invitation


def for_token(token: str | None) -> Invitation:
    """The pending invitation of this token; InvitationUnusable says why not."""
    if not token or len(token) > 200:
        raise InvitationUnusable("unknown", "This invitation link is not valid.")
    digest = hash_token(token)
    row = db.session.scalar(select(Invitation).where(Invitation.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise InvitationUnusable("unknown", "This invitation link is not valid.")
    state = status(row)
    if state == "accepted":
        raise InvitationUnusable(state, "This invitation was already used. Sign in instead.")
    if state == "revoked":
        raise InvitationUnusable(state, "This invitation was revoked. Ask an admin for a new one.")
    if state == "expired":
        raise InvitationUnusable(state, "This invitation has expired. Ask an admin for a new one.")
    return row


def pending_for_email(org: Organization | None, email: str) -> Invitation | None:
    """The newest pending, unexpired invitation for `email` (in `org`, or in any organization
    when None), or None. For SSO sign-ins."""
    try:
        clean_email = accounts.clean_email(email)
    except accounts.AccountError:
        return None
    query = select(Invitation).where(
        Invitation.email == clean_email,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow(),
    )
    if org is not None:
        query = query.where(Invitation.organization_id == org.id)
    return db.session.scalar(query.order_by(Invitation.created_at.desc()).limit(1))


def accept(invitation: Invitation, user: User) -> Membership:
    """Use the invitation: `user` becomes a member with its role (audited as
    `invitation.accepted`). The user may be new (not yet flushed) or existing. Refuses an
    invitation that is no longer pending (InvitationUnusable) and a user who is already in
    an organization (ValidationFailed)."""
    state = status(invitation)
    if state != "pending":
        raise InvitationUnusable(state, f"This invitation is {state}.")
    if user.id is not None and accounts.membership(user) is not None:
        raise _refuse("email", "This account already belongs to an organization")
    now = utcnow()
    # One conditional UPDATE claims the link: of two simultaneous accepts, one wins.
    claimed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if rows_changed(claimed) != 1:
        db.session.rollback()
        raise InvitationUnusable("accepted", "This invitation was already used.")
    invitation.accepted_at = now
    row = Membership(
        user=user, organization_id=invitation.organization_id, role=invitation.role, created_at=now
    )
    db.session.add_all([user, row])
    db.session.flush()
    invitation.accepted_by_id = user.id
    audit.record(
        invitation.organization_id,
        "invitation.accepted",
        target_type="invitation",
        target_id=invitation.id,
        target_name=invitation.email,
        actor=user.email,
        details={"role": invitation.role},
    )
    db.session.commit()
    return row


def accept_with_password(token: str, name: str | None, password: str) -> User:
    """The accept page: a new account for the invited email with this password, a member
    with the invitation's role. Refuses a used/revoked/expired link and an email that
    already has an account (they sign in instead)."""
    invitation = for_token(token)
    clean_name = (name or "").strip()
    if not clean_name:
        raise _refuse("name", "Enter your name")
    if len(clean_name) > MAX_NAME:
        raise _refuse("name", f"Use at most {MAX_NAME} characters")
    if len(password or "") < accounts.MIN_PASSWORD:
        raise _refuse("password", f"Use at least {accounts.MIN_PASSWORD} characters")
    if db.session.scalar(select(User).where(User.email == invitation.email)) is not None:
        raise _refuse("email", "An account with this email already exists. Sign in instead.")
    user = User(
        email=invitation.email, name=clean_name, password_hash=generate_password_hash(password)
    )
    accept(invitation, user)
    return user


def base_url(request_root: str) -> str:
    """BASE_URL when configured, else the request's own root."""
    return current_app.config.get("BASE_URL") or request_root
