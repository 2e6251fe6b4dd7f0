"""Plumbing shared by the faces of other products' contracts (DataBrain, Credible Data): the
same bearer keys, scopes and rate limits as /api/public and a strictly read JSON body, each
face answering in its own error shape (the names-to-fields translation is face_names.py).

Nothing here decides anything about sources: the faces call webapp/sources/ like the Basedash
face does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, request
from werkzeug.wrappers import Response

from ..names import NOT_TEXT
from ..safe_parse import InputRefused, invalid_text, load_json
from .guard import (
    authenticate_and_count,
    bearer_token,
    rate_headers,
    retry_headers,
    scope_shortfall,
    too_many,
)

MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class Denied:
    """Why a face refuses the request before its view runs (its status and kind)."""

    status: int
    kind: str  # "unauthorized", "forbidden", "rate_limited"
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


class BadBody(Exception):
    """The body is not a JSON object the face can read (`field_errors` by the face's names)."""

    def __init__(self, detail: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = dict(field_errors or {})


def check_key() -> Denied | None:
    """The request's key and hit (`guard.authenticate_and_count`) with the scope the view
    declared, as a Denied the face answers in its shape, or None."""
    key, decision = authenticate_and_count()
    if not decision.allowed:
        return Denied(429, "rate_limited", too_many(decision), retry_headers(decision))
    if key is None:
        return Denied(
            401,
            "unauthorized",
            "This API key is not valid: it does not exist, was revoked, has expired "
            "or its creator left the organization."
            if bearer_token()
            else "Send a Datadock API key in the Authorization header: "
            "`Authorization: Bearer ddk_…`.",
            {"WWW-Authenticate": 'Bearer realm="Datadock API"'},
        )
    short = scope_shortfall(key)
    if short is not None:
        return Denied(
            403,
            "forbidden",
            f"This API key's scope is {short[0]}; this operation needs a {short[1]} key.",
        )
    return None


def read_object() -> dict[str, Any]:
    """The request's JSON object (whatever Content-Type says), or BadBody."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise BadBody(f"Send at most {MAX_BODY_BYTES} bytes.")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BadBody(f"Send at most {MAX_BODY_BYTES} bytes.")
    try:
        body = load_json(raw or b"null", parse_constant=_no_constant)
    except InputRefused as exc:
        raise BadBody(str(exc)) from None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadBody("The body must be a JSON object.")
    for path, is_key in invalid_text(body):
        raise BadBody(
            f"A {'key' if is_key else 'value'} of the body {NOT_TEXT}.",
            {".".join(str(p) for p in path): NOT_TEXT},
        )
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def guard_blueprint(bp: Blueprint, deny: Callable[[Denied], Response]) -> None:
    """Check every request of `bp` with check_key; `deny` answers in the face's shape."""

    @bp.before_request
    def _check() -> Response | None:
        denied = check_key()
        return deny(denied) if denied is not None else None

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return rate_headers(response)


def keep_headers(router_answer: Response, converted: Response) -> Response:
    """A face's own error body for what the router refused (404, 405), keeping the router's
    headers (Allow, the rate-limit and request-id headers) but not its body's type and size."""
    for name, value in router_answer.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            converted.headers[name] = value
    return converted
