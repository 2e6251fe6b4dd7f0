"""Roles and key scopes: which includes which, and their words for pages.

`admin` includes `editor`, which includes `viewer`. A key scope `admin` includes `write`, which
includes `read`. A key never does more than its creator's role allows (an editor's key at most
`write`, a viewer's at most `read`)."""

from __future__ import annotations

from ..models import KeyScope, Role

__all__ = [
    "ROLE_HELP",
    "SCOPE_HELP",
    "KeyScope",
    "Role",
    "at_least",
    "parse_role",
    "parse_scope",
    "scope_allows",
    "scope_for_role",
]

_ROLE_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}
_SCOPE_RANK = {KeyScope.READ: 0, KeyScope.WRITE: 1, KeyScope.ADMIN: 2}

ROLE_HELP = {
    Role.ADMIN: "Members, invitations, API keys, notification settings, the audit log, and "
    "everything an editor does.",
    Role.EDITOR: "Adds, edits, verifies, syncs and deletes data sources.",
    Role.VIEWER: "Sees data sources, their health, sync history and schema. No secrets, "
    "no actions.",
}
SCOPE_HELP = {
    KeyScope.READ: "GET operations only.",
    KeyScope.WRITE: "Reads, and creates, changes, verifies, syncs and deletes data sources.",
    KeyScope.ADMIN: "Everything, including members and invitations.",
}


def parse_role(value: str | None) -> Role | None:
    """The role named `value` (any case), or None."""
    try:
        return Role((value or "").strip().lower())
    except ValueError:
        return None


def parse_scope(value: str | None) -> KeyScope | None:
    """The key scope named `value` (any case), or None."""
    try:
        return KeyScope((value or "").strip().lower())
    except ValueError:
        return None


def at_least(role: str | None, needed: str) -> bool:
    """Whether `role` includes `needed` (an unknown role includes nothing)."""
    have = parse_role(role)
    return have is not None and _ROLE_RANK[have] >= _ROLE_RANK[Role(needed)]


def scope_for_role(role: str | None) -> KeyScope | None:
    """The widest key scope a member of this role may use (None: no key works)."""
    have = parse_role(role)
    if have is None:
        return None
    return {Role.ADMIN: KeyScope.ADMIN, Role.EDITOR: KeyScope.WRITE, Role.VIEWER: KeyScope.READ}[
        have
    ]


def scope_allows(scope: str | None, needed: str) -> bool:
    """Whether a key of `scope` may call an operation that needs `needed`."""
    have = parse_scope(scope)
    return have is not None and _SCOPE_RANK[have] >= _SCOPE_RANK[KeyScope(needed)]
