"""The DataBrain face: `POST /api/v2/datasource`, DataBrain's contract over the same create
as every face (validate, verify before anything is stored, store, first sync).

DataBrain's `credentials` names become Datadock's fields (databrain_fields.py); the answer
waits for the first schema sync up to DATADOCK_DATABRAIN_SCHEMA_WAIT_SECONDS, as DataBrain
caches the schema before it answers. Errors are DataBrain's:
`{"error": {"code", "message", "fieldErrors"}}` with its documented codes and statuses.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .. import sources as uc
from ..dialects import get_dialect
from ..face_names import their_errors, translate
from ..members.roles import KeyScope
from ..source_fields import SOURCE_FIELDS
from ..source_inputs import check_json_types
from ..sources.first_sync import FirstSync, wait_for_first_sync
from .databrain_fields import TYPES, finish
from .faces import BadBody, guard_blueprint, keep_headers, read_object
from .guard import requires_scope

log = logging.getLogger(__name__)

PREFIX = "/api/v2"
bp = Blueprint("databrain", __name__, url_prefix=PREFIX)

# DataBrain's codes for what Datadock's refusals mean.
CODES = {
    "ValidationError": "INVALID_REQUEST_BODY",
    "DuplicateName": "DATASOURCE_NAME_ERROR",
    "ConnectionFailed": "CREDENTIAL_TEST_FAILED",
    "RateLimitExceeded": "RATE_LIMIT_EXCEEDED",
}
DENIED = {
    "unauthorized": "AUTHENTICATION_ERROR",
    "forbidden": "AUTHENTICATION_ERROR",
    "rate_limited": "RATE_LIMIT_EXCEEDED",
}


class DataBrainError(Exception):
    """An answer in DataBrain's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field_errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.field_errors = field_errors or {}
        self.headers = headers or {}


def error(
    status: int,
    code: str,
    message: str,
    field_errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """DataBrain's error body."""
    body: dict[str, Any] = {"code": code, "message": message}
    if field_errors:
        body["fieldErrors"] = field_errors
    response = jsonify(error=body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


guard_blueprint(bp, lambda d: error(d.status, DENIED[d.kind], d.detail, headers=d.headers))


def supported() -> str:
    return ", ".join(TYPES)


def _invalid(message: str, field_errors: dict[str, str] | None = None) -> DataBrainError:
    return DataBrainError(400, "INVALID_REQUEST_BODY", message, field_errors)


def to_fields(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """DataBrain's body as the Datadock create input (the datasourceType with it), or
    INVALID_REQUEST_BODY naming every problem by DataBrain's names."""
    unknown = sorted(set(body) - {"datasourceType", "credentials"})
    if unknown:
        raise _invalid(
            "Unknown fields in the body: "
            + ", ".join(unknown)
            + ". Send datasourceType and credentials.",
            {name: "Unknown field" for name in unknown},
        )
    kind = body.get("datasourceType")
    credentials = body.get("credentials")
    errors: dict[str, str] = {}
    if not isinstance(kind, str) or not kind:
        errors["datasourceType"] = f"Required: one of {supported()}"
    elif kind not in TYPES:
        errors["datasourceType"] = f"Datadock does not support {kind!r}; supported: {supported()}"
    if not isinstance(credentials, dict):
        errors["credentials"] = 'Required: an object with "name" and the connection fields'
    if errors:
        raise _invalid("The request body is not a DataBrain datasource.", errors)
    assert isinstance(kind, str) and isinstance(credentials, dict)
    spec = TYPES[kind]
    name = credentials.get("name")
    rest = {k: v for k, v in credentials.items() if k != "name"}
    fields, errors = translate(rest, spec.renames, kind)
    errors = {f"credentials.{k}": v for k, v in errors.items()}
    if not isinstance(name, str) or not name.strip():
        errors["credentials.name"] = "Required: the data source's unique name"
    errors.update({f"credentials.{k}": v for k, v in finish(kind, credentials, fields).items()})
    dialect = get_dialect(spec.dialect)
    assert dialect is not None
    declared = {s.name for s in (*SOURCE_FIELDS, *dialect.fields)}
    back = {r.ours: r.theirs for r in spec.renames if r.ours}
    for ours in sorted(set(fields) - declared):
        errors[f"credentials.{back.get(ours, ours)}"] = (
            f"Datadock does not support this field for {kind} yet"
        )
    raw = {**spec.fixed, **fields, "dialect": spec.dialect, "displayName": name}
    errors.update(
        {
            f"credentials.{k}": v
            for k, v in their_errors(
                check_json_types(raw, dialect), spec.renames, {"displayName": "name"}
            ).items()
        }
    )
    if errors:
        raise _invalid("Some fields of the request body need attention.", errors)
    return kind, raw


@bp.post("/datasource")
@requires_scope(KeyScope.WRITE)
def create_datasource() -> Any:
    """Test the connection, store the source, wait for its schema (bounded); 200 {name}."""
    org = uc.get_organization(g.api_key.organization_id)
    if org is None:
        raise DataBrainError(401, "AUTHENTICATION_ERROR", "This API key has no organization.")
    try:
        kind, raw = to_fields(read_object())
    except BadBody as exc:
        raise _invalid(exc.detail, exc.field_errors) from None
    renames = TYPES[kind].renames
    try:
        source = uc.create_source(org, raw)
    except uc.Refusal as exc:
        code = CODES.get(exc.title, "INVALID_REQUEST_BODY")
        fields = {
            f"credentials.{k}": v
            for k, v in their_errors(exc.field_errors, renames, {"displayName": "name"}).items()
        }
        raise DataBrainError(exc.status, code, exc.detail, fields, exc.headers()) from None
    except Exception:
        log.exception("DataBrain create failed")
        raise DataBrainError(
            500,
            "CREATE_DATASOURCE_FAILED",
            "Datadock could not create the data source. The error was logged; "
            "quote the X-Request-Id header when you report it.",
        ) from None
    name = source.display_name
    outcome = wait_for_first_sync(source, current_app.config["DATABRAIN_SCHEMA_WAIT_SECONDS"])
    if outcome is FirstSync.FAILED:
        raise DataBrainError(
            500,
            "SCHEMA_CACHE_FAILED",
            f"The data source {name!r} was created, but its first schema sync "
            f"failed: {source.sync_error_message or 'no reason given'}. It is "
            "kept; Datadock retries the sync on its schedule.",
        )
    return jsonify(name=name)


@bp.errorhandler(DataBrainError)
def _databrain_error(exc: DataBrainError) -> Response:
    return error(exc.status, exc.code, exc.message, exc.field_errors, exc.headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = (
        "INVALID_REQUEST_BODY"
        if status in (400, 413)
        else ("AUTHENTICATION_ERROR" if status in (401, 403) else "INVALID_REQUEST")
    )
    return error(status, code, exc.description or "The request could not be served.")


@bp.after_app_request
def _routing_errors(response: Response) -> Response:
    """Unknown paths and methods under /api/v2 answer in DataBrain's shape too."""
    if (
        not request.path.startswith(PREFIX + "/")
        or response.status_code < 400
        or (response.mimetype == "application/json")
    ):
        return response
    status = response.status_code
    converted = error(
        status,
        "INVALID_REQUEST" if status != 500 else "INTERNAL_SERVER_ERROR",
        {
            404: "No such endpoint: Datadock's DataBrain face serves POST /api/v2/datasource.",
            405: "This endpoint does not accept that method.",
        }.get(status, "The request could not be served."),
    )
    return keep_headers(response, converted)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error in the DataBrain face")
    return error(
        500,
        "INTERNAL_SERVER_ERROR",
        "Something went wrong on Datadock's side. The error was logged; quote the "
        "X-Request-Id header when you report it.",
    )
