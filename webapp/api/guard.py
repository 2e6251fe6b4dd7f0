"""Who may call the API and how often: a bearer API key per request, the scope each operation
declares (`requires_scope`: read, write or admin; a key with too small a scope gets 403
Forbidden, also before any 404), a fixed-window limit per key (per address without a valid
key), and the headers every API response carries.

The hooks are app-wide but act only on paths under /api/public, so unknown API paths and
wrong methods get the same JSON errors and headers as the endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from werkzeug.wrappers import Response

from .. import api_keys, ratelimit
from ..members.roles import KeyScope, scope_allows
from . import PREFIX, bp
from .errors import as_json_error, error_response

# Endpoints anyone may read (still rate-limited, per address).
PUBLIC_ENDPOINTS = {"api.openapi_document"}
SCOPE = "api"


def requires_scope(scope: KeyScope) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the key scope an operation needs (read by the guard and the roles test)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        view.scope = scope.value  # type: ignore[attr-defined]
        return view

    return decorate


def needed_scope(endpoint: str | None) -> str | None:
    """The scope the endpoint declared; an endpoint that declared none needs `admin`."""
    view = current_app.view_functions.get(endpoint or "")
    if view is None:
        return None
    return getattr(view, "scope", KeyScope.ADMIN.value)


def is_api_request() -> bool:
    """Whether the request is for the API (also an unknown path under it)."""
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def bearer_token() -> str | None:
    """The key of an `Authorization: Bearer <key>` header; cookies are never looked at."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _unauthorized(token: str | None) -> Response:
    detail = (
        "This API key is not valid: it does not exist, was revoked, has expired or its "
        "creator left the organization."
        if token
        else "Send an API key in the Authorization header: `Authorization: Bearer ddk_…`. "
        "Admins create keys on the API keys page."
    )
    return error_response(
        401, "Unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="Datadock API"'}
    )


@bp.before_app_request
def authenticate_and_limit() -> Response | None:
    """Recognise the key (into `g.api_key`), count the request, refuse when over the limit."""
    if not is_api_request():
        return None
    public = request.endpoint in PUBLIC_ENDPOINTS
    token = None if public else bearer_token()
    key = api_keys.authenticate(token) if token else None
    if key is not None:
        g.api_key = key
    limit, window = current_app.config["API_RATE_LIMIT"]
    who = f"key:{key.id}" if key is not None else f"ip:{request.remote_addr or '-'}"
    decision = ratelimit.hit(SCOPE, who, limit, window)
    g.api_rate = decision
    if not decision.allowed:
        return error_response(
            429,
            "RateLimitExceeded",
            f"Too many requests: at most {limit} every {window} s. Try again in "
            f"{decision.retry_after_seconds} s.",
            headers={"Retry-After": str(decision.retry_after_seconds)},
            retryAfterMs=decision.retry_after_ms,
        )
    if key is None and not public:
        return _unauthorized(token)
    if key is not None and not public:
        return _check_scope(key)
    return None


def _check_scope(key: Any) -> Response | None:
    """403 Forbidden when the key's scope (narrowed by its creator's role) is too small."""
    needed = needed_scope(request.endpoint)
    if needed is None:  # no such endpoint: routing answers 404/405
        return None
    have = api_keys.effective_scope(key)
    g.api_scope = have
    if scope_allows(have.value if have else None, needed):
        return None
    return error_response(
        403,
        "Forbidden",
        f"This API key's scope is {have.value if have else 'none'}; this "
        f"operation needs a {needed} key. Admins create keys with a wider scope on the API "
        "keys page.",
    )


@bp.after_app_request
def api_headers(response: Response) -> Response:
    """JSON errors for unknown paths and methods; the rate-limit headers; never cached."""
    if not is_api_request():
        return response
    response = as_json_error(response)
    decision: ratelimit.Decision | None = g.get("api_rate")
    if decision is not None:
        response.headers["X-RateLimit-Limit"] = str(decision.limit)
        response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    response.headers["Cache-Control"] = "no-store"
    return response
