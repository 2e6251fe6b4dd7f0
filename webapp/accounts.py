"""Use-cases for organizations and their members: first-run setup, create admin,
authenticate (failed sign-ins audited), login throttling, the one email validator, and ending
a user's sessions (logout, password or role change, removal)."""

from __future__ import annotations

import hmac
import math
from datetime import timedelta

import email_validator
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from .extensions import db
from .models import (
    Installation,
    Membership,
    Organization,
    Role,
    User,
    new_session_generation,
    utcnow,
)
from .ratelimit import hit

MIN_PASSWORD = 12
MAX_EMAIL = 254
# last_seen_at is written at most this often per user.
SEEN_RESOLUTION = timedelta(seconds=60)
# Teams use addresses under special-use names (admin@corp.local, ops@example.test): accept
# them. email-validator reads this module-level list on every call (its documented knob);
# only .arpa and .onion stay refused.
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name in ("arpa", "onion")
]
# Compared against when the email is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("datadock-dummy-password")


class AccountError(ValueError):
    """A refusal with a message for the user and the field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AlreadySetUp(Exception):
    """First-run setup was already done (perhaps a moment ago, by a simultaneous request)."""

    def __init__(self) -> None:
        super().__init__("Datadock is already set up.")


def clean_email(value: str | None) -> str:
    """The one email check (setup, create-admin, invite, login, SSO): syntax only, no DNS,
    special-use domains allowed; the stored form is lower case. AccountError says why not."""
    text = (value or "").strip()
    if not text:
        raise AccountError("email", "Enter an email address")
    if len(text) > MAX_EMAIL:
        raise AccountError("email", f"Use at most {MAX_EMAIL} characters")
    try:
        checked = validate_email(
            text, check_deliverability=False, globally_deliverable=False, allow_smtputf8=True
        )
    except EmailNotValidError as exc:
        raise AccountError("email", str(exc)) from None
    return checked.normalized.lower()


def has_users() -> bool:
    """Whether setup has been done."""
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def _is_claimed() -> bool:
    return db.session.get(Installation, 1, populate_existing=True) is not None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"Use at least {MIN_PASSWORD} characters")


def _add_admin(org_name: str, email: str, password_hash: str) -> User:
    """Add (not commit) an organization, or reuse one of that name, and its admin."""
    org = db.session.scalar(select(Organization).where(Organization.name == org_name.strip()))
    if org is None:
        org = Organization(name=org_name.strip())
        db.session.add(org)
    user = User(email=email, password_hash=password_hash)
    db.session.add_all([user, Membership(user=user, organization=org, role=Role.ADMIN.value)])
    return user


def set_up(org_name: str, email: str, password: str) -> User:
    """First-run setup: the first organization and its admin, exactly once.

    The transaction claims the single `installation` row before anything else; of several
    simultaneous setups, the store lets one claim it and the others raise AlreadySetUp.
    """
    email = clean_email(email)
    _check_password(password)
    if has_users() or _is_claimed():
        raise AlreadySetUp
    password_hash = generate_password_hash(password)  # slow: before the write transaction
    try:
        db.session.add(Installation(id=1))
        db.session.flush()  # the claim: a second one waits for the first, then fails
        user = _add_admin(org_name, email, password_hash)
        db.session.commit()
    except (IntegrityError, OperationalError):
        db.session.rollback()
        if _is_claimed():
            raise AlreadySetUp from None
        raise
    return user


def create_admin(org_name: str, email: str, password: str) -> User:
    """Create an organization (or reuse one of that name) with an admin account (CLI)."""
    email = clean_email(email)
    _check_password(password)
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError("email", "An account with this email already exists")
    user = _add_admin(org_name, email, generate_password_hash(password))
    db.session.commit()
    return user


# --- sessions ------------------------------------------------------------------------------


def user_for_session(session_id: str) -> User | None:
    """The user a session (or remember cookie) id "<user id>:<generation>" belongs to, or None
    when the user is gone or the generation has been replaced since the session began."""
    user_id, _, generation = session_id.partition(":")
    if not user_id.isdigit() or not generation:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not hmac.compare_digest(user.session_generation, generation):
        return None
    return user


def _new_generation(user: User) -> None:
    user.session_generation = new_session_generation()


def end_sessions(user: User) -> None:
    """End every session of the user, in every browser, at once (logout does this)."""
    _new_generation(user)
    db.session.commit()


def change_password(user: User, password: str) -> None:
    """Set a new password; every session of the user ends."""
    _check_password(password)
    user.password_hash = generate_password_hash(password)
    _new_generation(user)
    db.session.commit()


def change_role(user: User, organization_id: int, role: str) -> None:
    """Change the user's role in the organization; every session of the user ends."""
    if role not in {r.value for r in Role}:
        raise AccountError("role", f"Choose one of: {', '.join(r.value for r in Role)}")
    row = db.session.scalar(
        select(Membership).where(
            Membership.user_id == user.id, Membership.organization_id == organization_id
        )
    )
    if row is None:
        raise AccountError("role", "This user is not a member of the organization")
    row.role = role
    _new_generation(user)
    db.session.commit()


def remove_user(user: User) -> None:
    """Delete the account and its memberships; its sessions end with it."""
    user_id = user.id
    db.session.execute(delete(Membership).where(Membership.user_id == user_id))
    db.session.execute(delete(User).where(User.id == user_id))
    db.session.commit()
    if user in db.session:
        db.session.expunge(user)


class LoginThrottled(Exception):
    """Too many login attempts for this account or from this address in the current window."""

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        super().__init__(
            f"Too many login attempts. Try again in {minutes} minute{'' if minutes == 1 else 's'}."
        )
        self.retry_after_seconds = retry_after_seconds


def throttle_login(email: str, address: str | None) -> None:
    """Count one login attempt for the account and for the address; raise LoginThrottled
    when either is over its limit (DATADOCK_LOGIN_RATE_LIMIT, …_ADDRESS_RATE_LIMIT).

    Every attempt counts, right or wrong, before the password is checked: a refused attempt
    costs no password hash, and the answer does not tell whether the password was right.
    """
    checks = [("login-account", email.strip().lower(), current_app.config["LOGIN_RATE_LIMIT"])]
    if address:
        checks.append(("login-address", address, current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]))
    waits = [
        decision.retry_after_seconds
        for scope, key, (limit, window) in checks
        if not (decision := hit(scope, key, limit, window)).allowed
    ]
    if waits:
        raise LoginThrottled(max(waits))


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None (a wrong password for a member's
    account is audited in their organization as `auth.sign_in_failed`)."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if check_password_hash(user.password_hash, password):
        return user
    row = membership(user)
    if row is not None:
        audit.record(
            row.organization_id,
            "auth.sign_in_failed",
            target_type="user",
            target_id=user.id,
            target_name=user.email,
            actor=email,
            details={"method": "password"},
        )
        db.session.commit()
    return None


def note_seen(user: User) -> None:
    """Remember the user's last request (at most one write a minute)."""
    now = utcnow()
    if user.last_seen_at is None or now - user.last_seen_at >= SEEN_RESOLUTION:
        user.last_seen_at = now
        db.session.commit()


def membership(user: User) -> Membership | None:
    """The user's membership (one organization per user for now)."""
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id).limit(1)
    )
