"""Single sign-on, the use-case: who an ID token's verified claims sign in as.

Rules, in order: the email must be present and verified by the provider (`email_verified`),
its domain in OIDC_ALLOWED_DOMAINS (empty: any). The user is the one already linked to this
(issuer, subject); else the account with that email, which gets the identity linked (a
password account keeps its password); else a new account. A user without an organization
joins through their pending invitation (its organization and role), else the first
organization with OIDC_DEFAULT_ROLE, else is refused. Each sign-in is audited as
`sso.sign_in`; each refusal as `auth.sign_in_failed` (method "sso", the reason's code).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from . import accounts, audit
from .core.refusal import Refusal
from .extensions import db
from .members import invitations
from .members.invitations import InvitationUnusable
from .models import Membership, Organization, User, utcnow
from .oidc import OidcFailed, Verified, provider_name
from .ratelimit import hit

METHOD = {"method": "sso"}


class SignInRefused(Refusal):
    """A single sign-on that Datadock refuses; `reason` is the audit log's code."""

    title = "Unauthorized"
    status = 403
    _fields = (*Refusal._fields, "reason")
    reason: str

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self._set(reason=reason)


class SignInThrottled(SignInRefused):
    """Too many sign-in attempts from one address."""

    title = "RateLimitExceeded"
    status = 429


def throttle(address: str | None) -> None:
    """Count a callback against the address's login budget (LOGIN_ADDRESS_RATE_LIMIT)."""
    if not address:
        return
    limit, window = current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]
    if not hit("login-address", address, limit, window).allowed:
        raise SignInThrottled(
            "throttled", "Too many sign-in attempts from your address. Try again in a few minutes."
        )


def _default_org() -> Organization | None:
    """The organization people without an invitation join: the first one (setup's)."""
    return db.session.scalar(select(Organization).order_by(Organization.id).limit(1))


def _email(claims: dict[str, Any]) -> str:
    raw = claims.get("email")
    if not isinstance(raw, str) or not raw.strip():
        raise SignInRefused(
            "no_email",
            f"{provider_name()} did not share an email address. "
            "Ask your administrator to allow the email scope.",
        )
    try:
        email = accounts.clean_email(raw)
    except accounts.AccountError:
        raise SignInRefused(
            "bad_email", f"{provider_name()} sent an email address Datadock cannot use."
        ) from None
    if claims.get("email_verified") is not True:
        raise SignInRefused(
            "email_unverified",
            f"{provider_name()} has not verified the email address {email}. Verify it there first.",
        )
    allowed = current_app.config.get("OIDC_ALLOWED_DOMAINS") or []
    domain = email.rpartition("@")[2]
    if allowed and domain not in allowed:
        raise SignInRefused("domain", f"Email addresses at {domain} may not sign in here.")
    return email


def _find_user(issuer: str, subject: str, email: str) -> tuple[User | None, bool]:
    """The linked user, else the user with this email (to be linked); and whether linked now."""
    linked = db.session.scalar(
        select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)
    )
    if linked is not None:
        return linked, False
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        return None, False
    if user.oidc_subject is not None:
        raise SignInRefused(
            "other_identity", f"{email} is already linked to another {provider_name()} account."
        )
    return user, True


def _join(user: User, email: str) -> Membership:
    """Give a user without an organization one: their invitation, else the default role."""
    invitation = invitations.pending_for_email(None, email)
    if invitation is not None:
        try:
            return invitations.accept(invitation, user)
        except (InvitationUnusable, Refusal):
            db.session.rollback()
            raise SignInRefused(
                "invitation", "Your invitation could not be used. Ask an admin for a new one."
            ) from None
    role, org = current_app.config.get("OIDC_DEFAULT_ROLE"), _default_org()
    if not role or org is None:
        raise SignInRefused(
            "no_invitation",
            f"There is no invitation for {email}. Ask an admin of your team to invite you.",
        )
    row = Membership(user=user, organization_id=org.id, role=role, created_at=utcnow())
    db.session.add_all([user, row])
    db.session.commit()
    return row


def sign_in(verified: Verified) -> User:
    """The user the verified claims sign in as (created, linked or joined as needed)."""
    claims = verified.claims
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > 255:
        raise SignInRefused("no_subject", f"{provider_name()} sent no usable subject.")
    email = _email(claims)
    user, link = _find_user(verified.issuer, subject, email)
    created = user is None
    if user is None:
        claimed = claims.get("name")
        name = claimed if isinstance(claimed, str) else ""
        user = User(
            email=email,
            password_hash="",  # "": no password sign-in
            name=name.strip()[:120] or None,
        )
    if link or created:
        user.oidc_issuer, user.oidc_subject = verified.issuer, subject
    row = accounts.membership(user) if not created else None
    if row is None:
        row = _join(user, email)
    audit.record(
        row.organization_id,
        "sso.sign_in",
        target_type="user",
        target_id=user.id,
        target_name=user.email,
        actor=user.email,
        details={**METHOD, "linked": link, "created": created, "role": row.role},
    )
    db.session.commit()
    return user


def record_failure(reason: str, claims: dict[str, Any] | None = None) -> None:
    """Audit a refused sign-in in the organization it concerns: the account's, else the
    invitation's, else the first one. Nothing from the token but the email is kept."""
    db.session.rollback()
    if reason == "throttled":  # the throttle bounds these; auditing each would not
        return
    email = (claims or {}).get("email")
    email = email.strip().lower()[:254] if isinstance(email, str) else None
    org_id = None
    if email:
        user = db.session.scalar(select(User).where(User.email == email))
        row = accounts.membership(user) if user is not None else None
        invitation = invitations.pending_for_email(None, email) if row is None else None
        org_id = (
            row.organization_id
            if row is not None
            else invitation.organization_id
            if invitation is not None
            else None
        )
    if org_id is None:
        org = _default_org()
        if org is None:
            return
        org_id = org.id
    audit.record(
        org_id,
        "auth.sign_in_failed",
        target_type="user",
        target_name=email,
        actor=email or "anonymous",
        details={**METHOD, "reason": reason},
    )
    db.session.commit()


__all__ = ["OidcFailed", "SignInRefused", "record_failure", "sign_in", "throttle"]
