"""Input cleaning shared by every face: a pasted connection string, the dialect's declared
fields, and which saved secrets are kept, forgotten or asked for again."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.fields import FieldInvalid, FieldSpec
from ..core.refusal import ValidationFailed
from ..dialects import DIALECTS, Dialect, get_dialect
from ..dialects.urls import parse_connection_string
from ..models import Source
from ..records import public_values, vault
from ..source_fields import DISPLAY_NAME, SOURCE_FIELDS

CHECK_FIELDS = "Some fields need attention."


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
        raise ValidationFailed(CHECK_FIELDS, {"connectionString": "Paste a connection URL"})
    try:
        dialect, parsed = parse_connection_string(text, set(DIALECTS))
    except FieldInvalid as exc:
        raise ValidationFailed(CHECK_FIELDS, {"connectionString": str(exc)}) from None
    # Fields the user typed win; fields left blank or at their declared default take the string's.
    target = DIALECTS[dialect]
    typed = {
        k: v
        for k, v in data.items()
        if v not in (None, "")
        and not ((spec := target.field(k)) is not None and _is_default(spec, v))
    }
    return {**data, **parsed, **typed, "dialect": dialect}


def _is_default(spec: FieldSpec, value: Any) -> bool:
    try:
        return spec.clean(value) == spec.default
    except FieldInvalid:
        return False


def clean_input(
    raw: Mapping[str, Any],
    existing: Source | None = None,
    *,
    unset: Collection[str] = (),
    name_required: bool = True,
) -> SourceInput:
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
    source_specs = (
        SOURCE_FIELDS
        if name_required
        else tuple(replace(s, required=False) if s is DISPLAY_NAME else s for s in SOURCE_FIELDS)
    )
    common = {spec.name: _clean(spec, raw.get(spec.name), errors) for spec in source_specs}
    if dialect is None:
        raise ValidationFailed(CHECK_FIELDS, errors)

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
            errors[spec.name] = reentry_error(spec.label)
        else:
            values[spec.name] = _clean(spec, raw_value, errors)
    if not errors:
        errors.update(dialect.check_local(values))
    if errors:
        raise ValidationFailed(CHECK_FIELDS, errors)
    return SourceInput(dialect, common, values, typed)


def reentry_error(label: str) -> str:
    """A saved secret's error when the address it was saved for moved (the form's help for the
    field changes with it: web/forms.py)."""
    return (
        f"Enter the {label.lower()} again: the host, port, database or SSH settings changed, "
        "so the saved one is not sent there"
    )


def _clean(spec: FieldSpec, raw: Any, errors: dict[str, str]) -> Any:
    try:
        return spec.clean(raw)
    except FieldInvalid as exc:
        errors[spec.name] = str(exc)
        return None
