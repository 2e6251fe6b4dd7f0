"""Field specifications: the one declaration of an input (name, label, type, rules).

Dialects and the source-level fields declare their inputs as FieldSpecs; the form, the API's
validation, OpenAPI and the encrypted blob all follow from them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

FieldKind = Literal["text", "integer", "password", "boolean", "textarea", "select"]

_TRUE = {"true", "on", "1", "yes", "y"}
_FALSE = {"false", "off", "0", "no", "n", ""}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FieldInvalid(ValueError):
    """A value does not satisfy its field's declaration; the message is shown under the field."""


@dataclass(frozen=True)
class FieldSpec:
    """One input of a dialect: its API name, label, type and rules."""

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = False
    secret: bool = False
    default: Any = None
    help: str = ""
    placeholder: str = ""
    max_length: int = 255
    min_value: int | None = None
    max_value: int | None = None
    checks: tuple[Callable[[Any], None], ...] = field(default=())
    # Only asked for (and required) when this boolean field is on, e.g. "sshEnabled".
    required_if: str | None = None
    # Choices for a select: (value, label) pairs.
    choices: tuple[tuple[str, str], ...] = ()
    # The engine's own docs page about this input (https), linked beside its help on the form.
    docs: str = ""

    def clean(self, raw: Any) -> Any:
        """Return the typed value of `raw`, or raise FieldInvalid with a message for the user.

        An omitted value (None: a JSON field left out, a URL without a port) takes the default;
        a value cleared in the form ("") of a required field is an error.
        """
        if raw is None and self.default is not None:
            return self.default
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and self.kind != "boolean"):
            if self.required:
                raise FieldInvalid(f"{self.label} is required")
            return self.default
        if self.kind == "boolean":
            value: Any = _clean_bool(raw)
        elif self.kind == "select":
            value = raw.strip() if isinstance(raw, str) else raw
            if value not in {c[0] for c in self.choices}:
                allowed = ", ".join(c[0] for c in self.choices)
                raise FieldInvalid(f"{self.label} must be one of: {allowed}")
        elif self.kind == "integer":
            value = self._clean_int(raw)
        else:
            value = self._clean_text(raw)
        for check in self.checks:
            check(value)
        return value

    def _clean_text(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise FieldInvalid(f"{self.label} must be text")
        # Secrets and pasted keys keep their exact bytes; other text loses stray spaces.
        value = raw if self.secret or self.kind == "textarea" else raw.strip()
        if len(value) > self.max_length:
            raise FieldInvalid(f"{self.label} must be at most {self.max_length} characters")
        if self.kind != "textarea" and _CONTROL.search(value):
            raise FieldInvalid(f"{self.label} must not contain control characters")
        return value

    def _clean_int(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise FieldInvalid(f"{self.label} must be a whole number")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,10}\s*", raw):
            value = int(raw)
        else:
            raise FieldInvalid(f"{self.label} must be a whole number")
        low, high = self.min_value, self.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            raise FieldInvalid(f"{self.label} must be between {low} and {high}")
        return value


def _clean_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise FieldInvalid("Must be true or false")
