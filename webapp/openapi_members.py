"""The OpenAPI entries of the members and invitations operations (admin-scope keys), merged
into the document by openapi.build_document."""

from __future__ import annotations

from typing import Any

from . import openapi_parts as parts
from .members.roles import KeyScope, Role

PREFIX = "/api/public"
_ROLES = [r.value for r in Role]


_ref = parts.ref


def schemas() -> dict[str, Any]:
    """Member, Invitation and the two request bodies."""
    moment = {"type": ["string", "null"], "format": "date-time"}
    return {
        "Member": {
            "type": "object",
            "required": ["id", "email", "role", "signIn"],
            "properties": {
                "id": {"type": "string"},
                "email": {"type": "string"},
                "name": {"type": ["string", "null"]},
                "role": {"type": "string", "enum": _ROLES},
                "signIn": {"type": "string", "enum": ["password", "sso"]},
                "lastSeenAt": moment,
                "joinedAt": moment,
            },
        },
        "Invitation": {
            "type": "object",
            "required": ["id", "email", "role", "status", "expiresAt"],
            "properties": {
                "id": {"type": "string"},
                "email": {"type": "string"},
                "role": {"type": "string", "enum": _ROLES},
                "status": {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]},
                "createdAt": moment,
                "expiresAt": {"type": "string", "format": "date-time"},
                "url": {
                    "type": "string",
                    "description": "The single-use link: only in the answer that created "
                    "the invitation.",
                },
            },
        },
        "CreateInvitation": {
            "type": "object",
            "required": ["email", "role"],
            "additionalProperties": False,
            "properties": {
                "email": {"type": "string", "maxLength": 254},
                "role": {"type": "string", "enum": _ROLES},
            },
        },
        "ApiKey": {
            "type": "object",
            "required": ["id", "name", "prefix", "scope"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "prefix": {
                    "type": "string",
                    "description": "The key's first characters; the key itself is never returned.",
                },
                "scope": {"type": "string", "enum": [s.value for s in KeyScope]},
                "createdBy": {"type": ["string", "null"]},
                "createdAt": moment,
                "expiresAt": moment,
                "lastUsedAt": moment,
                "revokedAt": moment,
            },
        },
        "UpdateMember": {
            "type": "object",
            "required": ["role"],
            "additionalProperties": False,
            "properties": {"role": {"type": "string", "enum": _ROLES}},
        },
    }


def parameters() -> dict[str, Any]:
    """The path parameters of these operations."""
    return {
        "memberId": {
            "name": "memberId",
            "in": "path",
            "required": True,
            "description": "Member ID",
            "schema": {"type": "string"},
        },
        "keyId": {
            "name": "keyId",
            "in": "path",
            "required": True,
            "description": "API key ID",
            "schema": {"type": "string"},
        },
        "invitationId": {
            "name": "invitationId",
            "in": "path",
            "required": True,
            "description": "Invitation ID",
            "schema": {"type": "string"},
        },
    }


def paths(ok: Any, errors: Any, data: Any) -> dict[str, Any]:
    """The paths, built with openapi.py's helpers `_ok`, `_errors`, `_data`."""
    members = f"{PREFIX}/organizations/{{orgId}}/members"
    invitations = f"{PREFIX}/organizations/{{orgId}}/invitations"
    success = data(
        {"type": "object", "required": ["success"], "properties": {"success": {"const": True}}}
    )
    invitation = data(_ref("schemas", "Invitation"))
    member = data(_ref("schemas", "Member"))

    def op(
        op_id: str,
        summary: str,
        description: str,
        responses: dict[str, Any],
        body: str | None = None,
        params: tuple[str, ...] = ("orgId",),
    ) -> dict[str, Any]:
        return parts.operation(
            op_id,
            summary,
            description,
            responses,
            tag="Members",
            params=params,
            body=body,
            scope=KeyScope.ADMIN.value,
        )

    invite = (
        "Creates a single-use invitation link, valid 7 days (only its hash is stored), "
        "emailed when the server has a mail server. The `url` is in this answer only."
    )
    return {
        members: {
            "get": op(
                "listMembers",
                "List members",
                "Everyone in the organization.",
                {
                    **ok("Members", data({"type": "array", "items": _ref("schemas", "Member")})),
                    **errors("404"),
                },
            ),
            "post": op(
                "addMember",
                "Invite a member",
                invite + " People join by invitation.",
                {**ok("Invitation created", invitation, "201"), **errors("400", "404")},
                body="CreateInvitation",
            ),
        },
        members + "/{memberId}": {
            "patch": op(
                "updateMember",
                "Change a member's role",
                "Their sessions end at once. The last admin cannot be demoted.",
                {**ok("The member", member), **errors("400", "404")},
                body="UpdateMember",
                params=("orgId", "memberId"),
            ),
            "delete": op(
                "removeMember",
                "Remove a member",
                "Their sessions end and the API keys they created stop working. The "
                "last admin cannot be removed.",
                {**ok("Removed", success), **errors("400", "404")},
                params=("orgId", "memberId"),
            ),
        },
        invitations: {
            "get": op(
                "listInvitations",
                "List invitations",
                "Invitations not yet accepted or revoked (expired ones say so).",
                {
                    **ok(
                        "Invitations",
                        data({"type": "array", "items": _ref("schemas", "Invitation")}),
                    ),
                    **errors("404"),
                },
            ),
            "post": op(
                "createInvitation",
                "Invite someone",
                invite,
                {**ok("Invitation created", invitation, "201"), **errors("400", "404")},
                body="CreateInvitation",
            ),
        },
        f"{PREFIX}/organizations/{{orgId}}/api-keys/{{keyId}}": {
            "get": op(
                "getApiKey",
                "Get an API key",
                "Its name, prefix, scope, creator, expiry and last use (never the key).",
                {**ok("The key", data(_ref("schemas", "ApiKey"))), **errors("404")},
                params=("orgId", "keyId"),
            ),
        },
        invitations + "/{invitationId}": {
            "delete": op(
                "revokeInvitation",
                "Revoke an invitation",
                "Its link says it was revoked from now on.",
                {**ok("Revoked", success), **errors("404")},
                params=("orgId", "invitationId"),
            ),
        },
    }


def with_scopes(all_paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation says the key scope it needs (`x-required-scope`): the one it declares,
    else `read` for GET and `write` for the rest (the data source operations)."""
    for path, item in all_paths.items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or path.endswith("/openapi.json"):
                continue
            operation.setdefault(
                "x-required-scope", KeyScope.READ.value if method == "get" else KeyScope.WRITE.value
            )
    return all_paths
