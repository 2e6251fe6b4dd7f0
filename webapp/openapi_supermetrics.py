"""The OpenAPI entries of the Supermetrics face (/v1/teams/{teamId}/data-source-connections,
api/supermetrics.py), merged into the document by openapi.build_document. Its answers and
errors have Supermetrics' shapes, stated here as `SmConnection…` and `SmError`."""

from __future__ import annotations

from typing import Any

from .dialects import DIALECTS
from .members.roles import KeyScope
from .openapi_parts import operation, ref

BASE = "/v1/teams/{teamId}/data-source-connections"
_META = {
    "type": "object",
    "required": ["request_id"],
    "properties": {"request_id": {"type": ["string", "null"]}},
}
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_HEADERS = ("X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining")


_ref = ref


def schemas() -> dict[str, Any]:
    """The request body, the two answers and the error."""
    return {
        "SmCreateConnection": {
            "type": "object",
            "required": ["data_source_id"],
            "properties": {
                "data_source_id": {
                    "type": "string",
                    "enum": list(DIALECTS),
                    "description": "The dialect of the source to connect (case-insensitive).",
                },
                "display_name": {
                    "type": ["string", "null"],
                    "maxLength": 120,
                    "description": "The source's name; else the person who "
                    "opens the link chooses it.",
                },
                "expires_in": {
                    "type": ["integer", "null"],
                    "minimum": 300,
                    "maximum": 2592000,
                    "description": "Seconds the link stays valid (default 7 days).",
                },
            },
        },
        "SmConnectionCreated": _envelope(
            {
                "type": "object",
                "required": ["connection_id", "login_url", "connect_url"],
                "properties": {
                    "connection_id": {"type": "string", "format": "uuid"},
                    "login_url": {"type": "null"},
                    "connect_url": {
                        "type": "string",
                        "description": "The single-use link; shown only in this answer.",
                    },
                },
            }
        ),
        "SmConnection": _envelope(
            {
                "type": "object",
                "required": ["connection_id", "data_source_id", "status", "data_source"],
                "properties": {
                    "connection_id": {"type": "string", "format": "uuid"},
                    "data_source_id": {"type": "string"},
                    "display_name": {"type": ["string", "null"]},
                    "status": {
                        "type": "string",
                        "enum": ["pending", "completed", "expired", "revoked"],
                    },
                    "created_time": _MOMENT,
                    "expires_time": _MOMENT,
                    "completed_time": _MOMENT,
                    "completed_by": {"type": ["string", "null"]},
                    "data_source": {
                        "type": ["object", "null"],
                        "properties": {
                            "id": {
                                "type": "string",
                                "format": "uuid",
                                "description": "The source's public UUID (accepted as its id).",
                            },
                            "display_name": {"type": "string"},
                            "last_sync_status": {"type": "string"},
                        },
                    },
                },
            }
        ),
        "SmError": {
            "type": "object",
            "required": ["meta", "error"],
            "properties": {
                "meta": _META,
                "error": {
                    "type": "object",
                    "required": ["code", "message", "description"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "enum": [
                                "INVALID_PARAMETER",
                                "API_KEY_INVALID",
                                "ACCESS_DENIED",
                                "NOT_FOUND",
                                "METHOD_NOT_ALLOWED",
                                "REQUEST_TOO_LARGE",
                                "RATE_LIMIT_EXCEEDED",
                                "INTERNAL_ERROR",
                            ],
                        },
                        "message": {"type": "string"},
                        "description": {"type": "string"},
                    },
                },
            },
        },
    }


def _envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": _META, "data": data},
    }


def parameters() -> dict[str, Any]:
    """teamId and connectionId."""
    return {
        "teamId": {
            "name": "teamId",
            "in": "path",
            "required": True,
            "description": "Team ID (the organization's ID)",
            "schema": {"type": "string"},
        },
        "connectionId": {
            "name": "connectionId",
            "in": "path",
            "required": True,
            "description": "The connection_id a create answered",
            "schema": {"type": "string"},
        },
    }


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": _ref("schemas", schema)}}


def _answer(description: str, schema: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {name: _ref("headers", name) for name in (*_HEADERS, *extra)},
        "content": _json(schema),
    }


def _errors(*statuses: str) -> dict[str, Any]:
    words = {
        "400": "INVALID_PARAMETER: the body is not a JSON object",
        "401": "API_KEY_INVALID",
        "403": "ACCESS_DENIED: the key's scope is too small",
        "404": "NOT_FOUND: no such team or connection for this key",
        "422": "INVALID_PARAMETER: a field is wrong (description names it)",
        "429": "RATE_LIMIT_EXCEEDED",
        "500": "INTERNAL_ERROR",
    }
    out = {}
    for status in (*statuses, "401", "403", "404", "429", "500"):
        extra = (
            ("Retry-After",)
            if status == "429"
            else (("WWW-Authenticate",) if status == "401" else ())
        )
        out[status] = _answer(words[status], "SmError", extra)
    return out


def _op(
    op_id: str,
    summary: str,
    description: str,
    responses: dict[str, Any],
    scope: KeyScope,
    params: tuple[str, ...],
    body: bool = False,
) -> dict[str, Any]:
    return operation(
        op_id,
        summary,
        description,
        responses,
        tag="Onboarding links",
        params=params,
        body="SmCreateConnection" if body else None,
        scope=scope.value,
    )


def paths() -> dict[str, Any]:
    """Create, get and revoke a data source connection (an onboarding link)."""
    one = BASE + "/{connectionId}"
    return {
        BASE: {
            "post": _op(
                "createDataSourceConnection",
                "Create an onboarding link",
                "Supermetrics' create-connection: answers `connect_url`, a single-use, expiring "
                "link where someone without an account enters that dialect's connection details. "
                "201 with an absolute Location.",
                {
                    "201": _answer("The link", "SmConnectionCreated", ("Location",)),
                    **_errors("400", "422"),
                },
                KeyScope.WRITE,
                ("teamId",),
                body=True,
            )
        },
        one: {
            "get": _op(
                "getDataSourceConnection",
                "Get a data source connection",
                "Pending, completed (with the source it made), expired or revoked.",
                {"200": _answer("The connection", "SmConnection"), **_errors()},
                KeyScope.READ,
                ("teamId", "connectionId"),
            ),
            "delete": _op(
                "deleteDataSourceConnection",
                "Revoke a data source connection",
                "The link stops working; a source it already made stays.",
                {"200": _answer("The connection", "SmConnection"), **_errors()},
                KeyScope.WRITE,
                ("teamId", "connectionId"),
            ),
        },
    }
