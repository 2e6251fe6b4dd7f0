"""The Supermetrics face: `POST /v1/teams/{team_id}/data-source-connections` makes an
onboarding link (webapp/onboarding/) and answers its `connect_url`, as Supermetrics answers a
connection's; GET shows the connection (pending, then the source it became), DELETE revokes it.

A team is an organization. Bearer API keys as on /api/public (the same rate limit per key),
but Supermetrics' shapes: `{"meta": {"request_id"}, "data": …}` and errors
`{"meta", "error": {"code", "message", "description"}}` with its codes, 422 for validation,
429 with Retry-After and X-RateLimit-*, and CORS for the origins in DATADOCK_CORS_ORIGINS.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .. import onboarding, request_ids
from .. import sources as uc
from ..core.refusal import Refusal
from ..dialects import DIALECTS
from ..members.roles import KeyScope
from ..safe_parse import InputRefused, load_json
from .guard import (
    authenticate_and_count,
    rate_headers,
    requires_scope,
    retry_headers,
    scope_shortfall,
)

if TYPE_CHECKING:
    from ..models import OnboardingLink, Organization

PREFIX = "/v1"
bp = Blueprint("supermetrics", __name__, url_prefix=PREFIX)
CONNECTIONS = "/teams/<team_id>/data-source-connections"
ONE = CONNECTIONS + "/<connection_id>"
MAX_BODY_BYTES = 64 * 1024
_ID = re.compile(r"^[0-9]{1,18}$")
# Our field names (use-cases) → the face's.
FIELDS = {"dialect": "data_source_id", "displayName": "display_name", "expiresIn": "expires_in"}
CODES = {
    400: "INVALID_PARAMETER",
    401: "API_KEY_INVALID",
    403: "ACCESS_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    422: "INVALID_PARAMETER",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
}
ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id"
EXPOSE_HEADERS = "Location, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id"


class FaceError(Exception):
    """An error in the face's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        description: str = "",
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.description = status, message, description
        self.headers = headers or {}
        self.code = code or CODES.get(status, "INVALID_PARAMETER")


def _meta() -> dict[str, Any]:
    return {"request_id": request_ids.current()}


def error_response(exc: FaceError) -> Response:
    """`{"meta": {"request_id"}, "error": {"code", "message", "description"}}`."""
    response = jsonify(
        meta=_meta(),
        error={"code": exc.code, "message": exc.message, "description": exc.description},
    )
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


def _absolute(path: str) -> str:
    """`path` under BASE_URL when set, else under the request's own root."""
    return onboarding.base_url(request.host_url).rstrip("/") + path


# --- who may call: CORS, the key, the limit, the scope ------------------------------------


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin")
    allowed = current_app.config.get("CORS_ORIGINS") or []
    return origin if origin and (origin in allowed or "*" in allowed) else None


@bp.before_request
def guard() -> Response | None:
    """Preflight answered at once; then the key, the rate limit and the operation's scope."""
    if request.method == "OPTIONS":
        response = current_app.make_response(("", 204))
        if _allowed_origin():
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
    key, decision = authenticate_and_count()
    if not decision.allowed:
        _, window = current_app.config["API_RATE_LIMIT"]
        raise FaceError(
            429,
            "Too many requests",
            f"At most {decision.limit} requests every {window} s. Try again in "
            f"{decision.retry_after_seconds} s.",
            retry_headers(decision),
        )
    if key is None:
        raise FaceError(
            401,
            "API key is missing or invalid",
            "Send an API key as `Authorization: Bearer ddk_…`: it may not exist, "
            "may have been revoked or expired, or its creator left the team.",
            {"WWW-Authenticate": 'Bearer realm="Datadock API"'},
        )
    short = scope_shortfall(key)
    if short is not None:
        raise FaceError(
            403,
            "Access denied",
            f"This API key's scope is {short[0]}; this operation needs a {short[1]} key.",
        )
    return None


def _as_face_error(response: Response) -> Response:
    """Routing's own answers (unknown path, wrong method) in the face's error shape."""
    if response.status_code < 400 or response.mimetype == "application/json":
        return response
    status = response.status_code
    message = {404: "Not found", 405: "Method not allowed"}.get(status, "Bad request")
    converted = error_response(
        FaceError(
            status,
            message,
            "See the OpenAPI document at /api/public/openapi.json for this face's paths.",
        )
    )
    for name, value in response.headers.items():  # Allow, security headers, …
        if name.lower() not in ("content-type", "content-length"):
            converted.headers[name] = value
    return converted


@bp.after_app_request
def headers(response: Response) -> Response:
    """Under /v1: the error shape for routing's answers, CORS for allowed origins, the
    rate-limit headers, never cached."""
    if not request.path.startswith(PREFIX + "/"):
        return response
    response = _as_face_error(response)
    origin = _allowed_origin()
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        response.vary.add("Origin")
    response = rate_headers(response)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(FaceError)
def _face_error(exc: FaceError) -> Response:
    return error_response(exc)


@bp.errorhandler(Refusal)
def _refusal(exc: Refusal) -> Response:
    """A use-case's refusal: validation is 422 INVALID_PARAMETER naming the face's fields."""
    fields = {FIELDS.get(k, k): v for k, v in exc.field_errors.items()}
    description = "; ".join(f"{k}: {v}" for k, v in fields.items()) or exc.detail
    status = 422 if exc.status in (400, 409, 422) else exc.status
    return error_response(FaceError(status, exc.detail, description, exc.headers()))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    allowed = getattr(exc, "valid_methods", None)
    extra = {"Allow": ", ".join(allowed)} if allowed else None
    return error_response(FaceError(status, exc.name, exc.description or "", extra))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unhandled error in the Supermetrics face")
    return error_response(
        FaceError(
            500,
            "Internal error",
            "Something went wrong on Datadock's side; quote the request_id when you report it.",
        )
    )


# --- the operations ------------------------------------------------------------------------


def _team(team_id: str) -> Organization:
    """The key's organization; any other team id is the same 404."""
    key = g.api_key
    org = uc.get_organization(key.organization_id)
    if not _ID.match(team_id) or int(team_id) != key.organization_id or org is None:
        raise FaceError(
            404,
            "Team not found",
            "No such team for this API key (a team is a Datadock organization; "
            "use the organization id the API keys page shows).",
        )
    return org


def _body() -> dict[str, Any]:
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise FaceError(413, "Request too large", f"Send at most {MAX_BODY_BYTES} bytes.")
    try:
        body = load_json(raw or b"null")
    except (InputRefused, ValueError):
        body = None
    if not isinstance(body, dict):
        raise FaceError(
            400,
            "Invalid JSON body",
            'The body must be a JSON object, e.g. {"data_source_id": "POSTGRES"}.',
        )
    return body


def connection_data(link: OnboardingLink) -> dict[str, Any]:
    """A connection as GET answers it: the link's state and, once completed, its source."""
    source = onboarding.source_of(link)
    return {
        "connection_id": link.public_id,
        "data_source_id": link.dialect,
        "display_name": link.display_name,
        "status": onboarding.status(link),
        "created_time": _iso(link.created_at),
        "expires_time": _iso(link.expires_at),
        "completed_time": _iso(link.completed_at),
        "completed_by": link.completed_by,
        "data_source": None
        if source is None
        else {
            "id": source.public_id,
            "display_name": source.display_name,
            "last_sync_status": source.last_sync_status,
        },
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"


@bp.post(CONNECTIONS)
@requires_scope(KeyScope.WRITE)
def create_connection(team_id: str) -> Any:
    """A new onboarding link: 201, Location, `connect_url` (shown once)."""
    org = _team(team_id)
    body = _body()
    dialect = body.get("data_source_id")
    if isinstance(dialect, str) and dialect.upper() in DIALECTS:
        dialect = dialect.upper()
    made = onboarding.create_link(
        org,
        dialect,
        body.get("display_name"),
        body.get("expires_in"),
        base=onboarding.base_url(request.host_url),
    )
    response = jsonify(
        meta=_meta(),
        data={"connection_id": made.link.public_id, "login_url": None, "connect_url": made.url},
    )
    response.status_code = 201
    response.headers["Location"] = _absolute(
        url_for(".get_connection", team_id=org.id, connection_id=made.link.public_id)
    )
    return response


def _link(team_id: str, connection_id: str) -> OnboardingLink:
    link = onboarding.get_link(_team(team_id), connection_id)
    if link is None:
        raise FaceError(404, "Connection not found", "No such data source connection in this team.")
    return link


@bp.get(ONE)
@requires_scope(KeyScope.READ)
def get_connection(team_id: str, connection_id: str) -> Any:
    """The connection: pending, completed (with its source), expired or revoked."""
    return jsonify(meta=_meta(), data=connection_data(_link(team_id, connection_id)))


@bp.delete(ONE)
@requires_scope(KeyScope.WRITE)
def delete_connection(team_id: str, connection_id: str) -> Any:
    """Revoke a pending link (a source it already made stays)."""
    link = onboarding.revoke(_link(team_id, connection_id))
    return jsonify(meta=_meta(), data=connection_data(link))
