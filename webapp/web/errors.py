"""Styled 404 and 500 pages for the web UI. The API and its faces keep their JSON errors: their
own blueprint handlers answer first, and for their paths this hands the error back untouched
(their after-request hooks turn it into their JSON shape)."""

from __future__ import annotations

import logging

from flask import render_template, request
from werkzeug.exceptions import HTTPException

from . import bp

log = logging.getLogger(__name__)

# Paths that answer JSON, never a page (the API, the faces, the metrics endpoint).
MACHINE_PATHS = ("/api/", "/v1/", "/metrics", "/hooks/")


def _for_machines() -> bool:
    return request.blueprint not in (None, "web") or request.path.startswith(MACHINE_PATHS)


@bp.app_errorhandler(404)
def not_found(exc: HTTPException) -> HTTPException | tuple[str, int]:
    """The page was not found: say so, with a way back."""
    if _for_machines():
        return exc
    return render_template("errors/404.html"), 404


@bp.app_errorhandler(500)
def server_error(exc: HTTPException) -> HTTPException | tuple[str, int]:
    """Something broke: an apology and the request id, never the traceback."""
    if _for_machines():
        return exc
    try:
        return render_template("errors/500.html"), 500
    except Exception:  # the page itself may be what fails
        log.exception("the error page could not be rendered")
        return "Something went wrong on Datadock's side. The error was logged.", 500
