"""Explore with a demo database: from the setup page or the empty sources list."""

from __future__ import annotations

import logging
import sqlite3

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response

from .. import sources as uc
from ..demo import create_demo_source
from . import bp
from .access import current_org, editor_required

log = logging.getLogger(__name__)


def open_demo() -> Response:
    """Create (or find) the organization's demo source and go to its page."""
    try:
        source = create_demo_source(current_org())
    except uc.VerifyBusy as exc:  # every verify slot is taken: the demo's verify too
        flash(exc.detail)
        return redirect(url_for("web.sources"))
    except (OSError, sqlite3.Error, uc.Refusal):
        log.exception("the demo database could not be created")
        flash("The demo database could not be created; Datadock's server log says why.")
        return redirect(url_for("web.sources"))
    flash("This is the demo database. Its schema is read now and shows in a few seconds.", "sync")
    return redirect(url_for("web.source_detail", source_id=source.id))


@bp.route("/sources/demo", methods=["POST"])
@editor_required
def add_demo_source() -> Response:
    """Add the demo source (or open it, if the organization has one)."""
    return open_demo()
