"""Server-rendered pages and the htmx partials they ask for."""

from __future__ import annotations

from flask import Blueprint

bp: Blueprint = Blueprint("web", __name__)

from . import (  # noqa: E402,F401  (routes register on bp)
    activity_pages,
    api_key_pages,
    audit_pages,
    auth,
    catalog_pages,
    connect_pages,
    demo_pages,
    errors,
    hooks,
    job_pages,
    member_pages,
    notification_pages,
    operations_pages,
    public_ids,
    source_pages,
    sso,
)
from .access import nav_context  # noqa: E402
from .sso import sso_context  # noqa: E402

bp.app_context_processor(nav_context)
bp.app_context_processor(sso_context)
