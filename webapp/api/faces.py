"""Plumbing shared by the faces of other products' contracts (DataBrain, Credible Data): the
same bearer keys, scopes and rate limits as /api/public, a strictly read JSON body, and the
names-to-fields translation, with each face answering in its own error shape.

Nothing here decides anything about sources: the faces call webapp/sources/ like the Basedash
face does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, g, request
from werkzeug.wrappers import Response

from .. import api_keys, ratelimit
from ..members.roles import scope_allows
from ..names import NOT_TEXT
from ..safe_parse import InputRefused, invalid_text, load_json
from .guard import bearer_token, needed_scope

MAX_BODY_BYTES = 1 << 20
SCOPE = "api"  # one rate-limit window with /api/public: a key's calls count once


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
    """The request's key (into `g.api_key`), counted, with the scope the view declared."""
    token = bearer_token()
    key = api_keys.authenticate(token) if token else None
    limit, window = current_app.config["API_RATE_LIMIT"]
    who = f"key:{key.id}" if key is not None else f"ip:{request.remote_addr or '-'}"
    decision = ratelimit.hit(SCOPE, who, limit, window)
    if not decision.allowed:
        return Denied(429, "rate_limited",
                      f"Too many requests: at most {limit} every {window} s. Try again in "
                      f"{decision.retry_after_seconds} s.",
                      {"Retry-After": str(decision.retry_after_seconds)})
    if key is None:
        return Denied(401, "unauthorized",
                      "This API key is not valid: it does not exist, was revoked, has expired "
                      "or its creator left the organization." if token else
                      "Send a Datadock API key in the Authorization header: "
                      "`Authorization: Bearer ddk_…`.",
                      {"WWW-Authenticate": 'Bearer realm="Datadock API"'})
    g.api_key = key
    needed = needed_scope(request.endpoint)
    have = api_keys.effective_scope(key)
    if needed is not None and not scope_allows(have.value if have else None, needed):
        return Denied(403, "forbidden",
                      f"This API key's scope is {have.value if have else 'none'}; this "
                      f"operation needs a {needed} key.")
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
        raise BadBody(f"A {'key' if is_key else 'value'} of the body {NOT_TEXT}.",
                      {".".join(str(p) for p in path): NOT_TEXT})
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
        return response


# --- names-to-fields translation, declared as data per dialect by each face --------------

Convert = Callable[[Any], Mapping[str, Any]]


@dataclass(frozen=True)
class Rename:
    """One of the contract's names: the Datadock field it fills (or `convert`, which returns
    the fields it fills and raises ValueError with a message for a bad value)."""

    theirs: str
    ours: str | None = None
    convert: Convert | None = None

    def apply(self, value: Any) -> Mapping[str, Any]:
        if self.convert is not None:
            return self.convert(value)
        return {self.ours: value} if self.ours else {}


def translate(values: Mapping[str, Any], renames: tuple[Rename, ...], what: str
              ) -> tuple[dict[str, Any], dict[str, str]]:
    """The contract's `values` as Datadock fields, and errors by the contract's names
    (unknown names are refused, naming the known ones)."""
    known = {r.theirs: r for r in renames}
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        rename = known.get(name)
        if rename is None:
            errors[name] = f"Unknown field for {what}; known: {', '.join(known)}"
            continue
        if value is None:
            continue
        try:
            fields.update(rename.apply(value))
        except ValueError as exc:
            errors[name] = str(exc)
    return fields, errors


def their_errors(errors: Mapping[str, str], renames: tuple[Rename, ...],
                 extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Datadock's field errors keyed by the contract's names where one fills the field."""
    back = {r.ours: r.theirs for r in renames if r.ours}
    back.update(extra or {})
    return {back.get(name, name): message for name, message in errors.items()}


def switch(on: str, off: str, ours: str) -> Convert:
    """A text switch ("enable"/"disable") as a boolean field."""
    def convert(value: Any) -> Mapping[str, Any]:
        if value not in (on, off):
            raise ValueError(f'Must be "{on}" or "{off}"')
        return {ours: value == on}
    return convert


def flag(ours: str) -> Convert:
    """A JSON boolean into a boolean field."""
    def convert(value: Any) -> Mapping[str, Any]:
        if not isinstance(value, bool):
            raise ValueError("Must be true or false")
        return {ours: value}
    return convert
