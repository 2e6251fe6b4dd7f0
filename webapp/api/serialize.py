"""What the API answers with: one function per kind of object, used by every endpoint.

`source_data` is the Basedash data source object: the source-level fields, every public
connection field of the registry (null where the source's dialect has none), and the
lifecycle. Secret fields are never read here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import HealthCheck, HealthStatus, SchemaTable, Source, SyncRun, SyncStatus
from ..records import public_values
from ..source_fields import source_field_values
from ..source_inputs import response_connection_fields, secret_names


def iso(moment: datetime | None) -> str | None:
    """A stored naive-UTC time as RFC 3339 with a Z (2023-11-07T05:31:56.000Z)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def source_data(source: Source) -> dict[str, Any]:
    """The data source object of every answer (create, get, list, update, sync)."""
    public = public_values(source)
    hidden = set(secret_names())
    common = source_field_values(source)
    data: dict[str, Any] = {
        "id": str(source.id),
        "displayName": common.pop("displayName"),
        "description": common.pop("description"),
        "dialect": source.dialect,
    }
    for name in response_connection_fields():
        data[name] = None if name in hidden else public.get(name)
    data.update(common)
    data.update({
        "lastSuccessfulSyncAt": iso(source.last_successful_sync_at),
        "lastSyncStatus": source.last_sync_status or SyncStatus.NEVER_SYNCED.value,
        "lastSyncAttemptAt": iso(source.last_sync_attempt_at),
        "hasCompletedFirstSync": bool(source.has_completed_first_sync),
        "syncErrorMessage": source.sync_error_message,
        "lastHealthyAt": iso(source.last_healthy_at),
        "lastHealthStatus": source.last_health_status,
        "lastHealthCheckAttemptAt": iso(source.last_health_check_attempt_at),
        "isDemo": bool(source.is_demo),
        "isBasedashWarehouse": False,
        "mutatingQueriesEnabled": bool(source.mutating_queries_enabled),
        "createdAt": iso(source.created_at),
        "updatedAt": iso(source.updated_at),
    })
    return data


def table_data(table: SchemaTable) -> dict[str, Any]:
    """A table or view of the last good snapshot, with its columns and foreign keys."""
    return {"schema": table.schema_name, "name": table.name, "kind": table.kind,
            "columns": list(table.columns or []), "foreignKeys": list(table.foreign_keys or []),
            "rowEstimate": table.row_estimate}


def health_data(check: HealthCheck) -> dict[str, Any]:
    """One health check."""
    status = HealthStatus.HEALTHY if check.healthy else HealthStatus.UNHEALTHY
    return {"id": str(check.id), "checkedAt": iso(check.checked_at), "status": status.value,
            "healthy": bool(check.healthy), "latencyMs": check.latency_ms,
            "errorMessage": check.error_message}


def sync_run_data(run: SyncRun) -> dict[str, Any]:
    """One schema sync run and what it changed since the previous one."""
    return {"id": str(run.id), "status": run.status, "trigger": run.trigger,
            "startedAt": iso(run.started_at), "finishedAt": iso(run.finished_at),
            "errorMessage": run.error_message, "tableCount": run.table_count,
            "columnCount": run.column_count, "changeCount": run.change_count,
            "changes": run.changes}
