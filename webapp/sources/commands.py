"""Commands that change sources: create, update, delete, and requests for a sync or a health
check. Each is one transaction with its audit event inside it: both are stored, or neither
(any exception rolls the command back)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..core.refusal import DuplicateName, Refusal
from ..extensions import db
from ..jobs import health, runs, scheduler, schedules
from ..models import Organization, SchemaSnapshot, SchemaTable, Source, SyncRun, SyncStatus, utcnow
from ..names import name_key
from ..records import COLUMNS, public_values, vault
from ..source_fields import SOURCE_COLUMNS, source_field_values
from .inputs import SourceInput, clean_input
from .verification import verify_in_slot


@contextmanager
def one_transaction() -> Iterator[None]:
    """Commit what the block wrote (its audit event with it), or roll all of it back."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def _wake_scheduler() -> None:
    """Let the scheduler's next tick come now (after the commit, so it sees the change)."""
    scheduler.wake(current_app._get_current_object())  # type: ignore[attr-defined]


def _check_name(org: Organization, name: str, exclude_id: int | None = None) -> None:
    """DuplicateName when another source of `org` has the same name key (webapp/names.py)."""
    query = select(Source.display_name).where(
        Source.organization_id == org.id, Source.name_key == name_key(name)
    )
    if exclude_id is not None:
        query = query.where(Source.id != exclude_id)
    taken = db.session.scalar(query.limit(1))
    if taken is not None:
        raise _duplicate(name, taken)


def _duplicate(name: str, taken: str | None = None) -> DuplicateName:
    same = (
        ""
        if taken is None or taken == name
        else (
            f" as {taken!r} (names are compared ignoring case, letter width and how accents "
            "are encoded)"
        )
    )
    return DuplicateName(
        f"A data source named {name!r} already exists{same}.",
        {"displayName": "This name is already used"},
    )


def _flush_or_duplicate(name: str) -> None:
    """Write the pending changes (not yet committed); a name taken meanwhile is DuplicateName."""
    try:
        db.session.flush()
    except IntegrityError:
        raise _duplicate(name) from None


def _apply(source: Source, data: SourceInput) -> None:
    source.dialect = data.dialect.key
    for name, column in SOURCE_COLUMNS.items():
        setattr(source, column, data.common[name])
    schedules.reschedule_health(source)  # pause and the health interval take effect now
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


def _audited_values(source: Source) -> dict[str, Any]:
    """Every field of the source by name, secrets included: compared, never recorded."""
    return {
        "dialect": source.dialect,
        **source_field_values(source),
        **public_values(source),
        **vault().decrypt(source.secrets_blob),
    }


def _queue_sync(source: Source, trigger: str) -> SyncRun:
    """Queue a SyncRun (or join the waiting one) and mark the source PENDING and due now, in
    the caller's transaction. A request that is not part of a create or an update is audited."""
    if trigger not in ("create", "update"):
        audit.record(
            source.organization_id,
            "source.sync_requested",
            target_type="source",
            target_id=source.id,
            target_name=source.display_name,
            details={"trigger": trigger},
            actor="webhook" if trigger == "webhook" else None,
        )
    run = runs.queue_run(source.id, trigger)
    source.last_sync_status = SyncStatus.PENDING.value
    source.next_sync_at = utcnow()
    return run


def create_source(
    org: Organization, raw: Mapping[str, Any], *, demo: bool = False, project_id: int | None = None
) -> Source:
    """Validate, verify, store with secrets encrypted, and queue the first sync.

    `demo` marks Datadock's own demo source (webapp/demo.py): shown as "Demo" everywhere;
    `project_id` puts it in a project (sources/projects.py).
    """
    data = clean_input(raw)
    _check_name(org, data.display_name)
    verify_in_slot(org.id, data)
    with one_transaction():
        source = Source(organization_id=org.id, is_demo=demo, project_id=project_id)
        _apply(source, data)
        if org.trial_started_at is None:
            org.trial_started_at = utcnow()
        db.session.add(source)
        _flush_or_duplicate(data.display_name)  # the id is known for the audit event and run
        audit.record(
            org.id,
            "source.created",
            target_type="source",
            target_id=source.id,
            target_name=source.display_name,
            details={"dialect": source.dialect, **({"demo": True} if demo else {})},
        )
        _queue_sync(source, "create")
    _wake_scheduler()
    return source


def update_source(source: Source, raw: Mapping[str, Any], unset: Collection[str] = ()) -> Source:
    """Validate (blank secrets keep the saved ones), verify again, store, queue a resync
    (verify and resync only when a connection field changed: `_connection_changed`).

    Fields missing from `raw` keep their stored values (PATCH semantics for the API; the form
    always sends every field). Secrets named in `unset` are forgotten.
    """
    merged = {
        "dialect": source.dialect,
        **source_field_values(source),
        **public_values(source),
        **raw,
    }
    data = clean_input(merged, existing=source, unset=unset)
    org = db.session.get(Organization, source.organization_id)
    assert org is not None
    _check_name(org, data.display_name, exclude_id=source.id)
    reconnect = _connection_changed(source, data)
    if reconnect:
        verify_in_slot(org.id, data)
    with one_transaction():
        before = _audited_values(source)
        _apply(source, data)
        after = _audited_values(source)
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        audit.record(
            org.id,
            "source.updated",
            target_type="source",
            target_id=source.id,
            target_name=data.display_name,
            details={"changed": changed},
        )
        _flush_or_duplicate(data.display_name)
        if reconnect:
            _queue_sync(source, "update")
    if reconnect:
        _wake_scheduler()
    return source


def _connection_changed(source: Source, data: SourceInput) -> bool:
    """Whether the edit touches how Datadock connects (the dialect or any of its fields,
    secrets included): only then is the connection verified again and the schema re-read. A
    name, description or schedule edit is stored as it is. The saved values are cleaned the
    same way first, so defaults compare equal; saved values that no longer clean count as a
    change."""
    if source.dialect != data.dialect.key:
        return True
    saved = {"dialect": source.dialect, **source_field_values(source), **public_values(source)}
    try:
        before = clean_input(saved, existing=source).values
    except Refusal:
        return True
    return any(before.get(s.name) != data.values.get(s.name) for s in data.dialect.fields)


def delete_source(source: Source) -> None:
    """Remove the source, its secrets and its snapshots (history and health by cascade)."""
    with one_transaction():
        audit.record(
            source.organization_id,
            "source.deleted",
            target_type="source",
            target_id=source.id,
            target_name=source.display_name,
            details={"dialect": source.dialect},
        )
        source.current_snapshot_id = None
        db.session.flush()
        snapshot_ids = select(SchemaSnapshot.id).where(SchemaSnapshot.source_id == source.id)
        db.session.execute(
            SchemaTable.__table__.delete().where(SchemaTable.snapshot_id.in_(snapshot_ids))
        )
        db.session.execute(
            SchemaSnapshot.__table__.delete().where(SchemaSnapshot.source_id == source.id)
        )
        db.session.delete(source)


def request_sync(source: Source, trigger: str = "manual") -> SyncRun:
    """Mark the source PENDING and due now; the scheduler's next tick (woken now) claims it.

    Queues a SyncRun ("manual", "api", "webhook"), or joins the one already waiting, and
    returns it; the request is audited in the same transaction.
    """
    with one_transaction():
        run = _queue_sync(source, trigger)
    _wake_scheduler()
    return run


def request_health_check(source: Source) -> None:
    """Check the source's health at the next tick (woken now)."""
    health.request_health_check(source)
    _wake_scheduler()
