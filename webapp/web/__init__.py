"""Server-rendered pages and the htmx partials they ask for."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import auth, source_pages  # noqa: E402,F401  (routes register on bp)
