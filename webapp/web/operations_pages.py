"""Operations on a saved source from its page: Test connection (the stored configuration with
its secrets), Pause and Resume, and the form's preview of a schedule's next runs. Pages call
use-cases only (webapp/sources/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import sources as uc
from . import bp
from .access import editor_required
from .schedule_view import run_times
from .source_view import detail_page, source_or_404

SCHEDULE_NAMES = ("syncSchedule", "syncTime", "syncTimezone")


@bp.route("/sources/schedule-preview")
@editor_required
def schedule_preview() -> str:
    """The next three runs of the schedule typed in the form (htmx, as you type); an invalid
    schedule, time or zone puts its error next to its field."""
    raw = {name: request.args.get(name) for name in SCHEDULE_NAMES}
    try:
        errors: Mapping[str, str] = {}
        runs = uc.schedule_preview(raw)
    except uc.ValidationFailed as exc:
        runs, errors = [], exc.field_errors
    return render_template(
        "partials/schedule_preview.html",
        oob=True,
        preview_errors=errors,
        preview_runs=run_times(runs, raw.get("syncTimezone") or "UTC"),
        preview_manual=not errors and not runs,
    )


@bp.route("/sources/<int:source_id>/test", methods=["POST"])
@editor_required
def test_connection(source_id: int) -> Any:
    """Verify the saved configuration with its saved secrets; stores nothing but the audit
    event. htmx gets the result partial, a plain POST the page with the result on it."""
    source = source_or_404(source_id)
    ok, error, status = None, None, 200
    try:
        ok = uc.verify_saved(source)
    except uc.Refusal as exc:
        error, status = exc, (429 if isinstance(exc, uc.VerifyBusy) else 422)
    headers = error.headers() if isinstance(error, uc.VerifyBusy) else {}
    if request.headers.get("HX-Request"):
        return (
            render_template("partials/verify_result.html", ok=ok, error=error, field_errors={}),
            200,
            headers,
        )
    return detail_page(source, ok=ok, error=error), status, headers


@bp.route("/sources/<int:source_id>/pause", methods=["POST"])
@editor_required
def pause_source(source_id: int) -> Response:
    """Stop the source's scheduled syncs and health checks."""
    source = uc.pause_source(source_or_404(source_id))
    flash(
        f"Paused {source.display_name}: no scheduled sync or health check runs until you "
        "resume it. Sync now and Check now still work."
    )
    return redirect(url_for("web.source_detail", source_id=source.id))


@bp.route("/sources/<int:source_id>/resume", methods=["POST"])
@editor_required
def resume_source(source_id: int) -> Response:
    """Schedule the source's syncs and health checks again."""
    source = uc.resume_source(source_or_404(source_id))
    flash(f"Resumed {source.display_name}: its schedule applies again.")
    return redirect(url_for("web.source_detail", source_id=source.id))
