"""The OpenAPI 3.1 document of the public API, generated on each request from the declarations.

Requests: per registered dialect and operation one schema (`CreateDataSource_SNOWFLAKE`,
`VerifyDataSource_SNOWFLAKE`, `UpdateDataSource_SNOWFLAKE`) with `dialect: {const: …}`, the
source fields, that dialect's own fields with their own rules (kind → JSON type, limits,
choices, default; secret → writeOnly) and what it requires. The create and verify bodies are
`oneOf` those with a `dialect` discriminator; the PATCH body is `anyOf` them (see
`update_body`). Response: `DataSource` follows from the one declaration of the object
(`source_inputs.source_response_fields()`) that api/serialize.py builds the JSON from; a
secret is never in it. Nothing lists a field's rules a second time.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Literal

from . import openapi_catalog as catalog_api
from . import openapi_faces as faces_api
from . import openapi_members as members_api
from . import openapi_notifications as notifications_api
from . import openapi_parts as parts
from . import openapi_supermetrics as supermetrics_api
from .dialects import DIALECTS, Dialect, FieldSpec
from .models import HealthStatus
from .source_fields import DISPLAY_NAME, SOURCE_FIELDS
from .source_inputs import (
    CONNECTION_TYPES,
    ResponseField,
    source_response_fields,
    unset_flag,
)

API_VERSION = "1.0.0"
PREFIX = "/api/public"
_REF = parts.REF
_TYPES = {"integer": "integer", "boolean": "boolean"}  # every other kind is a string
_ONE_LINE = "^[^\\x00-\\x1f\\x7f]*$"
Mode = Literal["create", "verify", "update"]
BODIES: dict[Mode, str] = {
    "create": "CreateDataSource",
    "verify": "VerifyDataSource",
    "update": "UpdateDataSource",
}
_REQUIRED: dict[Mode, list[str]] = {
    "create": ["type", "dialect", "displayName"],
    "verify": ["dialect"],
    "update": [],
}


_ref = parts.ref


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kinds = schema.get("type")
    if isinstance(kinds, str):
        schema["type"] = [kinds, "null"]
    elif isinstance(kinds, list) and "null" not in kinds:
        schema["type"] = [*kinds, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _describe(spec: FieldSpec) -> str:
    return spec.label + (f". {spec.help}" if spec.help else "")


def dialect_schema_name(mode: Mode, key: str) -> str:
    """The component name of one dialect's body: CreateDataSource_SNOWFLAKE."""
    return f"{BODIES[mode]}_{key}"


# Requests: one schema per dialect and operation.


def strict(spec: FieldSpec, mode: Mode) -> bool:
    """Whether the server refuses null and blank for this field in this operation: required,
    no default to fall back on, not behind a switch, and not a secret of a PATCH (a blank
    secret keeps the saved one)."""
    if not spec.required or spec.default is not None or spec.required_if:
        return False
    return not (mode == "update" and spec.secret)


def request_field(spec: FieldSpec, mode: Mode) -> dict[str, Any]:
    """One field's JSON Schema in a request body, from its declaration alone.

    Null means "left out" (the field's default applies), except where `strict` says the
    server refuses it.
    """
    schema: dict[str, Any] = {
        "type": _TYPES.get(spec.kind, "string"),
        "description": _describe(spec),
    }
    if spec.kind == "select":
        schema["enum"] = [value for value, _ in spec.choices]
    elif schema["type"] == "string":
        schema["maxLength"] = spec.max_length
        if spec.kind != "textarea":  # one line: FieldSpec.clean refuses control characters
            schema["pattern"] = _ONE_LINE
    if spec.kind == "integer":
        if spec.min_value is not None:
            schema["minimum"] = spec.min_value
        if spec.max_value is not None:
            schema["maximum"] = spec.max_value
    if spec.default is not None:
        schema["default"] = spec.default
    if spec.secret:
        schema["writeOnly"] = True
    if not strict(spec, mode):
        return _nullable(schema)
    if schema["type"] == "string" and spec.kind != "select":
        schema["minLength"] = 1
    return schema


def _source_specs(mode: Mode) -> tuple[FieldSpec, ...]:
    """SOURCE_FIELDS as a request of `mode` takes them (a verify needs no display name)."""
    if mode != "verify":
        return SOURCE_FIELDS
    return tuple(replace(s, required=False) if s is DISPLAY_NAME else s for s in SOURCE_FIELDS)


def _connection_string() -> dict[str, Any]:
    return _nullable(
        {
            "type": "string",
            "maxLength": 4096,
            "writeOnly": True,
            "description": "A connection URL (postgresql://…): fills the fields left out; its "
            "dialect wins over `dialect`.",
        }
    )


def _switched(dialect: Dialect, mode: Mode) -> list[dict[str, Any]]:
    """`if switch is on then its fields are required`, per switch (sshEnabled → sshHost, …)."""
    fields: dict[str, list[FieldSpec]] = {}
    for spec in dialect.fields:
        if spec.required_if and spec.required and spec.default is None:
            fields.setdefault(spec.required_if, []).append(spec)
    return [
        {
            "if": {"properties": {switch: {"const": True}}, "required": [switch]},
            "then": {
                "required": [s.name for s in specs],
                "properties": {
                    s.name: request_field(replace(s, required_if=None), mode) for s in specs
                },
            },
        }
        for switch, specs in fields.items()
    ]


def dialect_request_schema(dialect: Dialect, mode: Mode) -> dict[str, Any]:
    """The body of `mode` for one dialect: its fields only, its own `required` list.

    A create or verify needs the dialect's required fields, or a `connectionString` that
    fills them (`anyOf`); a field behind a switch (sshHost behind sshEnabled) is required
    when the switch is on. A PATCH requires nothing and may forget saved secrets (unset*).
    """
    props: dict[str, Any] = {
        "type": {
            "type": "string",
            "enum": list(CONNECTION_TYPES),
            "description": "Connection type: only direct database connections.",
        },
        "dialect": {"type": "string", "const": dialect.key, "description": dialect.label},
    }
    for spec in (*_source_specs(mode), *dialect.fields):
        props.setdefault(spec.name, request_field(spec, mode))
    props["connectionString"] = _connection_string()
    verb = {"create": "Create", "verify": "Verify", "update": "Update"}[mode]
    schema: dict[str, Any] = {
        "type": "object",
        "title": f"{verb} a {dialect.label} source",
        "properties": props,
        "additionalProperties": False,
    }
    if _REQUIRED[mode]:
        schema["required"] = list(_REQUIRED[mode])
    if mode == "update":
        for spec in dialect.fields:
            if spec.secret:
                props[unset_flag(spec.name)] = {
                    "type": ["boolean", "null"],
                    "description": f"Forget the stored {spec.label.lower()} ({spec.name}).",
                }
        schema["description"] = "Only the fields sent change; the others keep their values."
        return schema
    needed = [spec.name for spec in dialect.fields if strict(spec, mode)]
    schema["description"] = (
        f"{dialect.label} requires {', '.join(needed)} (or a connectionString that fills them)."
        if needed
        else f"{dialect.label} requires no connection field."
    )
    if needed:
        schema["anyOf"] = [
            {"title": "The fields", "required": needed},
            {
                "title": "A connection string",
                "required": ["connectionString"],
                "properties": {"connectionString": {"type": "string", "minLength": 1}},
            },
        ]
    switched = _switched(dialect, mode)
    if switched:
        schema["allOf"] = switched
    return schema


def discriminated_body(mode: Mode) -> dict[str, Any]:
    """The create or verify body: exactly one dialect's schema, chosen by `dialect`."""
    names = {key: dialect_schema_name(mode, key) for key in DIALECTS}
    return {
        "oneOf": [_ref("schemas", name) for name in names.values()],
        "discriminator": {
            "propertyName": "dialect",
            "mapping": {key: f"{_REF}schemas/{name}" for key, name in names.items()},
        },
        "description": "One dialect's fields, chosen by `dialect` (see each "
        f"{BODIES[mode]}_<DIALECT>).",
    }


def update_body() -> dict[str, Any]:
    """The PATCH body: `anyOf` the dialects' update schemas, without a discriminator.

    A PATCH sends only what changes, so `dialect` is optional: left out, the stored source's
    dialect applies, which no schema can see. A discriminator would make `dialect` required,
    and `oneOf` would refuse a body every dialect accepts (`{"displayName": "x"}`). With
    `anyOf`, a body that sends `dialect` (to keep or change it) must fit that dialect's
    schema (its `const`), and one that does not must fit some dialect; whether it fits the
    stored one is checked by the server (400 ValidationError with `fieldErrors`).
    """
    return {
        "anyOf": [_ref("schemas", dialect_schema_name("update", key)) for key in DIALECTS],
        "description": "The fields to change, of the source's dialect (the stored one, or "
        "`dialect` when sent). Secrets left out are kept; unset* flags "
        "forget them.",
    }


def request_schemas() -> dict[str, Any]:
    """Every dialect's create, verify and update schema, and the three bodies."""
    schemas: dict[str, Any] = {}
    for mode in BODIES:
        for key, dialect in DIALECTS.items():
            schemas[dialect_schema_name(mode, key)] = dialect_request_schema(dialect, mode)
    schemas[BODIES["create"]] = discriminated_body("create")
    schemas[BODIES["verify"]] = discriminated_body("verify")
    schemas[BODIES["update"]] = update_body()
    return schemas


# Responses.


def response_property(field: ResponseField) -> dict[str, Any]:
    """One property of `DataSource`: its stated schema, or the JSON type its FieldSpecs give
    (every type a dialect declares for the name)."""
    if field.schema is not None:
        return copy.deepcopy(dict(field.schema))
    if not field.specs:
        schema: dict[str, Any] = {"type": "string"}
    else:
        types = sorted({_TYPES.get(s.kind, "string") for s in field.specs})
        schema = {
            "type": types[0] if len(types) == 1 else types,
            "description": _describe(field.specs[0]),
        }
    return _nullable(schema) if field.nullable else schema


def data_source_schema() -> dict[str, Any]:
    """The data source object of every answer, from `source_response_fields()`."""
    props = {field.name: response_property(field) for field in source_response_fields()}
    return {
        "type": "object",
        "required": list(props),
        "properties": props,
        "additionalProperties": False,
        "description": "A data source. Secret fields are never returned; a connection "
        "field the source's dialect does not have is null.",
    }


def _schemas() -> dict[str, Any]:
    moment = {"type": ["string", "null"], "format": "date-time"}
    step = {
        "type": "object",
        "required": ["name", "label", "status"],
        "properties": {
            "name": {"type": "string"},
            "label": {"type": "string"},
            "status": {"type": "string", "enum": ["ok", "failed", "skipped", "not_run"]},
            "ms": {"type": ["integer", "null"]},
            "detail": {"type": "string"},
        },
    }
    pagination: dict[str, Any] = {
        "type": "object",
        "required": ["nextCursor", "hasMore"],
        "properties": {
            "nextCursor": {
                "type": ["string", "null"],
                "description": "Pass as `cursor` to read the next page.",
            },
            "hasMore": {"type": "boolean"},
        },
    }
    return {
        "DataSource": data_source_schema(),
        **request_schemas(),
        "VerifyStep": step,
        "VerifyResult": {
            "type": "object",
            "required": ["success"],
            "properties": {
                "success": {"type": "boolean", "const": True},
                "serverVersion": {"type": "string"},
                "elapsedMs": {"type": "integer"},
                "steps": {"type": "array", "items": _ref("schemas", "VerifyStep")},
            },
        },
        "Pagination": pagination,
        "SchemaPagination": {
            **pagination,
            "required": ["nextCursor", "hasMore", "total"],
            "properties": {**pagination["properties"], "total": {"type": "integer", "minimum": 0}},
        },
        "Table": {
            "type": "object",
            "required": [
                "schema",
                "name",
                "kind",
                "comment",
                "columns",
                "foreignKeys",
                "rowEstimate",
            ],
            "properties": {
                "schema": {"type": "string"},
                "name": {"type": "string"},
                "kind": {
                    "type": "string",
                    "enum": ["table", "view", "materialized view", "foreign table"],
                },
                "comment": {
                    "type": ["string", "null"],
                    "description": "The catalog's comment on the table or view (COMMENT ON, "
                    "a description); null when none.",
                },
                "columns": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "type", "default", "comment"],
                        "properties": {
                            "name": {"type": "string"},
                            "type": {"type": "string"},
                            "nullable": {"type": "boolean"},
                            "primaryKey": {"type": "boolean"},
                            "ordinal": {"type": ["integer", "null"]},
                            "default": {
                                "type": ["string", "null"],
                                "description": "The default expression, as the catalog "
                                "writes it; null when none.",
                            },
                            "comment": {
                                "type": ["string", "null"],
                                "description": "The column's comment; null when none.",
                            },
                        },
                    },
                },
                "foreignKeys": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": [
                            "name",
                            "columns",
                            "referredSchema",
                            "referredTable",
                            "referredColumns",
                        ],
                        "properties": {
                            "name": {
                                "type": ["string", "null"],
                                "description": "The constraint's name (null where the "
                                "catalog keeps none, e.g. SQLite).",
                            },
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "referredSchema": {"type": "string"},
                            "referredTable": {"type": "string"},
                            "referredColumns": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
                "rowEstimate": {
                    "type": ["integer", "null"],
                    "description": "The catalog's row estimate; null for views and where the "
                    "catalog keeps none.",
                },
            },
        },
        "HealthCheck": {
            "type": "object",
            "required": ["id", "checkedAt", "status", "healthy"],
            "properties": {
                "id": {"type": "string"},
                "checkedAt": {"type": "string", "format": "date-time"},
                "status": {"type": "string", "enum": [s.value for s in HealthStatus]},
                "healthy": {"type": "boolean"},
                "latencyMs": {"type": ["integer", "null"]},
                "errorMessage": {"type": ["string", "null"]},
            },
        },
        "SyncRun": {
            "type": "object",
            "required": ["id", "status", "trigger", "startedAt", "finishedAt"],
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string"},
                "trigger": {"type": "string"},
                "startedAt": moment,
                "finishedAt": moment,
                "errorMessage": {"type": ["string", "null"]},
                "tableCount": {"type": ["integer", "null"]},
                "columnCount": {"type": ["integer", "null"]},
                "changeCount": {"type": ["integer", "null"]},
                "changes": {"type": ["object", "null"]},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["title", "detail", "fieldErrors"],
                    "properties": {
                        "title": {
                            "type": "string",
                            "examples": [
                                "InvalidJson",
                                "ValidationError",
                                "ConnectionFailed",
                                "DuplicateName",
                                "Unauthorized",
                                "Forbidden",
                                "NotFound",
                                "RateLimitExceeded",
                                "InternalServerError",
                            ],
                        },
                        "detail": {"type": "string"},
                        "fieldErrors": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                        },
                        "steps": {"type": "array", "items": _ref("schemas", "VerifyStep")},
                        "retryAfterMs": {"type": "integer", "minimum": 1},
                    },
                }
            },
        },
    }


_COMMON_HEADERS = {
    "X-Request-Id": {
        "description": "The request's id (yours if you sent a valid one).",
        "required": True,
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed per window.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}


def _headers(extra: tuple[str, ...] = ()) -> dict[str, Any]:
    names = [*_COMMON_HEADERS, *extra]
    return {name: _ref("headers", name) for name in names}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _data(schema: dict[str, Any], pagination: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"data": schema}
    if pagination:
        props["pagination"] = _ref("schemas", pagination)
    return {"type": "object", "required": list(props), "properties": props}


def _ok(
    description: str,
    schema: dict[str, Any],
    status: str = "200",
    extra_headers: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        status: {
            "description": description,
            "headers": _headers(extra_headers),
            "content": _json(schema),
        }
    }


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _ref("responses", status) for status in (*statuses, "401", "403", "429", "500")}


def _operation(
    op_id: str,
    summary: str,
    description: str,
    responses: dict[str, Any],
    body: str | None = None,
    params: tuple[str, ...] = ("orgId",),
) -> dict[str, Any]:
    return parts.operation(
        op_id, summary, description, responses, tag="Data Sources", params=params, body=body
    )


def _paths() -> dict[str, Any]:
    many = f"{PREFIX}/organizations/{{orgId}}/data-sources"
    one = many + "/{id}"
    source = _data(_ref("schemas", "DataSource"))
    one_params = ("orgId", "id")
    return {
        many: {
            "get": _operation(
                "listDataSources",
                "List data sources",
                "The organization's data sources, newest first, paginated by cursor.",
                {
                    **_ok(
                        "Data sources",
                        _data(
                            {"type": "array", "items": _ref("schemas", "DataSource")}, "Pagination"
                        ),
                    ),
                    **_errors("400", "404"),
                },
                params=("orgId", "limit", "cursor"),
            ),
            "post": _operation(
                "createDataSource",
                "Create a data source",
                "Verifies the connection, stores the source with its secrets encrypted, starts "
                "its first schema sync in the background and the organization's trial if it "
                "never had one.",
                {
                    **_ok("Data source created", source, "201", ("Location",)),
                    **_errors("400", "404"),
                },
                body=BODIES["create"],
            ),
        },
        many + "/verify": {
            "post": _operation(
                "verifyDataSource",
                "Verify data source credentials",
                "Connects once with the given fields and stores nothing. A failure is 400 "
                "ConnectionFailed with an error per field and the verify steps.",
                {
                    **_ok("Credentials verified", _data(_ref("schemas", "VerifyResult"))),
                    **_errors("400", "404"),
                },
                body=BODIES["verify"],
            )
        },
        one: {
            "get": _operation(
                "getDataSource",
                "Get a data source",
                "One data source.",
                {**_ok("The data source", source), **_errors("400", "404")},
                params=one_params,
            ),
            "patch": _operation(
                "updateDataSource",
                "Update a data source",
                "Changes the fields sent; the others keep their values. Secrets left out are "
                "kept (unset* flags forget them). Verifies again and resyncs.",
                {**_ok("Data source updated", source), **_errors("400", "404")},
                body=BODIES["update"],
                params=one_params,
            ),
            "delete": _operation(
                "deleteDataSource",
                "Delete a data source",
                "Removes the source, its secrets, its schema snapshots and its history.",
                {
                    **_ok(
                        "Deleted",
                        _data(
                            {
                                "type": "object",
                                "required": ["success"],
                                "properties": {"success": {"const": True}},
                            }
                        ),
                    ),
                    **_errors("404"),
                },
                params=one_params,
            ),
        },
        one + "/sync": {
            "post": _operation(
                "syncDataSource",
                "Sync a data source's schema now",
                "Queues a schema sync; the source is returned with lastSyncStatus PENDING.",
                {**_ok("Sync queued", source, "202"), **_errors("404")},
                params=one_params,
            )
        },
        one + "/verify": {
            "post": _operation(
                "verifySavedDataSource",
                "Test a saved data source's connection",
                "Connects once with the stored configuration and its saved secrets, like a "
                "create-time verify, and stores nothing. A failure is 400 ConnectionFailed with "
                "an error per field and the verify steps.",
                {
                    **_ok("Connection verified", _data(_ref("schemas", "VerifyResult"))),
                    **_errors("400", "404"),
                },
                params=one_params,
            )
        },
        one + "/pause": {
            "post": _operation(
                "pauseDataSource",
                "Pause a data source",
                "No scheduled sync or health check runs until it is resumed; syncs and checks "
                "asked for by hand still run. Pausing a paused source changes nothing.",
                {**_ok("Paused", source), **_errors("404")},
                params=one_params,
            )
        },
        one + "/resume": {
            "post": _operation(
                "resumeDataSource",
                "Resume a paused data source",
                "Scheduled work again: a health check at once, the next sync at its schedule.",
                {**_ok("Resumed", source), **_errors("404")},
                params=one_params,
            )
        },
        one + "/schema": {
            "get": _operation(
                "getDataSourceSchema",
                "Tables of a data source",
                "Tables and views of the last successful sync with their columns, filtered by "
                "`search` on schema.name, paginated.",
                {
                    **_ok(
                        "Tables",
                        _data(
                            {"type": "array", "items": _ref("schemas", "Table")}, "SchemaPagination"
                        ),
                    ),
                    **_errors("400", "404"),
                },
                params=(*one_params, "search", "schemaLimit", "offsetCursor"),
            )
        },
        one + "/health": {
            "get": _operation(
                "getDataSourceHealth",
                "Health history of a data source",
                "The periodic health checks of the source since `since` (default: a day ago), "
                "oldest first.",
                {
                    **_ok(
                        "Health checks",
                        _data({"type": "array", "items": _ref("schemas", "HealthCheck")}),
                    ),
                    **_errors("400", "404"),
                },
                params=(*one_params, "since", "healthLimit"),
            )
        },
        one + "/syncs": {
            "get": _operation(
                "getDataSourceSyncs",
                "Sync history of a data source",
                "The source's schema sync runs, newest first, each with what it changed.",
                {
                    **_ok(
                        "Sync runs",
                        _data(
                            {"type": "array", "items": _ref("schemas", "SyncRun")},
                            "SchemaPagination",
                        ),
                    ),
                    **_errors("400", "404"),
                },
                params=(*one_params, "syncLimit", "offsetCursor"),
            )
        },
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "getOpenApiDocument",
                "summary": "This document",
                "tags": ["Meta"],
                "security": [],
                "responses": {
                    **_ok("The OpenAPI document", {"type": "object"}),
                    "429": _ref("responses", "429"),
                    "500": _ref("responses", "500"),
                },
            }
        },
    }


def _error_response(description: str, extra_headers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _headers(extra_headers),
        "content": _json(_ref("schemas", "Error")),
    }


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    integer = {"type": "string", "pattern": "^[0-9]+$"}
    cursor = {"type": "string", "pattern": "^[0-9]{1,18}$"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Datadock public API",
            "version": API_VERSION,
            "description": (
                "Connect databases programmatically. Follows the Basedash public API for data "
                "sources. Authenticate with `Authorization: Bearer ddk_…` (admins create keys "
                "on the API keys page). Errors are "
                '`{"error": {"title", "detail", "fieldErrors"}}`.'
            ),
        },
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "Data Sources", "description": "Database connections"},
            {"name": "Members", "description": "People and invitations (admin keys)"},
            {
                "name": "Notifications",
                "description": "Channels (admin keys) and events (read keys)",
            },
            {
                "name": "Onboarding links",
                "description": "The Supermetrics face: single-use connect links (/v1)",
            },
            catalog_api.TAG,
            *faces_api.tags(),
            {"name": "Meta", "description": "About the API"},
        ],
        "paths": members_api.with_scopes(
            {
                **_paths(),
                **members_api.paths(_ok, _errors, _data),
                **notifications_api.paths(_ok, _errors, _data),
                **supermetrics_api.paths(),
                **faces_api.paths(),
                **catalog_api.paths(_ok, _errors),
            }
        ),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: ddk_…",
                }
            },
            "schemas": {
                **_schemas(),
                **members_api.schemas(),
                **notifications_api.schemas(),
                **supermetrics_api.schemas(),
                **faces_api.schemas(),
                **catalog_api.schemas(),
            },
            "headers": {
                **_COMMON_HEADERS,
                "Location": {
                    "description": "The new data source's URL.",
                    "required": True,
                    "schema": {"type": "string"},
                },
                "Retry-After": {
                    "description": "Seconds until the window resets.",
                    "required": True,
                    "schema": integer,
                },
                "WWW-Authenticate": {
                    "description": "Bearer.",
                    "required": True,
                    "schema": {"type": "string"},
                },
            },
            "parameters": {
                **members_api.parameters(),
                **notifications_api.parameters(),
                **supermetrics_api.parameters(),
                **catalog_api.parameters(),
                "orgId": {
                    "name": "orgId",
                    "in": "path",
                    "required": True,
                    "description": "Organization ID",
                    "schema": {"type": "string"},
                },
                "id": {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "description": "Data source ID, or its public UUID (publicId)",
                    "schema": {"type": "string"},
                },
                "limit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Items per page (1–100, default 50).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                },
                "cursor": {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "description": "The previous page's nextCursor.",
                    "schema": cursor,
                },
                "schemaLimit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Tables per page (1–500, default 100).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                },
                "offsetCursor": {
                    "name": "cursor",
                    "in": "query",
                    "required": False,
                    "description": "The previous page's nextCursor.",
                    "schema": cursor,
                },
                "since": {
                    "name": "since",
                    "in": "query",
                    "required": False,
                    "description": "RFC 3339 time; default: a day ago.",
                    "schema": {"type": "string", "format": "date-time"},
                },
                "healthLimit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Most checks returned (the newest; 1–1000).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000},
                },
                "syncLimit": {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Runs per page (1–100, default 20).",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
                "search": {
                    "name": "search",
                    "in": "query",
                    "required": False,
                    "description": "Part of schema.name, case-insensitive.",
                    "schema": {"type": "string", "maxLength": 200},
                },
            },
            "responses": {
                "400": _error_response(
                    "InvalidJson, ValidationError (fieldErrors), "
                    "ConnectionFailed (fieldErrors, steps) or "
                    "DuplicateName"
                ),
                "401": _error_response(
                    "Unauthorized: no API key, or a revoked or unknown one", ("WWW-Authenticate",)
                ),
                "403": _error_response(
                    "Forbidden: the key's scope (read, write, admin) is too "
                    "small for this operation (x-required-scope)"
                ),
                "404": _error_response(
                    "NotFound: no such organization or data source for this key (never says which)"
                ),
                "429": _error_response("RateLimitExceeded (retryAfterMs)", ("Retry-After",)),
                "500": _error_response(
                    "InternalServerError (details are in the server log, under the X-Request-Id)"
                ),
            },
        },
    }
