"""Who may call the API and how often: a bearer API key per request, the scope each operation
declares (`requires_scope`: read, write or admin; a key with too small a scope gets 403
Forbidden, also before any 404), a fixed-window limit per key (per address without a valid
key), and the headers every API response carries.

The hooks are app-wide but act only on paths under /api/public, so unknown API paths and
wrong methods get the same JSON errors and headers as the endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import current_app, g, request
from werkzeug.wrappers import Response

from .. import api_keys, ratelimit
from ..members.roles import KeyScope, scope_allows
from . import PREFIX, bp
from .errors import as_json_error, error_response

if TYPE_CHECKING:
    from ..models import ApiKey

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


def authenticate_and_count(public: bool = False) -> tuple[ApiKey | None, ratelimit.Decision]:
    """The request's key and its counted hit, for every API face (each maps the outcome to its
    own error shape, in this order: over the limit, no valid key, `scope_shortfall`).

    The key is None without a valid bearer key, and always for a `public` operation (no key is
    looked at). The hit counts per key, else per address, in the one "api" window all faces
    share. Sets `g.api_key`, `g.api_scope` (its effective scope) and `g.api_organization`
    (the key's, kept so the operation reads it without a query) when valid, and `g.api_rate`
    (for `rate_headers`)."""
    token = None if public else bearer_token()
    found = api_keys.recognise(token) if token else None
    key = found.key if found is not None else None
    if found is not None:
        g.api_key, g.api_scope, g.api_organization = found.key, found.scope, found.organization
    limit, window = current_app.config["API_RATE_LIMIT"]
    who = f"key:{key.id}" if key is not None else f"ip:{request.remote_addr or '-'}"
    decision = ratelimit.hit(SCOPE, who, limit, window)
    g.api_rate = decision
    return key, decision


def too_many(decision: ratelimit.Decision) -> str:
    """What a refused hit says, with the configured rate and when to try again."""
    _, window = current_app.config["API_RATE_LIMIT"]
    return (
        f"Too many requests: at most {decision.limit} every {window} s. Try again in "
        f"{decision.retry_after_seconds} s."
    )


def retry_headers(decision: ratelimit.Decision) -> dict[str, str]:
    """The Retry-After header of a refused hit."""
    return {"Retry-After": str(decision.retry_after_seconds)}


def scope_shortfall(key: ApiKey) -> tuple[str, str] | None:
    """(the key's scope or "none", the scope needed) when the key's scope, narrowed by its
    creator's role, is too small for the request's operation; None when it may go on (also
    for an unknown endpoint: routing answers 404/405)."""
    needed = needed_scope(request.endpoint)
    if needed is None:
        return None
    have = g.api_scope if g.get("api_key") is key else api_keys.effective_scope(key)
    if scope_allows(have.value if have else None, needed):
        return None
    return (have.value if have else "none"), needed


def rate_headers(response: Response) -> Response:
    """X-RateLimit-Limit and -Remaining of the request's hit (when it was counted)."""
    decision: ratelimit.Decision | None = g.get("api_rate")
    if decision is not None:
        response.headers["X-RateLimit-Limit"] = str(decision.limit)
        response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
    return response


@bp.before_app_request
def authenticate_and_limit() -> Response | None:
    """The Basedash face's guard: the key, the limit, the operation's scope."""
    if not is_api_request():
        return None
    public = request.endpoint in PUBLIC_ENDPOINTS
    key, decision = authenticate_and_count(public)
    if not decision.allowed:
        return error_response(
            429,
            "RateLimitExceeded",
            too_many(decision),
            headers=retry_headers(decision),
            retryAfterMs=decision.retry_after_ms,
        )
    if public:
        return None
    if key is None:
        return _unauthorized(bearer_token())
    short = scope_shortfall(key)
    if short is None:
        return None
    return error_response(
        403,
        "Forbidden",
        f"This API key's scope is {short[0]}; this operation needs a {short[1]} key. "
        "Admins create keys with a wider scope on the API keys page.",
    )


@bp.after_app_request
def api_headers(response: Response) -> Response:
    """JSON errors for unknown paths and methods; the rate-limit headers; never cached."""
    if not is_api_request():
        return response
    response = rate_headers(as_json_error(response))
    response.headers["Cache-Control"] = "no-store"
    return response
