"""The audit log page: who did what to which source or API key, when, from where."""

from __future__ import annotations

from flask import render_template, request

from .. import audit
from . import bp
from .access import admin_required, current_org

PAGE_SIZE = 50


@bp.route("/audit")
@admin_required
def audit_log() -> str:
    """The organization's audit events, newest first, paginated."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    result = audit.page_of_events(current_org().id, page, PAGE_SIZE)
    return render_template(
        "audit/list.html", result=result, actions=audit.ACTIONS, describe=audit.describe
    )
