"""The OpenAPI 3.1 document of the public API, generated on each request from the declarations.

Request and response properties come from every registered dialect's FieldSpecs (kind → JSON
type, limits, choices; secret → writeOnly and never in a response), from SOURCE_FIELDS and from
the lifecycle columns; nothing lists a field's rules a second time. Where two dialects declare
the same name differently, the property admits both (the dialect's own rules are checked by the
server and reported in `fieldErrors`); `x-dialects` says per dialect which fields it takes and
requires.
"""

from __future__ import annotations

from typing import Any

from .dialects import DIALECTS, FieldSpec
from .models import HealthStatus, SyncStatus
from .source_fields import SOURCE_FIELDS
from .source_inputs import (
    CONNECTION_TYPES,
    CONTRACT_REQUEST_FIELDS,
    LIFECYCLE_FIELDS,
    dialect_specs,
    response_connection_fields,
    secret_names,
    unset_flags,
)

API_VERSION = "1.0.0"
PREFIX = "/api/public"
_STRING_KINDS = {"text", "password", "textarea", "select"}
_REF = "#/components/"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"{_REF}{kind}/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kinds = schema.get("type")
    if isinstance(kinds, str):
        schema["type"] = [kinds, "null"]
    elif isinstance(kinds, list) and "null" not in kinds:
        schema["type"] = [*kinds, "null"]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def field_schema(name: str, specs: list[FieldSpec], *, request: bool, nullable: bool = True
                 ) -> dict[str, Any]:
    """The JSON Schema of one field name, merged over the dialects that declare it."""
    if not specs:
        schema: dict[str, Any] = {"type": "string"}
        if name in secret_names():
            schema["writeOnly"] = True
        return _nullable(schema) if nullable else schema
    kinds = {s.kind for s in specs}
    types = [t for t, match in (("string", kinds & _STRING_KINDS), ("integer", "integer" in kinds),
                                ("boolean", "boolean" in kinds)) if match]
    schema = {"type": types[0] if len(types) == 1 else types}
    first = specs[0]
    schema["description"] = first.label + (f". {first.help}" if first.help else "")
    if request:
        strings = [s for s in specs if s.kind in _STRING_KINDS]
        if strings and all(s.kind == "select" for s in strings) and len(types) == 1:
            schema["enum"] = sorted({value for s in strings for value, _ in s.choices})
        elif strings:
            schema["maxLength"] = max(s.max_length for s in strings)
            if any(s.required for s in strings) and not nullable:
                schema["minLength"] = 1
        integers = [s for s in specs if s.kind == "integer"]
        if integers and all(s.min_value is not None for s in integers):
            schema["minimum"] = min(s.min_value for s in integers)  # type: ignore[type-var]
        if integers and all(s.max_value is not None for s in integers):
            schema["maximum"] = max(s.max_value for s in integers)  # type: ignore[type-var]
        defaults = {repr(s.default) for s in specs}
        if len(defaults) == 1 and first.default is not None:
            schema["default"] = first.default
        if any(s.secret for s in specs):
            schema["writeOnly"] = True
    return _nullable(schema) if nullable else schema


def _source_field(spec: FieldSpec, *, request: bool, nullable: bool = True) -> dict[str, Any]:
    return field_schema(spec.name, [spec], request=request, nullable=nullable)


def _request_properties(*, required_name: bool) -> dict[str, Any]:
    specs = dialect_specs()
    props: dict[str, Any] = {
        "type": {"type": "string", "enum": list(CONNECTION_TYPES),
                 "description": "Connection type: only direct database connections."},
        "dialect": {"type": "string", "enum": list(DIALECTS),
                    "description": "Database dialect/type."},
    }
    for spec in SOURCE_FIELDS:
        props[spec.name] = _source_field(
            spec, request=True, nullable=not (required_name and spec.required))
    for name in [*specs, *CONTRACT_REQUEST_FIELDS]:
        props.setdefault(name, field_schema(name, specs.get(name, []), request=True))
    props["connectionString"] = _nullable({
        "type": "string", "maxLength": 4096, "writeOnly": True,
        "description": "A connection URL (postgresql://…): fills the fields left out; "
                       "its dialect wins."})
    return props


def _dialect_notes() -> dict[str, Any]:
    return {key: {"label": d.label,
                  "fields": [f.name for f in d.fields],
                  "required": [f.name for f in d.fields if f.required and not f.required_if],
                  "secrets": list(d.secret_names)}
            for key, d in DIALECTS.items()}


def _schemas() -> dict[str, Any]:
    specs = dialect_specs()
    create = _request_properties(required_name=True)
    verify = _request_properties(required_name=False)
    update = _request_properties(required_name=False)
    for flag, secret in unset_flags().items():
        update[flag] = {"type": ["boolean", "null"],
                        "description": f"Forget the stored {secret}."}
    source: dict[str, Any] = {
        "id": {"type": "string"},
        "displayName": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "dialect": {"type": "string"},
    }
    for name in response_connection_fields():
        source[name] = field_schema(name, specs.get(name, []), request=False)
    for spec in SOURCE_FIELDS:
        source.setdefault(spec.name, _source_field(spec, request=False))
    moment = {"type": ["string", "null"], "format": "date-time"}
    lifecycle = {
        "lastSuccessfulSyncAt": moment,
        "lastSyncStatus": {"type": "string", "enum": [s.value for s in SyncStatus]},
        "lastSyncAttemptAt": moment,
        "hasCompletedFirstSync": {"type": "boolean"},
        "syncErrorMessage": {"type": ["string", "null"]},
        "lastHealthyAt": moment,
        "lastHealthStatus": {"type": ["string", "null"],
                             "enum": [*(s.value for s in HealthStatus), None]},
        "lastHealthCheckAttemptAt": moment,
        "isDemo": {"type": "boolean"},
        "isBasedashWarehouse": {"type": "boolean", "const": False},
        "mutatingQueriesEnabled": {"type": "boolean"},
        "createdAt": {"type": "string", "format": "date-time"},
        "updatedAt": {"type": "string", "format": "date-time"},
    }
    source.update({name: lifecycle[name] for name in LIFECYCLE_FIELDS})
    step = {"type": "object", "required": ["name", "label", "status"], "properties": {
        "name": {"type": "string"}, "label": {"type": "string"},
        "status": {"type": "string", "enum": ["ok", "failed", "skipped", "not_run"]},
        "ms": {"type": ["integer", "null"]}, "detail": {"type": "string"}}}
    pagination = {"type": "object", "required": ["nextCursor", "hasMore"], "properties": {
        "nextCursor": {"type": ["string", "null"],
                       "description": "Pass as `cursor` to read the next page."},
        "hasMore": {"type": "boolean"}}}
    return {
        "DataSource": {"type": "object", "required": list(source), "properties": source,
                       "additionalProperties": False,
                       "description": "A data source. Secret fields are never returned."},
        "DataSourceCreate": {"type": "object", "properties": create,
                             "required": ["type", "dialect", "displayName"],
                             "additionalProperties": False, "x-dialects": _dialect_notes()},
        "DataSourceVerify": {"type": "object", "properties": verify, "required": ["dialect"],
                             "additionalProperties": False},
        "DataSourceUpdate": {"type": "object", "properties": update,
                             "additionalProperties": False},
        "VerifyStep": step,
        "VerifyResult": {"type": "object", "required": ["success"], "properties": {
            "success": {"type": "boolean", "const": True},
            "serverVersion": {"type": "string"}, "elapsedMs": {"type": "integer"},
            "steps": {"type": "array", "items": _ref("schemas", "VerifyStep")}}},
        "Pagination": pagination,
        "SchemaPagination": {**pagination, "required": ["nextCursor", "hasMore", "total"],
                             "properties": {**pagination["properties"],
                                            "total": {"type": "integer", "minimum": 0}}},
        "Table": {"type": "object", "required": ["schema", "name", "kind", "columns"],
                  "properties": {
                      "schema": {"type": "string"}, "name": {"type": "string"},
                      "kind": {"type": "string"},
                      "columns": {"type": "array", "items": {
                          "type": "object", "required": ["name", "type"], "properties": {
                              "name": {"type": "string"}, "type": {"type": "string"},
                              "nullable": {"type": "boolean"},
                              "primaryKey": {"type": "boolean"},
                              "ordinal": {"type": ["integer", "null"]},
                              "default": {"type": ["string", "null"]}}}},
                      "foreignKeys": {"type": "array", "items": {"type": "object"}},
                      "rowEstimate": {"type": ["integer", "null"]}}},
        "HealthCheck": {"type": "object",
                        "required": ["id", "checkedAt", "status", "healthy"],
                        "properties": {
                            "id": {"type": "string"},
                            "checkedAt": {"type": "string", "format": "date-time"},
                            "status": {"type": "string",
                                       "enum": [s.value for s in HealthStatus]},
                            "healthy": {"type": "boolean"},
                            "latencyMs": {"type": ["integer", "null"]},
                            "errorMessage": {"type": ["string", "null"]}}},
        "SyncRun": {"type": "object",
                    "required": ["id", "status", "trigger", "startedAt", "finishedAt"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "string"}, "trigger": {"type": "string"},
                        "startedAt": moment, "finishedAt": moment,
                        "errorMessage": {"type": ["string", "null"]},
                        "tableCount": {"type": ["integer", "null"]},
                        "columnCount": {"type": ["integer", "null"]},
                        "changeCount": {"type": ["integer", "null"]},
                        "changes": {"type": ["object", "null"]}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["title", "detail", "fieldErrors"], "properties": {
                "title": {"type": "string", "examples": [
                    "InvalidJson", "ValidationError", "ConnectionFailed", "DuplicateName",
                    "Unauthorized", "NotFound", "RateLimitExceeded", "InternalServerError"]},
                "detail": {"type": "string"},
                "fieldErrors": {"type": "object", "additionalProperties": {"type": "string"}},
                "steps": {"type": "array", "items": _ref("schemas", "VerifyStep")},
                "retryAfterMs": {"type": "integer", "minimum": 1}}}}},
    }


_COMMON_HEADERS = {
    "X-Request-Id": {"description": "The request's id (yours if you sent a valid one).",
                     "required": True, "schema": {"type": "string"}},
    "X-RateLimit-Limit": {"description": "Requests allowed per window.", "required": True,
                          "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window.",
                              "required": True,
                              "schema": {"type": "string", "pattern": "^[0-9]+$"}},
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


def _ok(description: str, schema: dict[str, Any], status: str = "200",
        extra_headers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {status: {"description": description, "headers": _headers(extra_headers),
                     "content": _json(schema)}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _ref("responses", status) for status in (*statuses, "401", "429", "500")}


def _operation(op_id: str, summary: str, description: str, responses: dict[str, Any],
               body: str | None = None, params: tuple[str, ...] = ("orgId",)
               ) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id, "summary": summary, "description": description,
        "tags": ["Data Sources"], "parameters": [_ref("parameters", p) for p in params],
        "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, "content": _json(_ref("schemas", body))}
    return operation


def _paths() -> dict[str, Any]:
    many = f"{PREFIX}/organizations/{{orgId}}/data-sources"
    one = many + "/{id}"
    source = _data(_ref("schemas", "DataSource"))
    one_params = ("orgId", "id")
    return {
        many: {
            "get": _operation(
                "listDataSources", "List data sources",
                "The organization's data sources, newest first, paginated by cursor.",
                {**_ok("Data sources", _data({"type": "array",
                                              "items": _ref("schemas", "DataSource")},
                                             "Pagination")),
                 **_errors("400", "404")}, params=("orgId", "limit", "cursor")),
            "post": _operation(
                "createDataSource", "Create a data source",
                "Verifies the connection, stores the source with its secrets encrypted, starts "
                "its first schema sync in the background and the organization's trial if it "
                "never had one.",
                {**_ok("Data source created", source, "201", ("Location",)),
                 **_errors("400", "404")}, body="DataSourceCreate"),
        },
        many + "/verify": {"post": _operation(
            "verifyDataSource", "Verify data source credentials",
            "Connects once with the given fields and stores nothing. A failure is 400 "
            "ConnectionFailed with an error per field and the verify steps.",
            {**_ok("Credentials verified", _data(_ref("schemas", "VerifyResult"))),
             **_errors("400", "404")}, body="DataSourceVerify")},
        one: {
            "get": _operation("getDataSource", "Get a data source", "One data source.",
                              {**_ok("The data source", source), **_errors("400", "404")},
                              params=one_params),
            "patch": _operation(
                "updateDataSource", "Update a data source",
                "Changes the fields sent; the others keep their values. Secrets left out are "
                "kept (unset* flags forget them). Verifies again and resyncs.",
                {**_ok("Data source updated", source), **_errors("400", "404")},
                body="DataSourceUpdate", params=one_params),
            "delete": _operation(
                "deleteDataSource", "Delete a data source",
                "Removes the source, its secrets, its schema snapshots and its history.",
                {**_ok("Deleted", _data({"type": "object", "required": ["success"],
                                         "properties": {"success": {"const": True}}})),
                 **_errors("404")}, params=one_params),
        },
        one + "/sync": {"post": _operation(
            "syncDataSource", "Sync a data source's schema now",
            "Queues a schema sync; the source is returned with lastSyncStatus PENDING.",
            {**_ok("Sync queued", source, "202"), **_errors("404")}, params=one_params)},
        one + "/schema": {"get": _operation(
            "getDataSourceSchema", "Tables of a data source",
            "Tables and views of the last successful sync with their columns, filtered by "
            "`search` on schema.name, paginated.",
            {**_ok("Tables", _data({"type": "array", "items": _ref("schemas", "Table")},
                                   "SchemaPagination")),
             **_errors("400", "404")},
            params=(*one_params, "search", "schemaLimit", "offsetCursor"))},
        one + "/health": {"get": _operation(
            "getDataSourceHealth", "Health history of a data source",
            "The periodic health checks of the source since `since` (default: a day ago), "
            "oldest first.",
            {**_ok("Health checks", _data({"type": "array",
                                           "items": _ref("schemas", "HealthCheck")})),
             **_errors("400", "404")}, params=(*one_params, "since", "healthLimit"))},
        one + "/syncs": {"get": _operation(
            "getDataSourceSyncs", "Sync history of a data source",
            "The source's schema sync runs, newest first, each with what it changed.",
            {**_ok("Sync runs", _data({"type": "array", "items": _ref("schemas", "SyncRun")},
                                      "SchemaPagination")),
             **_errors("400", "404")}, params=(*one_params, "syncLimit", "offsetCursor"))},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "getOpenApiDocument", "summary": "This document",
            "tags": ["Meta"], "security": [],
            "responses": {**_ok("The OpenAPI document", {"type": "object"}),
                          "429": _ref("responses", "429"), "500": _ref("responses", "500")}}},
    }


def _error_response(description: str, extra_headers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"description": description, "headers": _headers(extra_headers),
            "content": _json(_ref("schemas", "Error"))}


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    integer = {"type": "string", "pattern": "^[0-9]+$"}
    cursor = {"type": "string", "pattern": "^[0-9]{1,18}$"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Datadock public API", "version": API_VERSION,
            "description": (
                "Connect databases programmatically. Follows the Basedash public API for data "
                "sources. Authenticate with `Authorization: Bearer ddk_…` (admins create keys "
                "on the API keys page). Errors are "
                '`{"error": {"title", "detail", "fieldErrors"}}`.')},
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "Data Sources", "description": "Database connections"},
                 {"name": "Meta", "description": "About the API"}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "An API key: ddk_…"}},
            "schemas": _schemas(),
            "headers": {
                **_COMMON_HEADERS,
                "Location": {"description": "The new data source's URL.", "required": True,
                             "schema": {"type": "string"}},
                "Retry-After": {"description": "Seconds until the window resets.",
                                "required": True, "schema": integer},
                "WWW-Authenticate": {"description": "Bearer.", "required": True,
                                     "schema": {"type": "string"}},
            },
            "parameters": {
                "orgId": {"name": "orgId", "in": "path", "required": True,
                          "description": "Organization ID", "schema": {"type": "string"}},
                "id": {"name": "id", "in": "path", "required": True,
                       "description": "Data source ID", "schema": {"type": "string"}},
                "limit": {"name": "limit", "in": "query", "required": False,
                          "description": "Items per page (1–100, default 50).",
                          "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                     "default": 50}},
                "cursor": {"name": "cursor", "in": "query", "required": False,
                           "description": "The previous page's nextCursor.",
                           "schema": cursor},
                "schemaLimit": {"name": "limit", "in": "query", "required": False,
                                "description": "Tables per page (1–500, default 100).",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 500,
                                           "default": 100}},
                "offsetCursor": {"name": "cursor", "in": "query", "required": False,
                                 "description": "The previous page's nextCursor.",
                                 "schema": cursor},
                "since": {"name": "since", "in": "query", "required": False,
                          "description": "RFC 3339 time; default: a day ago.",
                          "schema": {"type": "string", "format": "date-time"}},
                "healthLimit": {"name": "limit", "in": "query", "required": False,
                                "description": "Most checks returned (the newest; 1–1000).",
                                "schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                                           "default": 1000}},
                "syncLimit": {"name": "limit", "in": "query", "required": False,
                              "description": "Runs per page (1–100, default 20).",
                              "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                         "default": 20}},
                "search": {"name": "search", "in": "query", "required": False,
                           "description": "Part of schema.name, case-insensitive.",
                           "schema": {"type": "string", "maxLength": 200}},
            },
            "responses": {
                "400": _error_response("InvalidJson, ValidationError (fieldErrors), "
                                       "ConnectionFailed (fieldErrors, steps) or "
                                       "DuplicateName"),
                "401": _error_response("Unauthorized: no API key, or a revoked or unknown "
                                       "one", ("WWW-Authenticate",)),
                "404": _error_response("NotFound: no such organization or data source for "
                                       "this key (never says which)"),
                "429": _error_response("RateLimitExceeded (retryAfterMs)", ("Retry-After",)),
                "500": _error_response("InternalServerError (details are in the server log, "
                                       "under the X-Request-Id)"),
            },
        },
    }
