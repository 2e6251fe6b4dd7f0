"""The source page and what its sections share: the source (or 404), the schema panel, the
job sections (sync history, health, webhook). Pages call use-cases only (webapp/sources/)."""

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
    """The sync state and a page of the last good snapshot's tables (`?q=` filters them)."""
    search = request.args.get("q", "").strip()[:200]
    page = _int_arg("page")
    tables, total = uc.snapshot_tables(source, search, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    return {
        "tables": tables,
        "total": total,
        "search": search,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "progress": uc.sync_progress(source),
    }


def job_context(source: Source, **extra: Any) -> dict[str, Any]:
    """What the source page's history, health and webhook sections show (`?history=N` and
    `?window=24h|7d|30d` pick the page and the window); `extra` overrides."""
    page = _int_arg("history")
    runs, total = uc.sync_history(source, HISTORY_PAGE, (page - 1) * HISTORY_PAGE)
    # "Check now" posts the window it was shown with, so the answer keeps it.
    uptime = uc.health_uptime(source, request.values.get("window", "24h"))
    last = (
        uc.health_history(source, since=source.last_health_check_attempt_at, limit=1)
        if source.last_health_check_attempt_at
        else []
    )
    return {
        "runs": runs,
        "runs_total": total,
        "history_page": page,
        "max_listed": uc.MAX_LISTED,
        "history_pages": max(1, -(-total // HISTORY_PAGE)),
        "uptime": uptime,
        "chart": uptime_chart(uptime),
        "now_utc": uc.utcnow(),
        "last_check": last[-1] if last else None,
        "webhook_token": None,
        "webhook_set": bool(source.webhook_token_hash),
        "webhook_url": url_for("web.webhook_sync", source_id=source.id, _external=True),
        **schedule_context(source),
        **extra,
    }


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
        public=uc.public_values(source),
        project=project_of(source),
        **schema_panel(source),
        **job_context(source, **extra),
    )
