"""Fields every source has whatever its dialect: its name, description, sync settings and
schedule (jobs/schedules.py).

Declared once, like a dialect's fields: the form, the API's validation, the OpenAPI schema and
the stored columns all follow from SOURCE_FIELDS.
"""

from __future__ import annotations

import re
from typing import Any

from .core.fields import FieldInvalid, FieldSpec
from .jobs.schedules import (
    DEFAULT_SCHEDULE,
    DEFAULT_TIME,
    DEFAULT_TIMEZONE,
    check_schedule,
    check_time,
    check_timezone,
)
from .models import Source
from .names import name_problem, text_problem

_PATTERN = re.compile(r"^[A-Za-z0-9_$*?.\- ]+$")


def check_schema_patterns(value: str | None) -> None:
    """Comma-separated schema names or globs (`public, analytics_*`)."""
    for pattern in (p.strip() for p in re.split(r"[,\n]", value or "")):
        if pattern and not _PATTERN.match(pattern):
            raise FieldInvalid(
                f"{pattern!r} is not a schema pattern: use names, * and ?, separated by commas"
            )


def check_display_name(value: str) -> None:
    """Valid, visible text (webapp/names.py): no control, format or zero-width characters."""
    problem = name_problem(value)
    if problem:
        raise FieldInvalid(problem)


def check_description(value: str) -> None:
    """Text that can be stored (no lone surrogates)."""
    problem = text_problem(value, "Description")
    if problem:
        raise FieldInvalid(problem)


DISPLAY_NAME = FieldSpec(
    name="displayName",
    label="Display name",
    required=True,
    max_length=120,
    placeholder="Production database",
    checks=(check_display_name,),
)

SOURCE_FIELDS: tuple[FieldSpec, ...] = (
    DISPLAY_NAME,
    FieldSpec(
        name="description",
        label="Description",
        kind="textarea",
        max_length=2000,
        checks=(check_description,),
        help="What this database holds, for your team.",
    ),
    FieldSpec(
        name="includeSchemas",
        label="Schemas to sync",
        max_length=2000,
        placeholder="public, analytics_*",
        checks=(check_schema_patterns,),
        help="Comma-separated names or patterns (* and ?). Blank syncs every schema.",
    ),
    FieldSpec(
        name="excludeSchemas",
        label="Schemas to skip",
        max_length=2000,
        placeholder="pg_temp*, scratch",
        checks=(check_schema_patterns,),
        help="Skipped even when they match the schemas to sync.",
    ),
    FieldSpec(
        name="maxPoolSize",
        label="Max pool size",
        kind="integer",
        min_value=1,
        max_value=100,
        default=10,
        help="Most connections Datadock opens to this source at once (1–100).",
    ),
)

# When the source syncs and is checked, and when its failures are worth an alert.
SCHEDULE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        name="syncSchedule",
        label="Sync schedule",
        max_length=100,
        default=DEFAULT_SCHEDULE,
        placeholder="daily, or 0 3 * * 1-5",
        checks=(check_schedule,),
        help="interval (every DATADOCK_SYNC_INTERVAL seconds), manual, hourly, daily, "
        "weekly, or a 5-field cron expression in the time zone below.",
    ),
    FieldSpec(
        name="syncTime",
        label="Sync time",
        max_length=5,
        default=DEFAULT_TIME,
        placeholder="03:30",
        checks=(check_time,),
        help="HH:MM for daily and weekly (Mondays) syncs; hourly uses its minutes.",
    ),
    FieldSpec(
        name="syncTimezone",
        label="Time zone",
        max_length=64,
        default=DEFAULT_TIMEZONE,
        placeholder="Europe/Berlin",
        checks=(check_timezone,),
        help="An IANA time zone name for the sync time and cron expression.",
    ),
    FieldSpec(
        name="healthCheckIntervalMinutes",
        label="Health check every (minutes)",
        kind="integer",
        min_value=1,
        max_value=1440,
        default=5,
        help="Minutes between scheduled health checks (1–1440).",
    ),
    FieldSpec(
        name="alertAfterFailures",
        label="Alert after failed checks",
        kind="integer",
        min_value=1,
        max_value=100,
        default=2,
        help="Consecutive failed health checks before the source counts as unhealthy "
        "for alerts (1–100).",
    ),
    FieldSpec(
        name="paused",
        label="Paused",
        kind="boolean",
        default=False,
        help="A paused source runs no scheduled sync or health check; Sync now and "
        "Check now still work.",
    ),
)
SOURCE_FIELDS = (*SOURCE_FIELDS, *SCHEDULE_FIELDS)

# API name → Source column.
SOURCE_COLUMNS = {
    "displayName": "display_name",
    "description": "description",
    "includeSchemas": "include_schemas",
    "excludeSchemas": "exclude_schemas",
    "maxPoolSize": "max_pool_size",
    "syncSchedule": "sync_schedule",
    "syncTime": "sync_time",
    "syncTimezone": "sync_timezone",
    "healthCheckIntervalMinutes": "health_check_interval_minutes",
    "alertAfterFailures": "alert_after_failures",
    "paused": "paused",
}


def source_field_values(source: Source) -> dict[str, Any]:
    """The stored values of SOURCE_FIELDS under their API names."""
    return {name: getattr(source, column) for name, column in SOURCE_COLUMNS.items()}
