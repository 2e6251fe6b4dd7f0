"""GET /metrics: Prometheus text format, computed from the store at scrape time.

Every value is read from the store when Prometheus scrapes (a custom collector), so whichever
process answers, the figures are the same:

    datadock_sources{health, sync_status, paused}        gauge: sources in each state
    datadock_sync_duration_seconds{status}                gauge histogram: syncs that finished
                                                          in the last WINDOW
    datadock_health_check_latency_seconds{healthy}        gauge histogram: health checks of the
                                                          last WINDOW (their round trip)
    datadock_verify_outcomes_total{result, step}          counter: verifies in the audit log
                                                          (step is "" for a success)
    datadock_notification_deliveries{result}              gauge: stored deliveries by status
                                                          (pending, delivered, failed)
    datadock_job_queue_lag_seconds{kind}                  gauge: now minus the oldest due time
                                                          of work no process has claimed yet
                                                          (0 when nothing waits)

The endpoint is off (404) unless DATADOCK_METRICS_TOKEN is set; then it needs
`Authorization: Bearer <token>`, compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import and_, case, func, or_, select

from .extensions import db
from .models import AuditEvent, Delivery, HealthCheck, Source, SyncRun, utcnow

WINDOW = timedelta(hours=1)
SYNC_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

bp = Blueprint("metrics", __name__)


class StoreCollector:
    """Reads every metric from the store (the app context of the scrape)."""

    def collect(self) -> Iterator[Metric]:
        """The metrics, one family at a time."""
        now = utcnow()
        yield _sources()
        yield _histogram(
            "datadock_sync_duration_seconds",
            "Durations of the schema syncs that finished in the last hour.",
            "status",
            _sync_durations(now),
            SYNC_BUCKETS,
        )
        yield _histogram(
            "datadock_health_check_latency_seconds",
            "Round trips of the health checks of the last hour.",
            "healthy",
            _health_latencies(now),
            LATENCY_BUCKETS,
        )
        yield _verifies()
        yield _deliveries()
        yield _queue_lag(now)


def _sources() -> Metric:
    family = GaugeMetricFamily(
        "datadock_sources",
        "Sources by health, sync status and pause.",
        labels=["health", "sync_status", "paused"],
    )
    rows = db.session.execute(
        select(
            Source.last_health_status, Source.last_sync_status, Source.paused, func.count()
        ).group_by(Source.last_health_status, Source.last_sync_status, Source.paused)
    )
    for health, sync_status, paused, count in rows:
        family.add_metric(
            [
                (health or "UNKNOWN").lower(),
                (sync_status or "").lower(),
                "true" if paused else "false",
            ],
            count,
        )
    return family


def _sync_durations(now: Any) -> dict[str, list[float]]:
    runs = db.session.execute(
        select(SyncRun.status, SyncRun.started_at, SyncRun.finished_at).where(
            SyncRun.finished_at >= now - WINDOW, SyncRun.finished_at.is_not(None)
        )
    )
    seen: dict[str, list[float]] = {}
    for status, started, finished in runs:
        if started is None or finished is None:
            continue
        seen.setdefault(status.lower(), []).append(max(0.0, (finished - started).total_seconds()))
    return seen


def _health_latencies(now: Any) -> dict[str, list[float]]:
    checks = db.session.execute(
        select(HealthCheck.healthy, HealthCheck.latency_ms).where(
            HealthCheck.checked_at >= now - WINDOW
        )
    )
    seen: dict[str, list[float]] = {}
    for healthy, latency_ms in checks:
        seen.setdefault("true" if healthy else "false", []).append((latency_ms or 0) / 1000)
    return seen


def _histogram(
    name: str,
    documentation: str,
    label: str,
    values: dict[str, list[float]],
    bounds: tuple[float, ...],
) -> Metric:
    family = GaugeHistogramMetricFamily(name, documentation, labels=[label])
    for key, observed in sorted(values.items()):
        buckets = [(str(bound), sum(1 for v in observed if v <= bound)) for bound in bounds]
        buckets.append(("+Inf", len(observed)))
        family.add_metric([key], buckets, gsum_value=sum(observed))
    return family


def _verifies() -> Metric:
    family = CounterMetricFamily(
        "datadock_verify_outcomes",
        "Verifies in the audit log by result and failed step.",
        labels=["result", "step"],
    )
    result = AuditEvent.details["result"].as_string()
    step = AuditEvent.details["step"].as_string()
    rows = db.session.execute(
        select(result, step, func.count())
        .where(AuditEvent.action == "source.verified")
        .group_by(result, step)
    )
    for outcome, failed_step, count in rows:
        family.add_metric([str(outcome or "unknown"), str(failed_step or "")], float(str(count)))
    return family


def _deliveries() -> Metric:
    family = GaugeMetricFamily(
        "datadock_notification_deliveries",
        "Stored notification deliveries by result.",
        labels=["result"],
    )
    for status, count in db.session.execute(
        select(Delivery.status, func.count()).group_by(Delivery.status)
    ):
        family.add_metric([status], count)
    return family


def _queue_lag(now: Any) -> Metric:
    family = GaugeMetricFamily(
        "datadock_job_queue_lag_seconds",
        "Now minus the oldest due time of work not yet claimed.",
        labels=["kind"],
    )
    unleased_sync = or_(Source.sync_lease_until.is_(None), Source.sync_lease_until < now)
    unleased_health = or_(Source.health_lease_until.is_(None), Source.health_lease_until < now)
    health_due = case(
        (Source.next_health_at.is_(None), Source.created_at), else_=Source.next_health_at
    )
    oldest_sync = db.session.scalar(
        select(func.min(Source.next_sync_at)).where(Source.next_sync_at <= now, unleased_sync)
    )
    oldest_health = db.session.scalar(
        select(func.min(health_due)).where(
            or_(
                Source.next_health_at <= now,
                and_(Source.next_health_at.is_(None), Source.paused.is_(False)),
            ),
            unleased_health,
        )
    )
    for kind, oldest in (("sync", oldest_sync), ("health", oldest_health)):
        family.add_metric([kind], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return family


def _authorized(token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@bp.get("/metrics")
def metrics() -> Response:
    """The metrics, for a bearer of DATADOCK_METRICS_TOKEN (404 when none is set)."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    if not _authorized(token):
        return Response(
            "Unauthorized: send Authorization: Bearer <DATADOCK_METRICS_TOKEN>\n",
            401,
            {
                "WWW-Authenticate": 'Bearer realm="metrics"',
                "Content-Type": "text/plain; charset=utf-8",
            },
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector())
    body = generate_latest(registry)
    db.session.rollback()
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
