"""The source page's job sections: sync history with changes, health with uptime bars, and the
webhook (token shown once, rotate, revoke). Pages call use-cases only (webapp/sources/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import sources as uc
from . import bp
from .access import editor_required, is_admin, viewer_required
from .source_view import detail_page, health_companion, job_context, source_or_404

if TYPE_CHECKING:
    from ..models import Source


def _partial(template: str, source: Source, **extra: Any) -> str:
    return render_template(
        template, source=source, is_admin=is_admin(), **job_context(source, **extra)
    )


@bp.route("/sources/<int:source_id>/history")
@viewer_required
def sync_history(source_id: int) -> str:
    """The sync history section (polls itself while a sync is queued or running)."""
    return _partial("partials/sync_history.html", source_or_404(source_id))


@bp.route("/sources/<int:source_id>/health")
@viewer_required
def health_panel(source_id: int) -> str:
    """The health section for a window (`?window=24h|7d|30d`), with the overview's health
    line out of band (the two never disagree)."""
    source = source_or_404(source_id)
    return _partial("partials/health_panel.html", source) + health_companion(source)


@bp.route("/sources/<int:source_id>/health/check", methods=["POST"])
@editor_required
def check_health_now(source_id: int) -> Any:
    """Make the health check due now."""
    source = source_or_404(source_id)
    uc.request_health_check(source)
    if request.headers.get("HX-Request"):
        return _partial(
            "partials/health_panel.html", source, check_requested=True
        ) + health_companion(source)
    window = request.form.get("window")
    return redirect(url_for("web.source_detail", source_id=source.id, window=window))


@bp.route("/sources/<int:source_id>/webhook", methods=["POST"])
@editor_required
def create_webhook(source_id: int) -> Any:
    """Create (or rotate) the webhook token and show it, this once."""
    source = source_or_404(source_id)
    token = uc.create_webhook_token(source)
    if request.headers.get("HX-Request"):
        body = _partial("partials/webhook.html", source, webhook_token=token)
    else:
        body = detail_page(source, webhook_token=token)  # the whole page, token shown once
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sources/<int:source_id>/webhook/revoke", methods=["POST"])
@editor_required
def revoke_webhook(source_id: int) -> Any:
    """The webhook URL stops working."""
    source = source_or_404(source_id)
    uc.revoke_webhook_token(source)
    if request.headers.get("HX-Request"):
        return _partial("partials/webhook.html", source)
    return _back(source)


def _back(source: Source) -> Response:
    return redirect(url_for("web.source_detail", source_id=source.id))
