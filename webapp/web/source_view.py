"""The source page and what its sections share: the source (or 404), the schema panel, the
job sections (sync history, health, webhook), the overview's summary. Pages call use-cases only
(webapp/sources/).

The page's sections (templates/sources/detail.html) are Overview · Schema · Health · History ·
Settings: tabs with JavaScript, one page of anchored sections without. The sync panel's poll
also brings the history and the overview's sync line (out of band, from the same reads), so no
two sections ever show a sync in different states."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import abort, render_template, request, url_for

from .. import sources as uc
from ..dialects import get_dialect
from ..sources.projects import project_of
from .access import current_org, is_admin
from .charts import uptime_chart
from .schedule_view import schedule_context

if TYPE_CHECKING:
    from ..models import Source

PAGE_SIZE = 100  # tables per page of the schema panel
HISTORY_PAGE = 10  # sync runs per page of the history
ACTIVE_RUNS = ("QUEUED", "RUNNING")


def source_or_404(source_id: int) -> Source:
    """The organization's source, or 404 (also for another organization's source)."""
    source = uc.get_source(current_org(), source_id)
    if source is None:
        abort(404)
    return source


def _int_arg(name: str) -> int:
    try:
        return max(1, int(request.args.get(name, "1")))
    except ValueError:
        return 1


def schema_panel(source: Source) -> dict[str, Any]:
    """The sync state and a page of the last good snapshot's tables (`?q=` filters them),
    grouped per schema with their counts, keys and anchors (web/schema_browser.py)."""
    from .schema_browser import browse

    search = request.args.get("q", "").strip()[:200]
    page = _int_arg("page")
    tables, total = uc.snapshot_tables(source, search, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return {
        "tables": tables,
        "groups": browse(source, tables, search),
        "total": total,
        "search": search,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "progress": uc.sync_progress(source),
    }


def job_context(source: Source, **extra: Any) -> dict[str, Any]:
    """What the source page's history, health and webhook sections show (`?history=N` and
    `?window=24h|7d|30d` pick the page and the window); `extra` overrides."""
    # "Check now" posts the window it was shown with, so the answer keeps it.
    uptime = uc.health_uptime(source, request.values.get("window", "24h"))
    return {
        **history_context(source),
        "uptime": uptime,
        "chart": uptime_chart(uptime),
        "now_utc": uc.utcnow(),
        "last_check": last_check(source),
        "webhook_token": None,
        "webhook_set": bool(source.webhook_token_hash),
        "webhook_url": url_for("web.webhook_sync", source_id=source.id, _external=True),
        **schedule_context(source),
        **extra,
    }


def history_context(source: Source) -> dict[str, Any]:
    """A page of the sync history (`?history=N`), each run's status as shown."""
    page = _int_arg("history")
    runs, total = uc.sync_history(source, HISTORY_PAGE, (page - 1) * HISTORY_PAGE)
    return {
        "runs": runs,
        "shown_status": shown_statuses(source, runs, page),
        "runs_total": total,
        "history_page": page,
        "max_listed": uc.MAX_LISTED,
        "history_pages": max(1, -(-total // HISTORY_PAGE)),
    }


def last_check(source: Source) -> Any:
    """The source's latest health check, or None."""
    if not source.last_health_check_attempt_at:
        return None
    last = uc.health_history(source, since=source.last_health_check_attempt_at, limit=1)
    return last[-1] if last else None


def shown_statuses(source: Source, runs: list[Any], page: int) -> dict[int, str]:
    """Each run's status as the page shows it: in step with the source's sync status, which the
    schema panel shows (a run is QUEUED or RUNNING only while the source is PENDING).

    The source is read before its runs, so a run may have ended since: while the source still
    reads PENDING, the newest run shows RUNNING until the next poll reads both ended; a newest
    run still active while the source has ended shows the source's outcome (a sync's run and
    its source change in one transaction)."""
    pending = source.last_sync_status == "PENDING"
    shown = {run.id: run.status for run in runs}
    if page != 1 or not runs:
        return shown
    newest = runs[0]
    if pending and not any(run.status in ACTIVE_RUNS for run in runs):
        shown[newest.id] = "RUNNING"
    elif not pending and newest.status in ACTIVE_RUNS:
        shown[newest.id] = source.last_sync_status
    return shown


def connection_summary(source: Source, dialect: Any) -> str:
    """The connection in one line: `user@host:port/database`, SSL and SSH for an engine with a
    host; otherwise the first few fields in use ("Database file shop.sqlite")."""
    values = uc.public_values(source)
    label = dialect.label if dialect else source.dialect
    if dialect is None:
        return label
    specs = {spec.name: spec for spec in dialect.fields}
    host = values.get("host")
    if host:
        where = f"{host}:{values['port']}" if values.get("port") else str(host)
        if values.get("databaseName"):
            where += f"/{values['databaseName']}"
        if values.get("username"):
            where = f"{values['username']}@{where}"
        parts = [label, where]
        if "sslEnabled" in specs:
            parts.append("SSL on" if values.get("sslEnabled") else "SSL off")
        if values.get("sshEnabled") and values.get("sshHost"):
            parts.append(f"through SSH {values['sshHost']}")
        return " · ".join(parts)
    shown = [
        f"{spec.label} {values[spec.name]}"
        for spec in dialect.fields
        if not spec.secret
        and spec.kind not in ("boolean", "textarea")
        and values.get(spec.name) not in (None, "")
        and _applies(spec, values, specs)
    ]
    return " · ".join([label, *shown[:3]])


def sync_companions(source: Source) -> str:
    """What the sync panel's poll brings out of band: the sync history and the overview's sync
    line, rendered from the same reads as the panel (issue 14, bug 8)."""
    context = {"source": source, "oob": True, **history_context(source)}
    return render_template("partials/sync_history.html", **context) + render_template(
        "partials/summary_sync.html", **context
    )


def health_companion(source: Source) -> str:
    """What the health panel's answer brings out of band: the overview's health line."""
    return render_template(
        "partials/summary_health.html",
        source=source,
        oob=True,
        last_check=last_check(source),
        now_utc=uc.utcnow(),
    )


def _applies(spec: Any, values: dict[str, Any], specs: dict[str, Any], depth: int = 0) -> bool:
    """Whether a field is in use: every switch it depends on (`required_if`, chained) is on."""
    switch = spec.required_if
    if switch is None or depth > 8:
        return True
    return bool(values.get(switch)) and (
        switch not in specs or _applies(specs[switch], values, specs, depth + 1)
    )


def fact_rows(source: Source, dialect: Any) -> list[tuple[str, str]]:
    """The connection facts the source page lists: the fields in use (none of a switched-off
    SSL or SSH section), and of the secrets only the names of those actually stored."""
    if dialect is None:
        return []
    values = uc.public_values(source)
    specs = {spec.name: spec for spec in dialect.fields}
    saved = uc.saved_secret_names(source)
    rows = []
    for spec in dialect.fields:
        if spec.secret or not _applies(spec, values, specs):
            continue
        value = values.get(spec.name)
        if spec.kind == "boolean":
            rows.append((spec.label, "on" if value else "off"))
        else:
            rows.append((spec.label, "—" if value is None else str(value)))
    rows += [
        (spec.label, "saved")
        for spec in dialect.fields
        if spec.secret and spec.name in saved and _applies(spec, values, specs)
    ]
    return rows


def detail_page(source: Source, **extra: Any) -> str:
    """The source page; `extra` goes to its job sections (e.g. a webhook token shown once)."""
    dialect = get_dialect(source.dialect)
    return render_template(
        "sources/detail.html",
        source=source,
        is_admin=is_admin(),
        dialect=dialect,
        facts=fact_rows(source, dialect),
        connection=connection_summary(source, dialect),
        public=uc.public_values(source),
        project=project_of(source),
        **schema_panel(source),
        **job_context(source, **extra),
    )
