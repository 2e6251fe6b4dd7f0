"""Other products' field names as Datadock's: the translation the faces of their contracts
(webapp/api/databrain.py, credible.py) declare as data per type, also read by openapi_faces.py.
Imports nothing of the app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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


def translate(
    values: Mapping[str, Any], renames: tuple[Rename, ...], what: str
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


def their_errors(
    errors: Mapping[str, str], renames: tuple[Rename, ...], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
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
