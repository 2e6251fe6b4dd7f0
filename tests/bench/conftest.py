"""`make bench`'s summary: each bench adds rows (figure, its baseline measured in the same run,
the ratio and the issue's goal) to `figures`; the table prints at the end of the run."""

from __future__ import annotations

import pytest

from tests.bench.figures import Figure

_FIGURES: list[Figure] = []


@pytest.fixture(scope="session")
def figures() -> list[Figure]:
    """Append Figure rows; they print as one table when the run ends."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    rows = [["measure", "figure", "baseline (same run)", "ratio", "goal", "met"]]
    rows += [f.cells() for f in _FIGURES]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    terminalreporter.section("Datadock bench: figures against same-run baselines")
    for n, row in enumerate(rows):
        terminalreporter.write_line(
            "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        )
        if n == 0:
            terminalreporter.write_line("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    terminalreporter.write_line(
        "(min over interleaved rounds on a shared 2-core machine: "
        "figures are noisy; ratios compare runs of the same moment)"
    )
