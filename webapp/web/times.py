"""Times as pages show them: "3 min ago", with the exact time for a title attribute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from markupsafe import Markup, escape


def ago_text(when: datetime, now: datetime) -> str:
    """How long before `now` `when` was, in the largest whole unit ("just now" under 1 min)."""
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    for size, unit in (
        (86400 * 365, "year"),
        (86400 * 30, "month"),
        (86400, "day"),
        (3600, "h"),
        (60, "min"),
    ):
        if seconds >= size:
            count = seconds // size
            if unit in ("h", "min"):
                return f"{count} {unit} ago"
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns


def relative_time(now: datetime) -> Callable[[datetime | None, str], Markup]:
    """A template helper: `ago(when, never="never")` is a <time> element reading "3 min ago"
    with the exact UTC time in its title and datetime attributes."""

    def ago(when: datetime | None, never: str = "never") -> Markup:
        if when is None:
            return escape(never)
        exact = when.strftime("%Y-%m-%d %H:%M:%S UTC")
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            when.strftime("%Y-%m-%dT%H:%M:%SZ"), exact, ago_text(when, now)
        )

    return ago
