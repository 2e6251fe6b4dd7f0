"""Use-cases shared by the pages and the API: validate, verify, create, update, delete, list."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import audit, ratelimit
from .connect import verify_pool
from .connect.errors import ConnectionFailed
from .connect.verify import VerifyResult, verify
from .connect.verify_pool import VerifyBusy
from .dialects import DIALECTS, Dialect, FieldInvalid, FieldSpec, get_dialect
from .dialects.urls import parse_connection_string
from .extensions import db
from .jobs import health, runs, scheduler, webhooks
from .models import (
    HealthCheck,
    Organization,
    SchemaSnapshot,
    SchemaTable,
    Source,
    SyncRun,
    SyncStatus,
    utcnow,
)
from .names import name_key
from .records import COLUMNS, public_values, vault
from .source_fields import DISPLAY_NAME, SOURCE_COLUMNS, SOURCE_FIELDS, source_field_values


class SourceError(Exception):
    """A refusal with the API's error shape: a title, a detail and errors per field."""

    title = "ValidationError"
    status = 400

    def __init__(self, detail: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = field_errors or {}


class ValidationFailed(SourceError):
    """Fields are missing or malformed; nothing was tried."""


class DuplicateName(SourceError):
    """The display name is already used in the organization."""

    title = "DuplicateName"


@dataclass
class SourceInput:
    """Cleaned input: the dialect, the source-level values (name, description, sync settings),
    the dialect's values, and which secrets were typed now."""

    dialect: Dialect
    common: dict[str, Any]
    values: dict[str, Any]
    typed_secrets: dict[str, str] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """The source's display name."""
        return self.common["displayName"]


def saved_secret_names(source: Source | None) -> set[str]:
    """Which secret fields the source has stored (their values are never read for display)."""
    if source is None or not source.secrets_blob:
        return set()
    return {k for k, v in vault().decrypt(source.secrets_blob).items() if v}


def expand_connection_string(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Fill blank fields from a pasted `connectionString` (its dialect wins); drop the string.

    Fields the user typed win over the string; the string's dialect wins over the dialect field.
    Raises ValidationFailed on `connectionString` when it cannot be read.
    """
    text = raw.get("connectionString")
    data = {k: v for k, v in raw.items() if k != "connectionString"}
    if not text:
        return data
    if not isinstance(text, str) or len(text) > 4096:
        raise ValidationFailed("Some fields need attention.",
                               {"connectionString": "Paste a connection URL"})
    try:
        dialect, parsed = parse_connection_string(text, set(DIALECTS))
    except FieldInvalid as exc:
        raise ValidationFailed("Some fields need attention.",
                               {"connectionString": str(exc)}) from None
    # Fields the user typed win; fields left blank or at their declared default take the string's.
    target = DIALECTS[dialect]
    typed = {k: v for k, v in data.items() if v not in (None, "")
             and not ((spec := target.field(k)) is not None and _is_default(spec, v))}
    return {**data, **parsed, **typed, "dialect": dialect}


def _is_default(spec: FieldSpec, value: Any) -> bool:
    try:
        return spec.clean(value) == spec.default
    except FieldInvalid:
        return False


def clean_input(raw: Mapping[str, Any], existing: Source | None = None, *,
                unset: Collection[str] = (), name_required: bool = True) -> SourceInput:
    """Validate raw input (form or JSON) against the dialect's declaration.

    `unset` names stored secrets to forget (the API's unsetPassword, …) instead of keeping
    them; `name_required=False` lets a verify go without a display name.
    """
    errors: dict[str, str] = {}
    raw = expand_connection_string(raw)
    dialect = get_dialect(raw.get("dialect") or (existing.dialect if existing else None))
    if dialect is None:
        known = ", ".join(DIALECTS)
        errors["dialect"] = f"Choose one of: {known}"
    source_specs = SOURCE_FIELDS if name_required else tuple(
        replace(s, required=False) if s is DISPLAY_NAME else s for s in SOURCE_FIELDS)
    common = {spec.name: _clean(spec, raw.get(spec.name), errors) for spec in source_specs}
    if dialect is None:
        raise ValidationFailed("Some fields need attention.", errors)

    values: dict[str, Any] = {}
    # Plain fields first, so the switches that fields depend on (sshEnabled, …) are known.
    ordered = sorted(dialect.fields, key=lambda f: (f.secret, f.required_if is not None))
    for spec in (f for f in ordered if not f.secret):
        if spec.required_if and not values.get(spec.required_if):
            values[spec.name] = None
            continue
        values[spec.name] = _clean(spec, raw.get(spec.name), errors)

    stored = vault().decrypt(existing.secrets_blob) if existing is not None else {}
    moved = existing is not None and (
        existing.dialect != dialect.key
        or any(values.get(n) != public_values(existing).get(n) for n in dialect.identity_names)
    )
    typed: dict[str, str] = {}
    for spec in (f for f in ordered if f.secret):
        raw_value = raw.get(spec.name)
        if spec.required_if and not values.get(spec.required_if):
            values[spec.name] = None
        elif raw_value not in (None, ""):
            value = _clean(spec, raw_value, errors)
            if value is not None:
                typed[spec.name] = value
                values[spec.name] = value
        elif stored.get(spec.name) and spec.name not in unset and not moved:
            values[spec.name] = stored[spec.name]
        elif stored.get(spec.name) and spec.name not in unset and moved:
            errors[spec.name] = (
                f"Enter the {spec.label.lower()} again: the host, port, database or SSH "
                "settings changed, so the saved one is not sent there"
            )
        else:
            values[spec.name] = _clean(spec, raw_value, errors)
    if not errors:
        errors.update(dialect.check_local(values))
    if errors:
        raise ValidationFailed("Some fields need attention.", errors)
    return SourceInput(dialect, common, values, typed)


def _clean(spec: FieldSpec, raw: Any, errors: dict[str, str]) -> Any:
    try:
        return spec.clean(raw)
    except FieldInvalid as exc:
        errors[spec.name] = str(exc)
        return None


def verify_input(raw: Mapping[str, Any], existing: Source | None = None,
                 org: Organization | None = None, *, name_required: bool = True
                 ) -> VerifyResult:
    """Validate, then walk the verify ladder. Stores nothing but an audit event.

    Raises ValidationFailed, VerifyBusy (no verify slot free: nothing tried, nothing audited)
    or ConnectionFailed (with the ladder's steps). The audit event and the verify slot belong
    to `org`, else the existing source's organization, else the requester's.
    """
    started = time.monotonic()
    data = clean_input(raw, existing, name_required=name_required)
    fields_ms = int((time.monotonic() - started) * 1000)
    try:
        result = _verify_in_slot(_verify_org_id(org, existing), data, fields_ms)
    except ConnectionFailed as failure:
        _audit_verify(org, existing, data, {"result": "failure", "step": failure.step,
                                            "fields": sorted(failure.field_errors)})
        raise
    _audit_verify(org, existing, data, {"result": "success"})
    return result


def _verify_in_slot(org_id: int | None, data: SourceInput, fields_ms: int = 0) -> VerifyResult:
    """Walk the ladder in one of the process's verify slots (connect/verify_pool.py): a verify
    and the verify a save makes share them. Raises VerifyBusy when none is free."""
    timeout = current_app.config["VERIFY_TIMEOUT"]
    return verify_pool.run(org_id, timeout,
                           lambda: verify(data.dialect, data.values, timeout, fields_ms))


def _verify_org_id(org: Organization | None, existing: Source | None) -> int | None:
    return (org.id if org is not None else existing.organization_id if existing is not None
            else audit.request_organization_id())


def _audit_verify(org: Organization | None, existing: Source | None, data: SourceInput,
                  details: dict[str, Any]) -> None:
    org_id = _verify_org_id(org, existing)
    if org_id is None:
        return
    audit.record(org_id, "source.verified", target_type="source",
                 target_id=existing.id if existing is not None else None,
                 target_name=data.display_name,
                 details={**details, "dialect": data.dialect.key})
    db.session.commit()


def _check_name(org: Organization, name: str, exclude_id: int | None = None) -> None:
    """DuplicateName when another source of `org` has the same name key (webapp/names.py)."""
    query = select(Source.display_name).where(
        Source.organization_id == org.id, Source.name_key == name_key(name))
    if exclude_id is not None:
        query = query.where(Source.id != exclude_id)
    taken = db.session.scalar(query.limit(1))
    if taken is not None:
        raise _duplicate(name, taken)


def _duplicate(name: str, taken: str | None = None) -> DuplicateName:
    same = "" if taken is None or taken == name else (
        f" as {taken!r} (names are compared ignoring case, letter width and how accents "
        "are encoded)")
    return DuplicateName(f"A data source named {name!r} already exists{same}.",
                         {"displayName": "This name is already used"})


def _apply(source: Source, data: SourceInput) -> None:
    source.dialect = data.dialect.key
    for name, column in SOURCE_COLUMNS.items():
        setattr(source, column, data.common[name])
    settings: dict[str, Any] = {}
    for spec in data.dialect.fields:
        if spec.secret:
            continue
        if spec.name in COLUMNS:
            setattr(source, COLUMNS[spec.name], data.values.get(spec.name))
        else:
            settings[spec.name] = data.values.get(spec.name)
    source.settings = settings
    secrets = {n: data.values[n] for n in data.dialect.secret_names if data.values.get(n)}
    source.secrets_blob = vault().encrypt(secrets) if secrets else None


def create_source(org: Organization, raw: Mapping[str, Any], *, demo: bool = False) -> Source:
    """Validate, verify, store with secrets encrypted, and start the first sync.

    `demo` marks Datadock's own demo source (webapp/demo.py): shown as "Demo" everywhere.
    """
    data = clean_input(raw)
    _check_name(org, data.display_name)
    _verify_in_slot(org.id, data)
    source = Source(organization_id=org.id, is_demo=demo)
    _apply(source, data)
    if org.trial_started_at is None:
        org.trial_started_at = utcnow()
    db.session.add(source)
    _flush_or_duplicate(data.display_name)  # the id is known; the audit event commits with it
    audit.record(org.id, "source.created", target_type="source", target_id=source.id,
                 target_name=source.display_name,
                 details={"dialect": source.dialect, **({"demo": True} if demo else {})})
    db.session.commit()
    request_sync(source, trigger="create")
    return source


def update_source(source: Source, raw: Mapping[str, Any], unset: Collection[str] = ()
                  ) -> Source:
    """Validate (blank secrets keep the saved ones), verify again, store, resync.

    Fields missing from `raw` keep their stored values (PATCH semantics for the API; the form
    always sends every field). Secrets named in `unset` are forgotten.
    """
    merged = {"dialect": source.dialect, **source_field_values(source),
              **public_values(source), **raw}
    data = clean_input(merged, existing=source, unset=unset)
    org = db.session.get(Organization, source.organization_id)
    assert org is not None
    _check_name(org, data.display_name, exclude_id=source.id)
    _verify_in_slot(org.id, data)
    before = _audited_values(source)
    _apply(source, data)
    after = _audited_values(source)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    audit.record(org.id, "source.updated", target_type="source", target_id=source.id,
                 target_name=data.display_name, details={"changed": changed})
    _flush_or_duplicate(data.display_name)
    db.session.commit()
    request_sync(source, trigger="update")
    return source


def _audited_values(source: Source) -> dict[str, Any]:
    """Every field of the source by name, secrets included: compared, never recorded."""
    return {"dialect": source.dialect, **source_field_values(source),
            **public_values(source), **vault().decrypt(source.secrets_blob)}


def _flush_or_duplicate(name: str) -> None:
    """Write the pending changes (not yet committed); a name taken meanwhile is DuplicateName."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate(name) from None


def delete_source(source: Source) -> None:
    """Remove the source, its secrets and its snapshots (history and health by cascade)."""
    audit.record(source.organization_id, "source.deleted", target_type="source",
                 target_id=source.id, target_name=source.display_name,
                 details={"dialect": source.dialect})
    source.current_snapshot_id = None
    db.session.flush()
    snapshot_ids = select(SchemaSnapshot.id).where(SchemaSnapshot.source_id == source.id)
    db.session.execute(SchemaTable.__table__.delete().where(
        SchemaTable.snapshot_id.in_(snapshot_ids)))
    db.session.execute(SchemaSnapshot.__table__.delete().where(
        SchemaSnapshot.source_id == source.id))
    db.session.delete(source)
    db.session.commit()


def list_sources(org: Organization) -> list[Source]:
    """The organization's sources, by name (their name keys: case and width ignored)."""
    return list(db.session.scalars(
        select(Source).where(Source.organization_id == org.id)
        .order_by(Source.name_key, Source.id)))


def list_sources_page(org: Organization, limit: int, before_id: int | None = None
                      ) -> tuple[list[Source], bool]:
    """Newest first, `limit` at most, those created before source `before_id` (the API's
    cursor); returns the page and whether more follow."""
    query = select(Source).where(Source.organization_id == org.id)
    if before_id is not None:
        query = query.where(Source.id < before_id)
    rows = list(db.session.scalars(query.order_by(Source.id.desc()).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def get_source_by_name(org: Organization, name: str) -> Source | None:
    """The organization's source with this display name, compared by name key (case, width,
    Unicode form and invisible characters ignored), or None."""
    return db.session.scalar(select(Source).where(
        Source.organization_id == org.id, Source.name_key == name_key(name)).limit(1))


def get_source(org: Organization, source_id: int) -> Source | None:
    """One source of the organization, or None (also for another organization's source)."""
    source = db.session.get(Source, source_id)
    return source if source is not None and source.organization_id == org.id else None


def request_sync(source: Source, trigger: str = "manual") -> SyncRun:
    """Mark the source PENDING and due now; the scheduler's next tick (woken now) claims it.

    Queues a SyncRun ("manual", "api", "webhook", "create", "update"), or joins the one already
    waiting, and returns it. A request other than the one that follows a create or an update
    is audited.
    """
    if trigger not in ("create", "update"):
        audit.record(source.organization_id, "source.sync_requested", target_type="source",
                     target_id=source.id, target_name=source.display_name,
                     details={"trigger": trigger},
                     actor="webhook" if trigger == "webhook" else None)
    run = runs.queue_run(source.id, trigger)
    source.last_sync_status = SyncStatus.PENDING.value
    source.next_sync_at = utcnow()
    db.session.commit()
    scheduler.wake(current_app._get_current_object())  # type: ignore[attr-defined]
    return run


def snapshot_tables(source: Source, search: str = "", limit: int = 200,
                    offset: int = 0) -> tuple[list[SchemaTable], int]:
    """Tables of the source's last good snapshot, filtered by name, with the total count."""
    if source.current_snapshot_id is None:
        return [], 0
    query = select(SchemaTable).where(SchemaTable.snapshot_id == source.current_snapshot_id)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(func.lower(SchemaTable.schema_name + "." + SchemaTable.name)
                            .like(pattern))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(SchemaTable.schema_name, SchemaTable.name)
                              .limit(limit).offset(offset))
    return list(rows), total


def sync_history(source: Source, limit: int = 20, offset: int = 0
                 ) -> tuple[list[SyncRun], int]:
    """The source's sync runs (queued, running, finished), newest first, with the total.

    A run's `changes` lists what changed since the previous sync (jobs/diff.py's shape).
    """
    return runs.sync_history(source.id, limit, offset)


def health_uptime(source: Source, window: str = "24h") -> health.Uptime:
    """The source's health over `window` ("24h", "7d", "30d") in buckets, for display."""
    return health.uptime(source.id, window)


def health_history(source: Source, since: datetime | None = None,
                   limit: int = 1000) -> list[HealthCheck]:
    """The source's health checks since `since` (default: a day ago), oldest first."""
    return health.health_history(source.id, since, limit)


def request_health_check(source: Source) -> None:
    """Check the source's health at the next tick (woken now)."""
    health.request_health_check(source)
    scheduler.wake(current_app._get_current_object())  # type: ignore[attr-defined]


class WebhookRefused(SourceError):
    """No source with that id, or not its webhook token (the two are not told apart)."""

    title = "Unauthorized"
    status = 401


class WebhookThrottled(SourceError):
    """The source's webhook was called too often; `retry_after_ms` says when to call again."""

    title = "RateLimitExceeded"
    status = 429

    def __init__(self, detail: str, retry_after_ms: int) -> None:
        super().__init__(detail)
        self.retry_after_ms = retry_after_ms


# Webhook calls one source accepts per minute (a call while a sync is queued joins it).
WEBHOOK_RATE = (30, 60)


def create_webhook_token(source: Source) -> str:
    """A new webhook token for the source, replacing any earlier one; returned this once."""
    token = webhooks.create_token(source)
    audit.record(source.organization_id, "source.webhook_created", target_type="source",
                 target_id=source.id, target_name=source.display_name)
    db.session.commit()
    return token


def revoke_webhook_token(source: Source) -> None:
    """The source's webhook URL stops working."""
    webhooks.revoke_token(source)
    audit.record(source.organization_id, "source.webhook_revoked", target_type="source",
                 target_id=source.id, target_name=source.display_name)
    db.session.commit()


def webhook_sync(source_id: int, token: str | None) -> tuple[Source, SyncRun]:
    """Queue a sync of source `source_id` for a caller holding its webhook token.

    Raises WebhookRefused (unknown source or wrong token, told apart by nobody) or
    WebhookThrottled (more than WEBHOOK_RATE calls per window for this source).
    """
    source = db.session.get(Source, source_id)
    if not webhooks.token_matches(source, token):
        raise WebhookRefused("This webhook URL is not valid: the source does not exist or its "
                             "token was rotated or revoked.")
    assert source is not None
    limit, window = WEBHOOK_RATE
    decision = ratelimit.hit("webhook", str(source.id), limit, window)
    if not decision.allowed:
        raise WebhookThrottled(
            f"This webhook was called more than {limit} times in {window} s. Try again in "
            f"{decision.retry_after_seconds} s.", decision.retry_after_ms)
    return source, request_sync(source, trigger="webhook")


__all__ = ["ConnectionFailed", "DuplicateName", "SourceError", "ValidationFailed", "VerifyBusy",
           "clean_input", "create_source", "delete_source", "get_source", "list_sources",
           "get_source_by_name", "list_sources_page",
           "public_values", "request_sync", "saved_secret_names", "snapshot_tables",
           "update_source", "verify_input",
           "WebhookRefused", "WebhookThrottled", "create_webhook_token", "health_history",
           "health_uptime", "request_health_check", "revoke_webhook_token", "sync_history",
           "webhook_sync"]
