"""What the API answers with: one function per kind of object, used by every endpoint.

`source_data` is the Basedash data source object, built from its one declaration
(`source_inputs.source_response_fields()`, which openapi.py turns into the `DataSource`
schema): the source-level fields, every public connection field of the registry (null where
the source's dialect has none) and the lifecycle. Secret fields are never read here.
"""

from __future__ import annotations

from typing import Any

from ..models import HealthCheck, HealthStatus, SchemaTable, Source, SyncRun
from ..records import public_values
from ..source_fields import source_field_values
from ..source_inputs import iso, source_response_fields

__all__ = ["health_data", "iso", "source_data", "sync_run_data", "table_data"]


def source_data(source: Source) -> dict[str, Any]:
    """The data source object of every answer (create, get, list, update, sync)."""
    values = {**public_values(source), **source_field_values(source)}
    return {field.name: field.get(source, values) for field in source_response_fields()}


def table_data(table: SchemaTable) -> dict[str, Any]:
    """A table or view of the last good snapshot, with its columns, foreign keys, row estimate
    and comment. Every column carries `default` and `comment` (null when none)."""
    return {
        "schema": table.schema_name,
        "name": table.name,
        "kind": table.kind,
        "comment": table.comment,
        "columns": [
            {**c, "default": c.get("default"), "comment": c.get("comment")}
            for c in table.columns or []
        ],
        "foreignKeys": list(table.foreign_keys or []),
        "rowEstimate": table.row_estimate,
    }


def health_data(check: HealthCheck) -> dict[str, Any]:
    """One health check."""
    status = HealthStatus.HEALTHY if check.healthy else HealthStatus.UNHEALTHY
    return {
        "id": str(check.id),
        "checkedAt": iso(check.checked_at),
        "status": status.value,
        "healthy": bool(check.healthy),
        "latencyMs": check.latency_ms,
        "errorMessage": check.error_message,
    }


def sync_run_data(run: SyncRun) -> dict[str, Any]:
    """One schema sync run and what it changed since the previous one."""
    return {
        "id": str(run.id),
        "status": run.status,
        "trigger": run.trigger,
        "startedAt": iso(run.started_at),
        "finishedAt": iso(run.finished_at),
        "errorMessage": run.error_message,
        "tableCount": run.table_count,
        "columnCount": run.column_count,
        "changeCount": run.change_count,
        "changes": run.changes,
    }
