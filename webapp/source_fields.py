"""Fields every source has whatever its dialect: its name, description and sync settings.

Declared once, like a dialect's fields: the form, the API's validation, the OpenAPI schema and
the stored columns all follow from SOURCE_FIELDS.
"""

from __future__ import annotations

import re
from typing import Any

from .core.fields import FieldInvalid, FieldSpec
from .models import Source
from .names import name_problem, text_problem

_PATTERN = re.compile(r"^[A-Za-z0-9_$*?.\- ]+$")


def check_schema_patterns(value: str | None) -> None:
    """Comma-separated schema names or globs (`public, analytics_*`)."""
    for pattern in (p.strip() for p in re.split(r"[,\n]", value or "")):
        if pattern and not _PATTERN.match(pattern):
            raise FieldInvalid(
                f"{pattern!r} is not a schema pattern: use names, * and ?, separated by commas")


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


DISPLAY_NAME = FieldSpec(name="displayName", label="Display name", required=True,
                         max_length=120, placeholder="Production database",
                         checks=(check_display_name,))

SOURCE_FIELDS: tuple[FieldSpec, ...] = (
    DISPLAY_NAME,
    FieldSpec(name="description", label="Description", kind="textarea", max_length=2000,
              checks=(check_description,), help="What this database holds, for your team."),
    FieldSpec(name="includeSchemas", label="Schemas to sync", max_length=2000,
              placeholder="public, analytics_*", checks=(check_schema_patterns,),
              help="Comma-separated names or patterns (* and ?). Blank syncs every schema."),
    FieldSpec(name="excludeSchemas", label="Schemas to skip", max_length=2000,
              placeholder="pg_temp*, scratch", checks=(check_schema_patterns,),
              help="Skipped even when they match the schemas to sync."),
    FieldSpec(name="maxPoolSize", label="Max pool size", kind="integer", min_value=1,
              max_value=100, default=10,
              help="Most connections Datadock opens to this source at once (1–100)."),
)

# API name → Source column.
SOURCE_COLUMNS = {"displayName": "display_name", "description": "description",
                  "includeSchemas": "include_schemas", "excludeSchemas": "exclude_schemas",
                  "maxPoolSize": "max_pool_size"}


def source_field_values(source: Source) -> dict[str, Any]:
    """The stored values of SOURCE_FIELDS under their API names."""
    return {name: getattr(source, column) for name, column in SOURCE_COLUMNS.items()}
