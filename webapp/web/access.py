"""Who is asking: the logged-in user's organization and role, and the decorators every page
route declares its role with (`admin_required`, `editor_required`, `viewer_required`).

Each decorator sets `view.access` to the role it needs; tests/unit/test_roles.py walks the URL
map and checks every route against every role."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g
from flask_login import current_user, login_required

from ..accounts import membership
from ..members.roles import Role, at_least
from ..models import Organization

View = Callable[..., Any]


def _membership() -> Any:
    if "membership" not in g:
        g.membership = membership(current_user) if current_user.is_authenticated else None
    return g.membership


def current_org() -> Organization:
    """The organization of the logged-in user (404 if they have none)."""
    row = _membership()
    if row is None:
        abort(404)
    return row.organization


def current_role() -> str | None:
    """The logged-in user's role in their organization, or None."""
    row = _membership()
    return row.role if row is not None else None


def has_role(role: str) -> bool:
    """Whether the logged-in user's role includes `role`."""
    return at_least(current_role(), role)


def is_admin() -> bool:
    """Whether the logged-in user is an admin of their organization."""
    return has_role(Role.ADMIN.value)


def can_edit() -> bool:
    """Whether the logged-in user may change sources (editor or admin)."""
    return has_role(Role.EDITOR.value)


def requires(role: Role) -> Callable[[View], View]:
    """A decorator: logged in, a member, and of at least `role` (else 403)."""

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            current_org()
            if not has_role(role.value):
                abort(403)
            return view(*args, **kwargs)

        wrapper.access = role.value  # type: ignore[attr-defined]  # read by the roles test
        return wrapper

    return decorate


admin_required = requires(Role.ADMIN)
editor_required = requires(Role.EDITOR)
viewer_required = requires(Role.VIEWER)
# Before roles, "member" meant "any member": reading pages.
member_required = viewer_required


def nav_context() -> dict[str, Any]:
    """For every template: `nav_is_admin` (the admins' links), `can_edit` (action buttons
    and forms for sources) and `current_role`."""
    if not current_user.is_authenticated:
        return {"nav_is_admin": False, "can_edit": False, "current_role": None}
    role = current_role()
    return {
        "nav_is_admin": at_least(role, Role.ADMIN.value),
        "can_edit": at_least(role, Role.EDITOR.value),
        "current_role": role,
    }
