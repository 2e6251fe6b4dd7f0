"""GET /api/public/openapi.json: the generated OpenAPI document (public, rate-limited)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from ..openapi import build_document
from . import bp


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3.1 document, built from the dialect declarations."""
    return jsonify(build_document())
