"""The public JSON API under /api/public, on the Basedash data source contract.

Bearer API keys only (no cookies, so no CSRF), one error shape, rate limits per key, an OpenAPI
document generated from the field declarations. Every route calls the use-cases in
webapp/sources/; nothing here talks to a driver, the ORM session or repeats a field rule.
"""

from __future__ import annotations

from flask import Blueprint

from ..api_keys import API_PATH as PREFIX

bp = Blueprint("api", __name__, url_prefix=PREFIX)

from . import (  # noqa: E402,F401  (routes and hooks register on bp)
    catalog,
    data_sources,
    docs,
    errors,
    guard,
    members,
    notification_channels,
)
