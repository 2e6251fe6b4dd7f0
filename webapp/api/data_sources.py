"""Data source endpoints: create, verify, list, get, update, delete, sync, schema, health,
sync history.

Each one checks the JSON it gets (names the API knows, JSON types of the declared kinds, the
contract's `type` and unset flags), then calls the use-case (webapp/sources/); its refusals
(ValidationFailed, DuplicateName, ConnectionFailed, VerifyBusy) become the error shape in
errors.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, g, jsonify, request, url_for
from werkzeug.wrappers import Response

from .. import sources as uc
from ..dialects import DIALECTS, Dialect, get_dialect
from ..members.roles import KeyScope
from ..names import NOT_TEXT
from ..safe_parse import InputRefused, invalid_text, load_json
from ..source_inputs import (
    CONNECTION_TYPES,
    check_json_types,
    split_for_dialect,
    unset_flags,
)
from . import bp
from .errors import ApiError, invalid, not_found
from .guard import requires_scope
from .serialize import health_data, source_data, sync_run_data, table_data

if TYPE_CHECKING:
    from ..models import Organization, Source

DATA_SOURCES = "/organizations/<org_id>/data-sources"
ONE = DATA_SOURCES + "/<source_id>"
MAX_BODY_BYTES = 1 << 20
_ID = re.compile(r"^[0-9]{1,18}$")


def _org(org_id: str) -> Organization:
    """The key's organization: any other id (or no such organization) is the same 404."""
    key = g.api_key
    if not _ID.match(org_id) or int(org_id) != key.organization_id:
        raise not_found()
    org = uc.get_organization(key.organization_id)
    if org is None:
        raise not_found()
    return org


def _source(org: Organization, source_id: str) -> Source:
    """The organization's source by id or public UUID; anything else is the one 404."""
    source = uc.get_source(org, source_id)
    if source is None:
        raise not_found()
    return source


def _body() -> dict[str, Any]:
    """The request's JSON object (whatever Content-Type says), or 400 InvalidJson."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, "PayloadTooLarge", f"Send at most {MAX_BODY_BYTES} bytes.")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "PayloadTooLarge", f"Send at most {MAX_BODY_BYTES} bytes.")
    try:
        body = load_json(raw or b"null", parse_constant=_no_constant)
    except InputRefused as exc:
        raise ApiError(400, "InvalidJson", str(exc)) from None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "InvalidJson",
            "The body must be a JSON object, e.g. "
            '{"type": "direct", "dialect": "POSTGRES", "displayName": "…"}.',
        )
    _refuse_invalid_text(body)
    return body


def _refuse_invalid_text(body: dict[str, Any]) -> None:
    """Lone surrogates ("\\udc00") anywhere in the body: 400 on the fields that hold them."""
    errors: dict[str, str] = {}
    for path, is_key in invalid_text(body):
        if is_key:
            raise ApiError(400, "InvalidJson", f"A key of the body {NOT_TEXT}.")
        errors.setdefault(str(path[0]), NOT_TEXT[0].upper() + NOT_TEXT[1:])
    if errors:
        raise invalid(errors)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _query(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise invalid({name: "Unknown query parameter" for name in unknown})


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    text = request.args.get(name)
    if text is None:
        return default
    if not _ID.match(text) or not low <= int(text) <= high:
        raise invalid({name: f"Must be a whole number from {low} to {high}"})
    return int(text)


def _cursor_arg() -> int | None:
    text = request.args.get("cursor")
    if text is None or text == "":
        return None
    if not _ID.match(text):
        raise invalid({"cursor": "Use the nextCursor of the previous page"})
    return int(text)


def _time_arg(name: str) -> datetime | None:
    """An RFC 3339 time (2024-05-01T12:00:00Z) as naive UTC."""
    text = request.args.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise invalid({name: "Use an RFC 3339 time, e.g. 2024-05-01T12:00:00Z"}) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _prepare(
    body: dict[str, Any], mode: str, existing: Source | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Check the body against the contract and the dialect's declaration.

    `mode` is "create", "verify" or "update". Returns the input for the use-case and the
    secrets to forget (update's unset flags).
    """
    errors: dict[str, str] = {}
    kind = body.get("type")
    if mode == "create" and kind is None:
        errors["type"] = 'Required: "direct" (a direct database connection)'
    elif kind is not None and kind not in CONNECTION_TYPES:
        errors["type"] = 'Must be "direct": only direct database connections are supported'
    requested = body.get("dialect")
    dialect: Dialect | None = get_dialect(requested) if isinstance(requested, str) else None
    if requested is None and existing is not None:
        dialect = get_dialect(existing.dialect)
    elif dialect is None and not body.get("connectionString"):
        errors["dialect"] = "Choose one of: " + ", ".join(DIALECTS)
    kept, name_errors = split_for_dialect(body, dialect)
    errors.update(name_errors)
    errors.update(check_json_types(kept, dialect))
    unset: list[str] = []
    for flag, secret in unset_flags().items():
        value = body.get(flag)
        if value is None or value is False:
            continue
        if value is not True:
            errors[flag] = "Must be true or false"
        elif mode != "update":
            errors[flag] = "Only when updating a data source"
        elif body.get(secret) not in (None, ""):
            errors[flag] = f"Send either {secret} or {flag}, not both"
        elif dialect is not None and dialect.field(secret) is not None:
            unset.append(secret)
    if errors:
        raise invalid(errors)
    return kept, unset


def _one(source: Source, status: int = 200) -> tuple[Response, int]:
    return jsonify(data=source_data(source)), status


@bp.post(DATA_SOURCES)
@requires_scope(KeyScope.WRITE)
def create_data_source(org_id: str) -> Any:
    """Verify, store (secrets encrypted), start the first sync; 201 with a Location."""
    org = _org(org_id)
    raw, _ = _prepare(_body(), "create")
    source = uc.create_source(org, raw)
    response, status = _one(source, 201)
    base = current_app.config.get("BASE_URL") or request.host_url
    response.headers["Location"] = base.rstrip("/") + url_for(
        ".get_data_source", org_id=org.id, source_id=source.id
    )
    return response, status


@bp.post(DATA_SOURCES + "/verify")
@requires_scope(KeyScope.WRITE)
def verify_data_source(org_id: str) -> Any:
    """Connect once with the given fields; nothing is stored."""
    org = _org(org_id)
    raw, _ = _prepare(_body(), "verify")
    result = uc.verify_input(raw, org=org, name_required=False)
    return jsonify(
        data={
            "success": True,
            "serverVersion": result.server_version,
            "elapsedMs": result.elapsed_ms,
            "steps": result.steps,
        }
    )


@bp.get(DATA_SOURCES)
@requires_scope(KeyScope.READ)
def list_data_sources(org_id: str) -> Any:
    """Newest first, `limit` per page, `cursor` = the previous page's nextCursor."""
    org = _org(org_id)
    _query({"limit", "cursor"})
    limit = _int_arg("limit", 50, 1, 100)
    rows, more = uc.list_sources_page(org, limit, _cursor_arg())
    return jsonify(
        data=[source_data(s) for s in rows],
        pagination={"nextCursor": str(rows[-1].id) if more else None, "hasMore": more},
    )


@bp.get(ONE)
@requires_scope(KeyScope.READ)
def get_data_source(org_id: str, source_id: str) -> Any:
    """One data source."""
    _query(set())
    return _one(_source(_org(org_id), source_id))


@bp.patch(ONE)
@requires_scope(KeyScope.WRITE)
def update_data_source(org_id: str, source_id: str) -> Any:
    """Change the fields sent (the rest keep their values), verify again, resync."""
    source = _source(_org(org_id), source_id)
    raw, unset = _prepare(_body(), "update", existing=source)
    return _one(uc.update_source(source, raw, unset=unset))


@bp.delete(ONE)
@requires_scope(KeyScope.WRITE)
def delete_data_source(org_id: str, source_id: str) -> Any:
    """Remove the source, its secrets, its schema and its history."""
    source = _source(_org(org_id), source_id)
    uc.delete_source(source)
    return jsonify(data={"success": True})


@bp.post(ONE + "/sync")
@requires_scope(KeyScope.WRITE)
def sync_data_source(org_id: str, source_id: str) -> Any:
    """Queue a schema sync now; 202 with the source (lastSyncStatus PENDING)."""
    source = _source(_org(org_id), source_id)
    uc.request_sync(source, trigger="api")
    return _one(source, 202)


@bp.get(ONE + "/schema")
@requires_scope(KeyScope.READ)
def data_source_schema(org_id: str, source_id: str) -> Any:
    """Tables and views of the last good snapshot, searchable by schema.name."""
    source = _source(_org(org_id), source_id)
    _query({"search", "limit", "cursor"})
    search = request.args.get("search", "")
    if len(search) > 200:
        raise invalid({"search": "Use at most 200 characters"})
    limit = _int_arg("limit", 100, 1, 500)
    offset = _cursor_arg() or 0
    tables, total = uc.snapshot_tables(source, search=search, limit=limit, offset=offset)
    more = offset + len(tables) < total
    return jsonify(
        data=[table_data(t) for t in tables],
        pagination={
            "nextCursor": str(offset + len(tables)) if more else None,
            "hasMore": more,
            "total": total,
        },
    )


@bp.get(ONE + "/health")
@requires_scope(KeyScope.READ)
def data_source_health(org_id: str, source_id: str) -> Any:
    """The source's health checks since `since` (default: a day ago), oldest first."""
    source = _source(_org(org_id), source_id)
    _query({"since", "limit"})
    since = _time_arg("since")
    limit = _int_arg("limit", 1000, 1, 1000)
    checks = uc.health_history(source, since, limit)
    return jsonify(data=[health_data(c) for c in checks])


@bp.get(ONE + "/syncs")
@requires_scope(KeyScope.READ)
def data_source_syncs(org_id: str, source_id: str) -> Any:
    """The source's schema sync runs, newest first, with what each one changed."""
    source = _source(_org(org_id), source_id)
    _query({"limit", "cursor"})
    limit = _int_arg("limit", 20, 1, 100)
    offset = _cursor_arg() or 0
    runs, total = uc.sync_history(source, limit, offset)
    more = offset + len(runs) < total
    return jsonify(
        data=[sync_run_data(r) for r in runs],
        pagination={
            "nextCursor": str(offset + len(runs)) if more else None,
            "hasMore": more,
            "total": total,
        },
    )


@bp.post(ONE + "/verify")
@requires_scope(KeyScope.WRITE)
def verify_saved_data_source(org_id: str, source_id: str) -> Any:
    """Connect once with the stored configuration and its saved secrets; stores nothing."""
    source = _source(_org(org_id), source_id)
    result = uc.verify_saved(source)
    return jsonify(
        data={
            "success": True,
            "serverVersion": result.server_version,
            "elapsedMs": result.elapsed_ms,
            "steps": result.steps,
        }
    )


@bp.post(ONE + "/pause")
@requires_scope(KeyScope.WRITE)
def pause_data_source(org_id: str, source_id: str) -> Any:
    """No scheduled sync or health check until resumed (by hand they still run)."""
    return _one(uc.pause_source(_source(_org(org_id), source_id)))


@bp.post(ONE + "/resume")
@requires_scope(KeyScope.WRITE)
def resume_data_source(org_id: str, source_id: str) -> Any:
    """Scheduled work again: a health check at once, the next sync at its schedule."""
    return _one(uc.resume_source(_source(_org(org_id), source_id)))
