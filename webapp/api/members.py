"""Members and invitations endpoints (admin-scope keys only): list members, invite (POST
members or invitations: the link is in the answer once), change a role, remove a member,
list and revoke invitations; and GET of an API key (scope, creator, expiry, last use).
Refusals (unknown role, last admin, bad email) are 400 ValidationError with fieldErrors;
another organization or an unknown id is the one 404."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import g, jsonify, request

from .. import api_keys
from .. import sources as orgs
from ..members import invitations
from ..members import members as uc
from ..members.roles import KeyScope
from ..safe_parse import InputRefused, load_json
from ..source_inputs import iso
from . import bp
from .errors import ApiError, invalid, not_found
from .guard import requires_scope

if TYPE_CHECKING:
    from ..models import ApiKey, Invitation, Organization

MEMBERS = "/organizations/<org_id>/members"
INVITATIONS = "/organizations/<org_id>/invitations"
MAX_BODY_BYTES = 64 * 1024
_ID = re.compile(r"^[0-9]{1,18}$")
_INVITE_FIELDS = {"email", "role"}


def _org(org_id: str) -> Organization:
    key = g.api_key
    if not _ID.match(org_id) or int(org_id) != key.organization_id:
        raise not_found()
    org = orgs.get_organization(key.organization_id)
    if org is None:
        raise not_found()
    return org


def _body(allowed: set[str]) -> dict[str, Any]:
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "PayloadTooLarge", f"Send at most {MAX_BODY_BYTES} bytes.")
    try:
        body = load_json(raw or b"null")
    except (InputRefused, ValueError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "InvalidJson",
            "The body must be a JSON object, e.g. "
            + (
                '{"email": "ana@example.com", "role": "viewer"}'
                if "email" in allowed
                else '{"role": "editor"}'
            )
            + ".",
        )
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid({name: "Unknown field" for name in unknown})
    wrong = {
        name: "Must be a string"
        for name in allowed
        if name in body and not isinstance(body[name], str)
    }
    if wrong:
        raise invalid(wrong)
    return body


def member_data(member: uc.Member) -> dict[str, Any]:
    """One member."""
    return {
        "id": str(member.id),
        "email": member.email,
        "name": member.name,
        "role": member.role,
        "signIn": member.sign_in,
        "lastSeenAt": iso(member.last_seen_at),
        "joinedAt": iso(member.joined_at),
    }


def invitation_data(row: Invitation, url: str | None = None) -> dict[str, Any]:
    """One invitation; `url` only in the answer that created it."""
    data = {
        "id": str(row.id),
        "email": row.email,
        "role": row.role,
        "status": invitations.status(row),
        "createdAt": iso(row.created_at),
        "expiresAt": iso(row.expires_at),
    }
    if url is not None:
        data["url"] = url
    return data


def _membership(org: Organization, member_id: str) -> Any:
    row = uc.get_membership(org, int(member_id)) if _ID.match(member_id) else None
    if row is None:
        raise not_found()
    return row


@bp.get(MEMBERS)
@requires_scope(KeyScope.ADMIN)
def list_members(org_id: str) -> Any:
    """Everyone in the organization."""
    return jsonify(data=[member_data(m) for m in uc.list_members(_org(org_id))])


def _invite(org_id: str) -> Any:
    org = _org(org_id)
    body = _body(_INVITE_FIELDS)
    new = invitations.create(
        org, body.get("email"), body.get("role"), invitations.base_url(request.host_url)
    )
    return jsonify(data=invitation_data(new.invitation, new.url)), 201


@bp.post(MEMBERS)
@requires_scope(KeyScope.ADMIN)
def add_member(org_id: str) -> Any:
    """People join by invitation: the same as POST …/invitations."""
    return _invite(org_id)


@bp.patch(MEMBERS + "/<member_id>")
@requires_scope(KeyScope.ADMIN)
def update_member(org_id: str, member_id: str) -> Any:
    """Change a member's role ({"role"}); their sessions end."""
    row = _membership(_org(org_id), member_id)
    body = _body({"role"})
    if "role" not in body:
        raise invalid({"role": "Required"})
    uc.change_role(row, body["role"])
    return jsonify(data=member_data(uc.as_member(row)))


@bp.delete(MEMBERS + "/<member_id>")
@requires_scope(KeyScope.ADMIN)
def delete_member(org_id: str, member_id: str) -> Any:
    """Remove a member: sessions end, their keys stop working."""
    uc.remove(_membership(_org(org_id), member_id))
    return jsonify(data={"success": True})


@bp.post(INVITATIONS)
@requires_scope(KeyScope.ADMIN)
def create_invitation(org_id: str) -> Any:
    """Invite {"email", "role"}: 201 with the link (shown once) and its expiry."""
    return _invite(org_id)


@bp.get(INVITATIONS)
@requires_scope(KeyScope.ADMIN)
def list_invitations(org_id: str) -> Any:
    """Invitations not yet accepted or revoked (expired ones say so)."""
    return jsonify(data=[invitation_data(i) for i in invitations.list_pending(_org(org_id))])


@bp.delete(INVITATIONS + "/<invitation_id>")
@requires_scope(KeyScope.ADMIN)
def delete_invitation(org_id: str, invitation_id: str) -> Any:
    """Revoke an invitation: its link says so from now on."""
    org = _org(org_id)
    row = invitations.get(org, int(invitation_id)) if _ID.match(invitation_id) else None
    if row is None:
        raise not_found()
    invitations.revoke(row)
    return jsonify(data={"success": True})


@bp.get("/organizations/<org_id>/api-keys/<key_id>")
@requires_scope(KeyScope.ADMIN)
def get_api_key(org_id: str, key_id: str) -> Any:
    """One API key's name, prefix, scope, creator, expiry and last use (never the key)."""
    org = _org(org_id)
    key = api_keys.get_key(org, int(key_id)) if _ID.match(key_id) else None
    if key is None:
        raise not_found()
    return jsonify(data=api_key_data(key))


def api_key_data(key: ApiKey) -> dict[str, Any]:
    """An API key as the API shows it: its prefix only."""
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "scope": key.scope,
        "createdBy": key.created_by.email if key.created_by else None,
        "createdAt": iso(key.created_at),
        "expiresAt": iso(key.expires_at),
        "lastUsedAt": iso(key.last_used_at),
        "revokedAt": iso(key.revoked_at),
    }
