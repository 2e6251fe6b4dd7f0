"""The source page's job sections: sync history with changes, health with uptime bars, and the
webhook (token shown once, rotate, revoke). Pages call use-cases only (webapp/sources.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import sources as uc
from ..jobs.diff import MAX_LISTED
from ..models import Source, utcnow
from . import bp
from .access import admin_required, current_org, is_admin, member_required
from .charts import uptime_chart

HISTORY_PAGE = 10


def _source_or_404(source_id: int) -> Source:
    source = uc.get_source(current_org(), source_id)
    if source is None:
        abort(404)
    return source


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("history", "1")))
    except ValueError:
        return 1


def job_context(source: Source, **extra: Any) -> dict[str, Any]:
    """What the source page's history, health and webhook sections show (`?history=N` and
    `?window=24h|7d|30d` pick the page and the window); `extra` overrides."""
    page = _page_arg()
    runs, total = uc.sync_history(source, HISTORY_PAGE, (page - 1) * HISTORY_PAGE)
    uptime = uc.health_uptime(source, request.args.get("window", "24h"))
    last = (uc.health_history(source, since=source.last_health_check_attempt_at, limit=1)
            if source.last_health_check_attempt_at else [])
    return {"runs": runs, "runs_total": total, "history_page": page, "max_listed": MAX_LISTED,
            "history_pages": max(1, -(-total // HISTORY_PAGE)),
            "uptime": uptime, "chart": uptime_chart(uptime), "now_utc": utcnow(),
            "last_check": last[-1] if last else None,
            "webhook_token": None, "webhook_set": bool(source.webhook_token_hash),
            "webhook_url": url_for("web.webhook_sync", source_id=source.id, _external=True),
            **extra}


def _partial(template: str, source: Source, **extra: Any) -> str:
    return render_template(template, source=source, is_admin=is_admin(),
                           **job_context(source, **extra))


@bp.route("/sources/<int:source_id>/history")
@member_required
def sync_history(source_id: int) -> str:
    """The sync history section (polls itself while a sync is queued or running)."""
    return _partial("partials/sync_history.html", _source_or_404(source_id))


@bp.route("/sources/<int:source_id>/health")
@member_required
def health_panel(source_id: int) -> str:
    """The health section for a window (`?window=24h|7d|30d`)."""
    return _partial("partials/health_panel.html", _source_or_404(source_id))


@bp.route("/sources/<int:source_id>/health/check", methods=["POST"])
@admin_required
def check_health_now(source_id: int) -> Any:
    """Make the health check due now."""
    source = _source_or_404(source_id)
    uc.request_health_check(source)
    if request.headers.get("HX-Request"):
        return _partial("partials/health_panel.html", source, check_requested=True)
    return _back(source)


@bp.route("/sources/<int:source_id>/webhook", methods=["POST"])
@admin_required
def create_webhook(source_id: int) -> Any:
    """Create (or rotate) the webhook token and show it, this once."""
    source = _source_or_404(source_id)
    token = uc.create_webhook_token(source)
    if request.headers.get("HX-Request"):
        body = _partial("partials/webhook.html", source, webhook_token=token)
    else:
        from .source_pages import detail_page  # the whole page, with the token shown once
        body = detail_page(source, webhook_token=token)
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sources/<int:source_id>/webhook/revoke", methods=["POST"])
@admin_required
def revoke_webhook(source_id: int) -> Any:
    """The webhook URL stops working."""
    source = _source_or_404(source_id)
    uc.revoke_webhook_token(source)
    if request.headers.get("HX-Request"):
        return _partial("partials/webhook.html", source)
    return _back(source)


def _back(source: Source) -> Response:
    return redirect(url_for("web.source_detail", source_id=source.id))
