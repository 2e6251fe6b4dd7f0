"""The OpenAPI entries of the faces of other products' contracts (DataBrain, Credible Data),
generated from their name tables (api/databrain_fields.py, api/credible_fields.py) and merged
into the document by openapi.build_document. A tag per face; each has its own error shape."""

from __future__ import annotations

from typing import Any

from .dialects import get_dialect
from .source_fields import SOURCE_FIELDS

DATABRAIN_TAG = "DataBrain face"
CREDIBLE_TAG = "Credible Data face"
NAME = {"type": "string", "pattern": "^[a-zA-Z0-9_-]+$", "maxLength": 120}
_REF = "#/components/schemas/"


def _tables() -> tuple[dict[str, Any], dict[str, Any]]:
    """The faces' name tables (imported here: webapp.api imports this document's builder)."""
    from .api.credible_fields import TYPES as credible
    from .api.databrain_fields import TYPES as databrain

    return databrain, credible


def tags() -> list[dict[str, str]]:
    return [
        {"name": DATABRAIN_TAG, "description": "DataBrain's POST /api/v2/datasource"},
        {
            "name": CREDIBLE_TAG,
            "description": "Credible Data's /api/v0/projects/{p}/connections/{c}",
        },
    ]


def _property(dialect_key: str, ours: str | None) -> dict[str, Any]:
    """The JSON schema of the Datadock field a name fills (any JSON for converted names)."""
    dialect = get_dialect(dialect_key)
    specs = {s.name: s for s in (*SOURCE_FIELDS, *(dialect.fields if dialect else ()))}
    spec = specs.get(ours or "")
    if spec is None:
        return {}
    kind = {"integer": "integer", "boolean": "boolean"}.get(spec.kind, "string")
    schema: dict[str, Any] = {
        "type": [kind, "null"],
        "description": f"Datadock's `{ours}`" + (" (write-only)" if spec.secret else ""),
    }
    if spec.secret:
        schema["writeOnly"] = True
    return schema


def _databrain_body(kind: str) -> dict[str, Any]:
    spec = _tables()[0][kind]
    props = {r.theirs: _property(spec.dialect, r.ours) for r in spec.renames}
    props["name"] = {"type": "string", "description": "The unique display name"}
    return {
        "type": "object",
        "required": ["datasourceType", "credentials"],
        "additionalProperties": False,
        "properties": {
            "datasourceType": {"const": kind},
            "credentials": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": props,
            },
        },
    }


def _credible_body(kind: str) -> dict[str, Any]:
    spec = _tables()[1][kind]
    props = {r.theirs: _property(spec.dialect, r.ours) for r in spec.renames}
    return {
        "type": "object",
        "required": ["type", spec.key],
        "additionalProperties": False,
        "properties": {
            "type": {"const": kind},
            "name": NAME,
            spec.key: {"type": "object", "additionalProperties": False, "properties": props},
        },
    }


def schemas() -> dict[str, Any]:
    """Request bodies (one per type, oneOf by the type), answers and the two error shapes."""
    databrain_types, credible_types = _tables()
    found: dict[str, Any] = {}
    for kind in databrain_types:
        found[f"DataBrainDatasource_{kind}"] = _databrain_body(kind)
    for kind in credible_types:
        found[f"CredibleConnection_{kind}"] = _credible_body(kind)
    found["DataBrainDatasource"] = {
        "oneOf": [{"$ref": f"{_REF}DataBrainDatasource_{k}"} for k in databrain_types],
        "discriminator": {
            "propertyName": "datasourceType",
            "mapping": {k: f"{_REF}DataBrainDatasource_{k}" for k in databrain_types},
        },
    }
    found["CredibleConnectionRequest"] = {
        "oneOf": [{"$ref": f"{_REF}CredibleConnection_{k}"} for k in credible_types],
        "discriminator": {
            "propertyName": "type",
            "mapping": {k: f"{_REF}CredibleConnection_{k}" for k in credible_types},
        },
    }
    field_errors = {"type": "object", "additionalProperties": {"type": "string"}}
    found["DataBrainError"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "INVALID_REQUEST_BODY",
                            "DATASOURCE_NAME_ERROR",
                            "CREDENTIAL_TEST_FAILED",
                            "AUTHENTICATION_ERROR",
                            "SCHEMA_CACHE_FAILED",
                            "CREATE_DATASOURCE_FAILED",
                            "INTERNAL_SERVER_ERROR",
                            "RATE_LIMIT_EXCEEDED",
                            "INVALID_REQUEST",
                        ],
                    },
                    "message": {"type": "string"},
                    "fieldErrors": field_errors,
                },
            }
        },
    }
    found["CredibleError"] = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "fieldErrors": field_errors,
        },
    }
    found["CredibleConnection"] = {
        "type": "object",
        "required": ["name", "type", "resource"],
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string"},
            "resource": {"type": "string"},
            "lastSyncStatus": {"type": "string"},
            "syncErrorMessage": {"type": ["string", "null"]},
            **{
                s.key: {"type": "object", "description": "As sent, without secrets"}
                for s in credible_types.values()
            },
        },
    }
    return found


def _answer(description: str, schema: str | dict[str, Any]) -> dict[str, Any]:
    body = {"$ref": f"{_REF}{schema}"} if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


def _errors(schema: str, *statuses: str) -> dict[str, Any]:
    words = {
        "400": "Refused input",
        "401": "No valid API key",
        "403": "The key's scope is too small",
        "404": "No such connection",
        "409": "The name is taken",
        "429": "Too many requests",
        "500": "Datadock failed",
    }
    return {s: _answer(words[s], schema) for s in statuses}


def paths() -> dict[str, Any]:
    """POST /api/v2/datasource; POST, GET, DELETE /api/v0/projects/{p}/connections/{c}."""
    message = {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}},
    }
    params = [
        {"name": n, "in": "path", "required": True, "schema": NAME}
        for n in ("projectName", "connectionName")
    ]
    credible_errors = ("400", "401", "403", "404", "429", "500")
    return {
        "/api/v2/datasource": {
            "post": {
                "operationId": "databrainCreateDatasource",
                "tags": [DATABRAIN_TAG],
                "summary": "Create a datasource (DataBrain)",
                "description": "Tests the connection before anything is stored, then waits for "
                "the first schema sync (DATADOCK_DATABRAIN_SCHEMA_WAIT_SECONDS).",
                "x-required-scope": "write",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"{_REF}DataBrainDatasource"}}
                    },
                },
                "responses": {
                    "200": _answer(
                        "Created",
                        {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string"}},
                        },
                    ),
                    **_errors("DataBrainError", "400", "401", "403", "429", "500"),
                },
            }
        },
        "/api/v0/projects/{projectName}/connections/{connectionName}": {
            "post": {
                "parameters": params,
                "operationId": "credibleCreateConnection",
                "tags": [CREDIBLE_TAG],
                "summary": "Create a connection in a project (Credible Data)",
                "description": "The project is created on first use; the connection is "
                "tested before it is stored. A second POST is 409.",
                "x-required-scope": "write",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"{_REF}CredibleConnectionRequest"}}
                    },
                },
                "responses": {
                    "201": _answer("Created", message),
                    **_errors("CredibleError", *credible_errors, "409"),
                },
            },
            "get": {
                "operationId": "credibleGetConnection",
                "tags": [CREDIBLE_TAG],
                "summary": "Get a connection (Credible Data)",
                "x-required-scope": "read",
                "parameters": params,
                "responses": {
                    "200": _answer("The connection", "CredibleConnection"),
                    **_errors("CredibleError", *credible_errors),
                },
            },
            "delete": {
                "operationId": "credibleDeleteConnection",
                "tags": [CREDIBLE_TAG],
                "summary": "Delete a connection (Credible Data)",
                "x-required-scope": "write",
                "parameters": params,
                "responses": {
                    "200": _answer("Deleted", message),
                    **_errors("CredibleError", *credible_errors),
                },
            },
        },
    }
