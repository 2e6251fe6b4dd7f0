"""Members of an organization: list them, change a role, remove one. The last admin can be
neither removed nor demoted. A change ends the member's sessions at once (their very next
request is refused) and a removal revokes the API keys they created."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from .. import accounts, audit
from ..core.refusal import ValidationFailed
from ..extensions import db
from ..models import ApiKey, Membership, Organization, User, utcnow
from .roles import Role, parse_role

LAST_ADMIN = "An organization keeps at least one admin: make someone else admin first"


@dataclass(frozen=True)
class Member:
    """One row of the Members page and the API."""

    id: int
    user_id: int
    email: str
    name: str | None
    role: str
    sign_in: str  # "password" or "sso"
    last_seen_at: datetime | None
    joined_at: datetime | None


def sign_in_method(user: User) -> str:
    """How the person signs in: "sso" once an OpenID Connect identity is linked (or when the
    account has no password), else "password"."""
    if getattr(user, "oidc_subject", None) or not user.password_hash:
        return "sso"
    return "password"


def _member(row: Membership) -> Member:
    user = row.user
    return Member(
        id=row.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=row.role,
        sign_in=sign_in_method(user),
        last_seen_at=user.last_seen_at,
        joined_at=row.created_at,
    )


def list_members(org: Organization) -> list[Member]:
    """Everyone in the organization, admins first, then by email."""
    rows = db.session.scalars(
        select(Membership)
        .join(User)
        .where(Membership.organization_id == org.id)
        .order_by(User.email)
    )
    order = {Role.ADMIN.value: 0, Role.EDITOR.value: 1, Role.VIEWER.value: 2}
    return sorted((_member(r) for r in rows), key=lambda m: order.get(m.role, 3))


def get_membership(org: Organization, member_id: int) -> Membership | None:
    """One membership of the organization by its id, or None (also another organization's)."""
    row = db.session.get(Membership, member_id)
    return row if row is not None and row.organization_id == org.id else None


def as_member(row: Membership) -> Member:
    """The Member view of a membership row."""
    return _member(row)


def _admin_count(org_id: int) -> int:
    """The organization's admins, their rows locked until the change commits (PostgreSQL:
    of two admins demoting each other at once, the second sees the first's change)."""
    return len(
        db.session.scalars(
            select(Membership.id)
            .where(Membership.organization_id == org_id, Membership.role == Role.ADMIN.value)
            .with_for_update()
        ).all()
    )


def change_role(row: Membership, role: str | None) -> Membership:
    """Give the member another role; their sessions end. Refuses an unknown role and
    demoting the last admin (ValidationFailed on `role`)."""
    new = parse_role(role)
    if new is None:
        raise ValidationFailed(
            "Some fields need attention.",
            {"role": "Choose one of: " + ", ".join(r.value for r in Role)},
        )
    old = row.role
    if new.value == old:
        return row
    if old == Role.ADMIN.value and _admin_count(row.organization_id) <= 1:
        raise ValidationFailed(LAST_ADMIN, {"role": LAST_ADMIN})
    audit.record(
        row.organization_id,
        "member.role_changed",
        target_type="user",
        target_id=row.user_id,
        target_name=row.user.email,
        details={"from": old, "to": new.value},
    )
    accounts.change_role(row.user, row.organization_id, new.value)  # commits, ends sessions
    return row


def remove(row: Membership) -> None:
    """Remove the member (their account goes with it: one organization per user); their
    sessions end and the keys they created are revoked. Refuses removing the last admin."""
    if row.role == Role.ADMIN.value and _admin_count(row.organization_id) <= 1:
        raise ValidationFailed(LAST_ADMIN, {"member": LAST_ADMIN})
    user = row.user
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.created_by_id == user.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.created_by_id == user.id)
        .values(created_by_id=None)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        row.organization_id,
        "member.removed",
        target_type="user",
        target_id=user.id,
        target_name=user.email,
        details={"role": row.role},
    )
    accounts.remove_user(user)  # commits the whole change
