"""A bench figure: what was measured, its baseline measured in the same run, the goal."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figure:
    """One measured figure against its same-run baseline."""

    measure: str
    value: float  # seconds (or MB where unit says so)
    baseline: float | None
    baseline_name: str
    goal: str
    met: bool | None = None
    unit: str = "s"

    def cells(self) -> list[str]:
        fmt = (
            (lambda v: f"{v * 1000:.1f} ms" if v < 1 else f"{v:.2f} s")
            if self.unit == "s"
            else (lambda v: f"{v:.0f} {self.unit}")
        )
        ratio = f"{self.value / self.baseline:.2f}×" if self.baseline else "–"
        base = (
            f"{fmt(self.baseline)} ({self.baseline_name})"
            if self.baseline
            else self.baseline_name or "–"
        )
        met = {True: "yes", False: "NO", None: "–"}[self.met]
        return [self.measure, fmt(self.value), base, ratio, self.goal, met]
