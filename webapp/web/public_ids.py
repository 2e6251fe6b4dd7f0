"""A source's public UUID on the pages: /sources/<uuid>[/…] leads to the same page by id
(308 keeps the method and the form, CSRF token included)."""

from __future__ import annotations

import uuid

from flask import abort, redirect, request
from werkzeug.wrappers import Response

from .. import sources as uc
from . import bp
from .access import current_org, viewer_required


@bp.route("/sources/<uuid:public_id>", methods=["GET", "POST"])
@bp.route("/sources/<uuid:public_id>/<path:rest>", methods=["GET", "POST"])
@viewer_required
def source_by_public_id(public_id: uuid.UUID, rest: str = "") -> Response:
    """The page of the organization's source with this public UUID (each page checks its
    own role after the redirect); 404 for another organization's or none."""
    source = uc.get_source(current_org(), str(public_id))
    if source is None:
        abort(404)
    target = f"/sources/{source.id}" + (f"/{rest}" if rest else "")
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, code=308)
