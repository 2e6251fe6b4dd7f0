"""The audit log: who created, edited, verified, synced or deleted what, when, from where.

Use-cases call `record`; the actor comes from the request: an API key the API layer put in
`g.api_key`, else the logged-in user. Outside a request (a CLI command, a job) the actor is
"system" unless one is given.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import ApiKey, AuditEvent, User


def _request_actor() -> tuple[str, User | None, ApiKey | None]:
    if not has_request_context():
        return "system", None, None
    key: ApiKey | None = g.get("api_key")
    if key is not None:
        return f"API key {key.name} ({key.prefix}…)", None, key
    if current_user.is_authenticated:
        return current_user.email, current_user, None
    return "anonymous", None, None


def client_address() -> str | None:
    """The address the request came from (the proxy's view, see PROXY_FIX in the README)."""
    return request.remote_addr if has_request_context() else None


def record(organization_id: int, action: str, *, target_type: str | None = None,
           target_id: int | None = None, target_name: str | None = None,
           details: dict[str, Any] | None = None, actor: str | None = None) -> AuditEvent:
    """Add an audit event to the session; the caller's commit stores it with its change.

    `details` must never hold a secret value: name fields, never their contents.
    """
    label, user, key = _request_actor()
    event = AuditEvent(
        organization_id=organization_id, action=action, target_type=target_type,
        target_id=target_id, target_name=target_name, details=details,
        actor=actor or label, actor_user_id=user.id if user else None,
        actor_api_key_id=key.id if key else None, ip_address=client_address())
    db.session.add(event)
    return event
