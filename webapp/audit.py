"""The audit log: who created, edited, verified, synced or deleted what, when, from where.

Use-cases call `record`; the actor comes from the request: an API key the API layer put in
`g.api_key`, else the logged-in user. Outside a request (a CLI command, a job) the actor is
"system" unless one is given. `page_of_events` lists an organization's log, newest first.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from flask import appcontext_pushed, current_app, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import func, select

from .core.steps import LABELS
from .dialects import get_dialect
from .extensions import db
from .models import ApiKey, AuditEvent, Membership, User, utcnow

log = logging.getLogger(__name__)

# The actions use-cases record, with the words the audit page shows.
ACTIONS = {
    "source.created": "Created data source",
    "source.updated": "Edited data source",
    "source.verified": "Verified connection",
    "source.deleted": "Deleted data source",
    "source.sync_requested": "Requested a schema sync",
    "source.paused": "Paused data source",
    "source.resumed": "Resumed data source",
    "source.webhook_created": "Created a sync webhook token",
    "source.webhook_rotated": "Rotated the sync webhook token",
    "source.webhook_revoked": "Revoked the sync webhook token",
    "onboarding_link.created": "Sent an onboarding link",
    "onboarding_link.completed": "Connected a source with an onboarding link",
    "onboarding_link.revoked": "Revoked an onboarding link",
    "api_key.created": "Created API key",
    "api_key.revoked": "Revoked API key",
    "invitation.sent": "Invited a member",
    "invitation.accepted": "Accepted an invitation",
    "invitation.revoked": "Revoked an invitation",
    "member.role_changed": "Changed a member's role",
    "member.removed": "Removed a member",
    "sso.sign_in": "Signed in with single sign-on",
    "auth.sign_in_failed": "Failed sign-in",
    "notification_channel.created": "Added a notification channel",
    "notification_channel.deleted": "Deleted a notification channel",
    "notification_channel.tested": "Sent a test notification",
    "notification_delivery.redelivered": "Redelivered a notification",
}


def label(action: str) -> str:
    """The readable words for an action (the action itself when it has none)."""
    return ACTIONS.get(action, action)


def dialect_label(key: str) -> str:
    """A dialect's name as people write it ("PostgreSQL" for POSTGRES; the key when unknown)."""
    dialect = get_dialect(key)
    return dialect.label if dialect else key


# Why a single sign-on was refused (webapp/sso.py, webapp/oidc.py), in words.
SSO_REASONS = {
    "state": "state spent, expired or from another browser",
    "id_token.aud": "ID token for another audience",
    "id_token.azp": "ID token for another audience",
    "id_token.nonce": "nonce mismatch",
    "id_token": "ID token not verified",
    "email_unverified": "email not verified by the provider",
    "no_email": "no email shared",
    "domain": "email domain not allowed",
    "no_invitation": "no invitation and no default role",
    "other_identity": "email linked to another identity",
    "denied": "cancelled at the provider",
    "unreachable": "provider did not answer",
}


def _request_actor() -> tuple[str, User | None, ApiKey | None]:
    if not has_request_context():
        return "system", None, None
    if g.get("audit_actor"):  # someone without an account (an onboarding link's holder)
        return g.audit_actor, None, None
    key: ApiKey | None = g.get("api_key")
    if key is not None:
        return f"API key {key.name} ({key.prefix}…)", None, key
    if current_user.is_authenticated:
        return current_user.email, current_user, None
    return "anonymous", None, None


def client_address() -> str | None:
    """The address the request came from (behind proxies, see DATADOCK_TRUSTED_PROXIES)."""
    return request.remote_addr if has_request_context() else None


def record(
    organization_id: int,
    action: str,
    *,
    target_type: str | None = None,
    target_id: int | None = None,
    target_name: str | None = None,
    details: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session; the caller's commit stores it with its change.

    `details` must never hold a secret value: name fields, never their contents.
    """
    label, user, key = _request_actor()
    event = AuditEvent(
        organization_id=organization_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_name=target_name,
        details=details,
        actor=actor or label,
        actor_user_id=user.id if user else None,
        actor_api_key_id=key.id if key else None,
        ip_address=client_address(),
    )
    db.session.add(event)
    return event


_BACKGROUND = ThreadPoolExecutor(1, thread_name_prefix="datadock-audit")
_PENDING: set[Future] = set()
_PENDING_LOCK = threading.Lock()


def record_in_background(organization_id: int, action: str, **fields: Any) -> None:
    """Like `record` followed by a commit of its own, for a command that writes nothing else
    (a verify): the event (actor, address and time taken now) is inserted by a background
    thread in its own transaction, so the answer does not wait for the commit; its time is
    the command's. `settle` waits for such events (every new app context and
    `page_of_events` settle first; `record` does not, as it may run inside a write
    transaction the insert would wait on). Outside a request it is written at once."""
    event = record(organization_id, action, **fields)
    if not has_request_context():
        db.session.commit()
        return
    event.created_at = utcnow()
    db.session.expunge(event)
    row = {c.key: getattr(event, c.key) for c in AuditEvent.__table__.columns if c.key != "id"}
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # outlives the request
    future = _BACKGROUND.submit(_insert, app, row)
    with _PENDING_LOCK:
        _PENDING.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future) -> None:
    with _PENDING_LOCK:
        _PENDING.discard(future)


def _insert(app: Any, row: dict[str, Any]) -> None:
    try:
        with app.app_context():
            db.session.execute(AuditEvent.__table__.insert().values(row))
            db.session.commit()
            db.session.remove()
    except Exception:  # the answer is gone: the server log is where a lost event is told
        log.exception("could not record an audit event (%s)", row.get("action"))


def settle(timeout: float = 10.0) -> None:
    """Wait until the events `record_in_background` queued in this process are stored."""
    if threading.current_thread().name.startswith(("datadock-audit", "datadock-verify")):
        return  # the writer itself, or a verify's thread (it reads no audit event)
    with _PENDING_LOCK:
        pending = list(_PENDING)
    if pending:
        wait(pending, timeout=timeout)


@appcontext_pushed.connect
def _settle_on_push(_app: Any, **_extra: Any) -> None:
    """Read your writes in this process: a new app context (the next request, a job, a CLI
    command or a test reading the store) starts once the queued events are in (normally
    none; otherwise a millisecond). The answer that queued them was not held up."""
    settle(timeout=2.0)


def request_organization_id() -> int | None:
    """The organization the request acts for: the API key's, else the logged-in user's."""
    if not has_request_context():
        return None
    key: ApiKey | None = g.get("api_key")
    if key is not None:
        return key.organization_id
    if current_user.is_authenticated:
        return db.session.scalar(
            select(Membership.organization_id)
            .where(Membership.user_id == current_user.id)
            .order_by(Membership.id)
            .limit(1)
        )
    return None


def describe(event: AuditEvent) -> str:
    """What the event's details say, in words (names of fields, never their values)."""
    details = event.details or {}
    parts = []
    if details.get("changed"):
        parts.append("Changed: " + ", ".join(details["changed"]))
    if details.get("result") == "success":
        parts.append("Succeeded")
    elif details.get("result") == "failure":
        step = LABELS.get(details.get("step") or "", details.get("step"))
        failed = f"Failed at {step}" if step else "Failed"
        fields = details.get("fields") or []
        parts.append(failed + (" (" + ", ".join(fields) + ")" if fields else ""))
    if details.get("trigger"):
        parts.append(f"Trigger: {details['trigger']}")
    if details.get("dialect") and not details.get("changed"):
        parts.append(f"Dialect: {dialect_label(details['dialect'])}")
    if details.get("demo"):
        parts.append("Demo database")
    if details.get("from") and details.get("to"):
        parts.append(f"Role: {details['from']} → {details['to']}")
    elif details.get("role"):
        parts.append(f"Role: {details['role']}")
    if details.get("scope"):
        parts.append(f"Scope: {details['scope']}")
    if "mailed" in details:
        parts.append("Emailed" if details["mailed"] else "Link shown, not emailed")
    if details.get("method"):
        parts.append(f"Method: {details['method']}")
    if details.get("reason") and details.get("method") == "sso":
        parts.append(f"Reason: {SSO_REASONS.get(details['reason'], details['reason'])}")
    return "; ".join(parts)


@dataclass(frozen=True)
class EventPage:
    """One page of an organization's audit log."""

    events: list[AuditEvent]
    page: int
    pages: int
    total: int


def page_of_events(organization_id: int, page: int = 1, per_page: int = 50) -> EventPage:
    """The organization's events, newest first; `page` is clamped to the pages there are."""
    settle()
    where = AuditEvent.organization_id == organization_id
    total = db.session.scalar(select(func.count()).select_from(AuditEvent).where(where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    events = db.session.scalars(
        select(AuditEvent)
        .where(where)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return EventPage(list(events), page, pages, total)
