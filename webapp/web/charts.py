"""Geometry for the server-rendered uptime SVG: a bar per bucket, its height the mean latency,
a strip under it coloured by health. Colours are SVG attributes (the CSP allows no inline
style), and each bar carries a <title> for its numbers."""

from __future__ import annotations

from dataclasses import dataclass

from ..sources import Bucket, Uptime

WIDTH, HEIGHT = 600, 84
LATENCY_TOP, LATENCY_BOTTOM = 4, 62  # the latency bars' band
STRIP_Y, STRIP_H = 66, 14
GAP = 2
FILLS = {"up": "#17743d", "partial": "#d49b00", "down": "#b42318", "none": "#d9dee8"}
LATENCY_FILL = "#9db4f2"
STATE_WORDS = {
    "up": "all healthy",
    "partial": "some checks failed",
    "down": "all checks failed",
    "none": "no checks",
}


@dataclass(frozen=True)
class Bar:
    """One bucket drawn: where, how tall, which colour, what its tooltip says."""

    x: float
    width: float
    latency_y: float
    latency_height: float
    fill: str
    state: str
    title: str


def _title(bucket: Bucket) -> str:
    when = f"{bucket.start:%b %d %H:%M}–{bucket.end:%H:%M} UTC"
    if not bucket.checks:
        return f"{when}: no checks"
    latency = f", {bucket.latency_avg} ms on average" if bucket.latency_avg is not None else ""
    return (
        f"{when}: {bucket.healthy} of {bucket.checks} checks healthy"
        f" ({STATE_WORDS[bucket.state]}){latency}"
    )


def uptime_chart(uptime: Uptime) -> dict:
    """The bars, the latency that the full height stands for, and the SVG's size."""
    count = len(uptime.buckets) or 1
    step = WIDTH / count
    scale = max((b.latency_avg or 0 for b in uptime.buckets), default=0) or 1
    band = LATENCY_BOTTOM - LATENCY_TOP
    bars = []
    for i, bucket in enumerate(uptime.buckets):
        height = 0.0
        if bucket.latency_avg is not None:
            height = max(2.0, band * bucket.latency_avg / scale)
        bars.append(
            Bar(
                round(i * step + GAP / 2, 2),
                round(step - GAP, 2),
                round(LATENCY_BOTTOM - height, 2),
                round(height, 2),
                FILLS[bucket.state],
                bucket.state,
                _title(bucket),
            )
        )
    minutes = round((uptime.end - uptime.start).total_seconds() / 60 / count)
    per = f"{minutes} minutes" if minutes < 120 else f"{round(minutes / 60)} hours"
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "scale_ms": scale,
        "per": per,
        "strip_y": STRIP_Y,
        "strip_height": STRIP_H,
        "latency_fill": LATENCY_FILL,
    }
