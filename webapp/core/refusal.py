"""The one refusal type: "this input or this connection is refused", with the API's shape.

Every layer raises a `Refusal` (or one of its kinds below) and every face turns it into its
answer the same way: `title` and `status` are the kind's, `detail` is the banner text,
`field_errors` an error per field (safe to show), `step` the verify rung it came from and
`steps` the ladder as walked. A refusal is immutable: code that learns more (the ladder that
attaches its steps, a step that reclassifies a timeout) makes a changed copy with
`replace()`/`with_steps()`. Only Python's own exception bookkeeping (`__traceback__`,
`__cause__`, `__context__`, `__notes__`) may still be set on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self

_EMPTY: Mapping[str, str] = MappingProxyType({})


def _frozen_errors(errors: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(errors)) if errors else _EMPTY


def _frozen_steps(steps: Iterable[Mapping[str, Any]] | None) -> tuple[Mapping[str, Any], ...]:
    return tuple(MappingProxyType(dict(step)) for step in steps or ())


class Refusal(Exception):
    """Input or a connection is refused; everything on it is safe to show to the user."""

    title: ClassVar[str] = "ValidationError"
    status: ClassVar[int] = 400
    # The attributes a copy carries over (subclasses add theirs).
    _fields: ClassVar[tuple[str, ...]] = ("detail", "field_errors", "step", "steps")

    detail: str
    field_errors: Mapping[str, str]
    step: str | None
    steps: tuple[Mapping[str, Any], ...]

    def __init__(
        self,
        detail: str,
        field_errors: Mapping[str, str] | None = None,
        *,
        step: str | None = None,
        steps: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(detail)
        self._set(detail=detail, field_errors=field_errors, step=step, steps=steps)

    def _set(self, **values: Any) -> None:
        """Store attributes once (at creation or on a fresh copy), normalised to read-only."""
        for name, value in values.items():
            if name == "field_errors":
                value = _frozen_errors(value)
            elif name == "steps":
                value = _frozen_steps(value)
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("__") and name.endswith("__"):  # __traceback__, __cause__, __notes__
            super().__setattr__(name, value)
            return
        raise AttributeError(
            f"{type(self).__name__} is immutable: use replace() to change {name!r}"
        )

    def __delattr__(self, name: str) -> None:
        if name.startswith("__") and name.endswith("__"):
            super().__delattr__(name)
            return
        raise AttributeError(f"{type(self).__name__} is immutable: {name!r} cannot be deleted")

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` applied (the same kind; cause and traceback are not copied)."""
        unknown = set(changes) - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        state = {name: getattr(self, name) for name in self._fields} | changes
        copy = type(self).__new__(type(self))
        Exception.__init__(copy, state["detail"])
        copy._set(**state)
        return copy

    def with_steps(self, steps: Iterable[Mapping[str, Any]]) -> Self:
        """A copy carrying the verify ladder's steps."""
        return self.replace(steps=steps)

    def at_step(self, step: str) -> Self:
        """A copy attributed to another verify step."""
        return self.replace(step=step)

    def __reduce__(self) -> tuple[Any, ...]:
        # copy.copy and pickle rebuild from the fields, whatever the kind's constructor takes.
        state = {name: getattr(self, name) for name in self._fields}
        state["field_errors"] = dict(self.field_errors)
        state["steps"] = [dict(step) for step in self.steps]
        return _rebuild, (type(self), state)

    def __str__(self) -> str:
        return self.detail

    def __repr__(self) -> str:
        step = f", step={self.step!r}" if self.step else ""
        return f"{type(self).__name__}({self.detail!r}, {dict(self.field_errors)!r}{step})"

    def extra(self) -> dict[str, Any]:
        """Members of the error body beyond title, detail and fieldErrors (`steps`, …)."""
        return {"steps": [dict(s) for s in self.steps]} if self.steps else {}

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries (Retry-After for a rate limit)."""
        return {}

    def body(self) -> dict[str, Any]:
        """The one error shape: {"error": {"title", "detail", "fieldErrors", …}}."""
        return {
            "error": {
                "title": self.title,
                "detail": self.detail,
                "fieldErrors": dict(self.field_errors),
                **self.extra(),
            }
        }


def _rebuild(kind: type[Refusal], state: dict[str, Any]) -> Refusal:
    refusal = kind.__new__(kind)
    Exception.__init__(refusal, state["detail"])
    refusal._set(**state)
    return refusal


class ValidationFailed(Refusal):
    """Fields are missing or malformed; nothing was tried."""


class ConnectionFailed(Refusal):
    """Verify, sync or a health check could not connect (`step` says where)."""

    title: ClassVar[str] = "ConnectionFailed"

    def __init__(
        self,
        step: str,
        detail: str,
        field_errors: Mapping[str, str] | None = None,
        steps: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(detail, field_errors, step=step, steps=steps)


class DuplicateName(Refusal):
    """The display name is already used in the organization."""

    title: ClassVar[str] = "DuplicateName"


class WebhookRefused(Refusal):
    """No source with that id, or not its webhook token (the two are not told apart)."""

    title: ClassVar[str] = "Unauthorized"
    status: ClassVar[int] = 401


class RateLimited(Refusal):
    """Asked too often; `retry_after_ms` says when to ask again (429 with Retry-After)."""

    title: ClassVar[str] = "RateLimitExceeded"
    status: ClassVar[int] = 429
    _fields: ClassVar[tuple[str, ...]] = (*Refusal._fields, "retry_after_ms")

    retry_after_ms: int

    def __init__(self, detail: str, retry_after_ms: int) -> None:
        super().__init__(detail)
        self._set(retry_after_ms=int(retry_after_ms))

    @property
    def retry_after_seconds(self) -> int:
        """`retry_after_ms` rounded up to whole seconds, for a Retry-After header."""
        return max(1, math.ceil(self.retry_after_ms / 1000))

    def extra(self) -> dict[str, Any]:
        """`retryAfterMs` in the error body."""
        return {**super().extra(), "retryAfterMs": self.retry_after_ms}

    def headers(self) -> dict[str, str]:
        """Retry-After in whole seconds."""
        return {"Retry-After": str(self.retry_after_seconds)}


class WebhookThrottled(RateLimited):
    """The source's webhook was called too often."""


class VerifyBusy(RateLimited):
    """No verify slot is free (the process's or the organization's); nothing was tried."""

    _fields: ClassVar[tuple[str, ...]] = (*RateLimited._fields, "in_flight")

    in_flight: int

    def __init__(self, detail: str, retry_after_ms: int, in_flight: int) -> None:
        super().__init__(detail, retry_after_ms)
        self._set(in_flight=int(in_flight))


__all__ = [
    "ConnectionFailed",
    "DuplicateName",
    "RateLimited",
    "Refusal",
    "ValidationFailed",
    "VerifyBusy",
    "WebhookRefused",
    "WebhookThrottled",
]
