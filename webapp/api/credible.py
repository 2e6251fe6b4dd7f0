"""The Credible Data face: `/api/v0/projects/{projectName}/connections/{connectionName}`
(POST creates, GET reads, DELETE removes) over the same use-cases as every face.

A project groups sources inside the key's organization (created on first use,
sources/projects.py); the connection's name is the source's display name. Credible's
`<type>Connection` names become Datadock's fields (credible_fields.py). Errors are
`{"code", "message", "fieldErrors"}` with the HTTP status.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .. import sources as uc
from ..dialects import get_dialect
from ..face_names import their_errors, translate
from ..members.roles import KeyScope
from ..source_fields import SOURCE_FIELDS
from ..source_inputs import check_json_types
from ..sources import projects
from .credible_fields import TYPES
from .faces import BadBody, guard_blueprint, keep_headers, read_object
from .guard import requires_scope

if TYPE_CHECKING:
    from ..models import Organization, Source

log = logging.getLogger(__name__)

PREFIX = "/api/v0"
bp = Blueprint("credible", __name__, url_prefix=PREFIX)
ONE = "/projects/<project_name>/connections/<connection_name>"

CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
}


class CredibleError(Exception):
    """An answer in the face's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        field_errors: dict[str, str] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "BadRequest")
        self.field_errors = field_errors or {}
        self.headers = headers or {}


def error(
    status: int,
    message: str,
    field_errors: dict[str, str] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"code": code or CODES.get(status, "BadRequest"), "message": message}
    if field_errors:
        body["fieldErrors"] = field_errors
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


guard_blueprint(bp, lambda d: error(d.status, d.detail, headers=d.headers))


def _org() -> Organization:
    org = uc.get_organization(g.api_key.organization_id)
    if org is None:
        raise CredibleError(401, "This API key has no organization.")
    return org


def _names(project_name: str, connection_name: str) -> None:
    errors = {
        k: p
        for k, p in (
            ("projectName", projects.name_problem(project_name)),
            ("connectionName", projects.name_problem(connection_name, "Connection name")),
        )
        if p
    }
    if errors:
        raise CredibleError(400, "The project or connection name is not valid.", errors)


def _found(org: Organization, project_name: str, connection_name: str) -> Source:
    project = projects.get_project(org, project_name)
    source = projects.project_source(project, connection_name) if project else None
    if source is None:
        raise CredibleError(404, f"No connection {connection_name!r} in project {project_name!r}.")
    return source


def to_fields(body: dict[str, Any], connection_name: str) -> tuple[str, dict[str, Any]]:
    """Credible's body as the Datadock create input, or 400 naming every problem."""
    kind = body.get("type")
    if kind not in TYPES:
        raise CredibleError(
            400, "Unknown connection type.", {"type": f"Required: one of {', '.join(TYPES)}"}
        )
    spec = TYPES[kind]
    allowed = {"type", "name", spec.key}
    errors = {name: f"Not used with type {kind!r}" for name in sorted(set(body) - allowed)}
    if body.get("name") not in (None, connection_name):
        errors["name"] = "Must be the connectionName of the path (or left out)"
    values = body.get(spec.key)
    if not isinstance(values, dict):
        errors[spec.key] = f"Required: an object with the {kind} connection's fields"
        raise CredibleError(400, "The request body needs attention.", errors)
    fields, found = translate(values, spec.renames, kind)
    errors.update({f"{spec.key}.{k}": v for k, v in found.items()})
    dialect = get_dialect(spec.dialect)
    assert dialect is not None
    declared = {s.name for s in (*SOURCE_FIELDS, *dialect.fields)} | {"connectionString"}
    back = {r.ours: r.theirs for r in spec.renames if r.ours}
    for ours in sorted(set(fields) - declared):
        errors[f"{spec.key}.{back.get(ours, ours)}"] = (
            f"Datadock's {dialect.label} does not support this field yet"
        )
    raw = {**fields, "dialect": spec.dialect, "displayName": connection_name}
    errors.update(
        {
            f"{spec.key}.{k}": v
            for k, v in their_errors(check_json_types(raw, dialect), spec.renames).items()
        }
    )
    if errors:
        raise CredibleError(400, "The request body needs attention.", errors)
    return kind, raw


@bp.post(ONE)
@requires_scope(KeyScope.WRITE)
def create_connection(project_name: str, connection_name: str) -> Any:
    """Verify, store in the project (created on first use), start the first sync; 201."""
    _names(project_name, connection_name)
    org = _org()
    try:
        body = read_object()
    except BadBody as exc:
        raise CredibleError(400, exc.detail, exc.field_errors) from None
    kind, raw = to_fields(body, connection_name)
    project = projects.get_project(org, project_name)
    if project is not None and projects.project_source(project, connection_name) is not None:
        raise CredibleError(
            409,
            f"Connection {connection_name!r} already exists in project "
            f"{project_name!r}. DELETE it first to replace it.",
        )
    spec = TYPES[kind]
    try:
        projects.create_project_source(org, project_name, raw)
    except uc.Refusal as exc:
        fields = {
            f"{spec.key}.{k}" if k != "displayName" else "connectionName": v
            for k, v in their_errors(exc.field_errors, spec.renames).items()
        }
        if exc.title == "DuplicateName":
            raise CredibleError(
                409,
                exc.detail + " Connection names are unique across an organization's projects.",
                fields,
            ) from None
        status = 429 if exc.title == "RateLimitExceeded" else 400
        raise CredibleError(
            status, exc.detail, fields, code=exc.title, headers=exc.headers()
        ) from None
    return jsonify(
        message=f"Connection {connection_name!r} created in project {project_name!r}."
    ), 201


@bp.get(ONE)
@requires_scope(KeyScope.READ)
def get_connection(project_name: str, connection_name: str) -> Any:
    """The connection in Credible's shape (never a secret)."""
    _names(project_name, connection_name)
    return jsonify(connection_data(_found(_org(), project_name, connection_name), project_name))


@bp.delete(ONE)
@requires_scope(KeyScope.WRITE)
def delete_connection(project_name: str, connection_name: str) -> Any:
    """Remove the source, its secrets, schema and history."""
    _names(project_name, connection_name)
    uc.delete_source(_found(_org(), project_name, connection_name))
    return jsonify(message=f"Connection {connection_name!r} deleted from project {project_name!r}.")


def connection_data(source: Source, project_name: str) -> dict[str, Any]:
    """Credible's Connection: name, type, resource and the `<type>Connection` it was given
    (secret fields left out), plus Datadock's sync state."""
    kind, spec = next(
        ((k, s) for k, s in TYPES.items() if s.dialect == source.dialect),
        (source.dialect.lower(), None),
    )
    values = uc.public_values(source)
    values["includeSchemas"] = source.include_schemas
    values.pop("attachedDatabases", None)  # secret: never shown again
    connection: dict[str, Any] = {}
    for rename in spec.renames if spec else ():
        if rename.ours and values.get(rename.ours) is not None:
            connection[rename.theirs] = values[rename.ours]
    data: dict[str, Any] = {
        "name": source.display_name,
        "type": kind,
        "resource": f"{PREFIX}/projects/{project_name}/connections/{source.display_name}",
        "lastSyncStatus": source.last_sync_status,
        "syncErrorMessage": source.sync_error_message,
    }
    if spec:
        data[spec.key] = connection
    return data


@bp.errorhandler(CredibleError)
def _credible_error(exc: CredibleError) -> Response:
    return error(exc.status, exc.message, exc.field_errors, exc.code, exc.headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return error(exc.code or 500, exc.description or "The request could not be served.")


@bp.after_app_request
def _routing_errors(response: Response) -> Response:
    """Unknown paths and methods under /api/v0 answer in this face's shape too."""
    if (
        not request.path.startswith(PREFIX + "/")
        or response.status_code < 400
        or (response.mimetype == "application/json")
    ):
        return response
    status = response.status_code
    converted = error(
        status,
        {
            404: "No such endpoint under /api/v0.",
            405: "This endpoint does not accept that method.",
        }.get(status, "The request could not be served."),
    )
    return keep_headers(response, converted)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error in the Credible Data face")
    return error(
        500,
        "Something went wrong on Datadock's side. The error was logged; quote "
        "the X-Request-Id header when you report it.",
    )
