"""The API's one error shape, {"error": {"title", "detail", "fieldErrors", …}}, and the
handlers that turn every refusal and failure into it (a 500 never shows internals).

Use-cases roll their own transaction back when they refuse or fail, and the request's session
ends with the request, so nothing here touches the store."""

from __future__ import annotations

import logging
from typing import Any

from flask import jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..core.refusal import Refusal
from . import bp

log = logging.getLogger(__name__)

# Titles for statuses that routing or Werkzeug raise on their own.
TITLES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
}

NOT_FOUND_DETAIL = (
    "No such organization or data source for this API key. (Organizations and "
    "data sources of other organizations are reported the same way.)"
)


class ApiError(Exception):
    """A refusal with a status and the error shape's parts."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        field_errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field_errors = field_errors or {}
        self.headers = headers or {}
        self.extra = extra


def not_found() -> ApiError:
    """The one 404: unknown organization, not this key's organization, or no such source."""
    return ApiError(404, "NotFound", NOT_FOUND_DETAIL)


def invalid(field_errors: dict[str, str], detail: str = "Some fields need attention.") -> ApiError:
    """400 ValidationError with an error per field."""
    return ApiError(400, "ValidationError", detail, field_errors)


def error_response(
    status: int,
    title: str,
    detail: str,
    field_errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A JSON response in the one error shape."""
    body = {"error": {"title": title, "detail": detail, "fieldErrors": field_errors or {}, **extra}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return error_response(
        exc.status, exc.title, exc.detail, exc.field_errors, exc.headers, **exc.extra
    )


@bp.errorhandler(Refusal)
def _refusal(exc: Refusal) -> Response:
    """Every refusal of a use-case (ValidationError, DuplicateName, ConnectionFailed with its
    steps, RateLimitExceeded with Retry-After when no verify slot is free) in the one shape."""
    response = jsonify(exc.body())
    response.status_code = exc.status
    response.headers.update(exc.headers())
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return error_response(
        status,
        TITLES.get(status, "BadRequest"),
        exc.description or "The request could not be served.",
        headers=headers,
    )


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    """Log the traceback here, answer without it."""
    log.exception("unhandled error in the API")
    return error_response(
        500,
        "InternalServerError",
        "Something went wrong on Datadock's side. The error was logged; "
        "quote the X-Request-Id header when you report it.",
    )


def as_json_error(response: Response) -> Response:
    """An error response that is not JSON yet (routing's 404/405) in the one error shape."""
    if response.status_code < 400 or response.mimetype == "application/json":
        return response
    status = response.status_code
    detail = {
        404: "No such endpoint. The endpoints are listed in /api/public/openapi.json.",
        405: "This endpoint does not accept that method.",
    }.get(status, "The request could not be served.")
    converted = error_response(status, TITLES.get(status, "BadRequest"), detail)
    for name, value in response.headers.items():  # Allow, security headers, …
        if name.lower() not in ("content-type", "content-length"):
            converted.headers[name] = value
    return converted
