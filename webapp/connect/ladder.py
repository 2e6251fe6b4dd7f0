"""The verify ladder: named steps run in order under one deadline, each timed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

from ..core.refusal import ConnectionFailed
from ..core.steps import LABELS

T = TypeVar("T")


@dataclass
class Step:
    """One rung: `ok`, `failed`, `skipped` (does not apply) or `not_run` (an earlier one failed)."""

    name: str
    label: str
    status: str = "not_run"
    ms: int | None = None
    detail: str = ""

    def as_dict(self) -> dict:
        """The API's shape of a step."""
        return asdict(self)


class Ladder:
    """Runs steps against a shared deadline; the first failure stops it and carries the steps."""

    def __init__(self, names: list[str], timeout: float) -> None:
        self.steps = [Step(name, LABELS[name]) for name in names]
        self.timeout = timeout
        self.started = time.monotonic()

    def remaining(self) -> float:
        """Seconds left of the whole verify's deadline (never below a small floor)."""
        return max(self.timeout - (time.monotonic() - self.started), 0.2)

    def step(self, name: str) -> Step:
        """The step called `name`."""
        return next(s for s in self.steps if s.name == name)

    def run(self, name: str, action: Callable[[], T]) -> T:
        """Time `action` as step `name`; a ConnectionFailed marks it failed and is re-raised."""
        step = self.step(name)
        began = time.monotonic()
        try:
            result = action()
        except ConnectionFailed as failure:
            step.ms = int((time.monotonic() - began) * 1000)
            raise self.fail(failure).with_traceback(failure.__traceback__) from failure.__cause__
        step.status, step.ms = "ok", int((time.monotonic() - began) * 1000)
        return result

    def mark(self, name: str, status: str, ms: int | None = None, detail: str = "") -> None:
        """Set a step's outcome directly (for steps one driver call covers together)."""
        step = self.step(name)
        step.status, step.ms, step.detail = status, ms, detail

    def fail(self, failure: ConnectionFailed) -> ConnectionFailed:
        """Mark the failure's step failed (or the first pending one); returns the failure
        carrying the steps (a refusal is immutable: the copy is what to raise)."""
        names = [s.name for s in self.steps]
        name = (
            failure.step
            if failure.step in names
            else next((s.name for s in self.steps if s.status == "not_run"), names[-1])
        )
        if failure.step == "timeout":
            name = next((s.name for s in self.steps if s.status == "not_run"), names[-1])
        step = self.step(name)
        step.status, step.detail = "failed", failure.detail
        # Steps before the failing one that a single driver call covered did succeed.
        return failure.with_steps([s.as_dict() for s in self.steps])
