"""Use-cases for organizations and their members: setup, create admin, authenticate,
and login throttling."""

from __future__ import annotations

import math

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .models import Membership, Organization, Role, User
from .ratelimit import hit

MIN_PASSWORD = 12
# Compared against when the email is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("datadock-dummy-password")


class AccountError(ValueError):
    """A refusal with a message for the user and the field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def has_users() -> bool:
    """Whether setup has been done."""
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def create_admin(org_name: str, email: str, password: str) -> User:
    """Create an organization (or reuse one of that name) with an admin account."""
    email = email.strip().lower()
    if len(password) < MIN_PASSWORD:
        raise AccountError("password", f"Use at least {MIN_PASSWORD} characters")
    if db.session.scalar(select(User).where(User.email == email)) is not None:
        raise AccountError("email", "An account with this email already exists")
    org = db.session.scalar(select(Organization).where(Organization.name == org_name.strip()))
    if org is None:
        org = Organization(name=org_name.strip())
        db.session.add(org)
    user = User(email=email, password_hash=generate_password_hash(password))
    db.session.add_all([user, Membership(user=user, organization=org, role=Role.ADMIN.value)])
    db.session.commit()
    return user


class LoginThrottled(Exception):
    """Too many login attempts for this account or from this address in the current window."""

    def __init__(self, retry_after_seconds: int) -> None:
        minutes = max(1, math.ceil(retry_after_seconds / 60))
        super().__init__(f"Too many login attempts. Try again in {minutes} "
                         f"minute{'' if minutes == 1 else 's'}.")
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
    waits = [decision.retry_after_seconds
             for scope, key, (limit, window) in checks
             if not (decision := hit(scope, key, limit, window)).allowed]
    if waits:
        raise LoginThrottled(max(waits))


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def membership(user: User) -> Membership | None:
    """The user's membership (one organization per user for now)."""
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id).order_by(Membership.id).limit(1))
