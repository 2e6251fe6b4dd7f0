"""Who is asking: the logged-in user's organization and role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g
from flask_login import current_user, login_required

from ..accounts import membership
from ..models import Organization, Role


def current_org() -> Organization:
    """The organization of the logged-in user (404 if they have none)."""
    if "membership" not in g:
        g.membership = membership(current_user)
    if g.membership is None:
        abort(404)
    return g.membership.organization


def is_admin() -> bool:
    """Whether the logged-in user is an admin of their organization."""
    return current_user.is_authenticated and current_org() is not None and (
        g.membership.role == Role.ADMIN.value)


def member_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged in and member of an organization."""
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        current_org()
        return view(*args, **kwargs)
    wrapper.access = "member"  # type: ignore[attr-defined]  (read by the every-route test)
    return wrapper


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged in as an admin: only admins create, edit or delete sources."""
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_admin():
            abort(403)
        return view(*args, **kwargs)
    wrapper.access = "admin"  # type: ignore[attr-defined]  (read by the every-route test)
    return wrapper


def nav_context() -> dict[str, Any]:
    """`nav_is_admin` for base.html: whether to show the admins' links."""
    if not current_user.is_authenticated:
        return {"nav_is_admin": False}
    if "membership" not in g:
        g.membership = membership(current_user)
    return {"nav_is_admin": g.membership is not None
            and g.membership.role == Role.ADMIN.value}
