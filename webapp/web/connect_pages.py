"""Onboarding links on the pages: the public page at /connect/<token> (no login: the link's
single-use token is the credential; CSRF on its POSTs, rate-limited per address) with only
the link's dialect form, and the admins' "Send an onboarding link" page."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import NumberRange, Optional

from .. import onboarding, ratelimit
from .. import sources as uc
from ..audit import client_address
from ..dialects import DIALECTS, all_secret_names
from . import bp
from .access import admin_required, current_org
from .forms import apply_errors, form_values, source_form

# Page views and posts per address on the public page, per window (seconds).
CONNECT_RATE = (60, 600)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_TOKEN_IN_PATH = re.compile(r"(?<![\w.-])(/connect/)[^\s?\"'/]+")


class RedactConnectTokens(logging.Filter):
    """Replace an onboarding link's token in a logged request line with [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/connect/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub(r"\1[redacted]", message), ()
        return True


for _name in ("werkzeug", "gunicorn.access"):
    logging.getLogger(_name).addFilter(RedactConnectTokens())


# --- the public page ------------------------------------------------------------------------


def _limited() -> Any:
    """A 429 page when this address opened or posted too often, else None."""
    limit, window = current_app.config.get("CONNECT_RATE_LIMIT", CONNECT_RATE)
    decision = ratelimit.hit("connect", f"ip:{client_address() or '-'}", limit, window)
    if decision.allowed:
        return None
    return (
        render_template(
            "connect/unusable.html",
            reason="throttled",
            message=(
                "Too many attempts from your address. "
                f"Try again in {decision.retry_after_seconds} s."
            ),
            org_name=None,
        ),
        429,
        {**HEADERS, "Retry-After": str(decision.retry_after_seconds)},
    )


def _unusable(exc: onboarding.LinkUnusable) -> Any:
    status = {"unknown": 404, "busy": 409}.get(exc.reason, 410)
    return (
        render_template(
            "connect/unusable.html", reason=exc.reason, message=str(exc), org_name=None
        ),
        status,
        HEADERS,
    )


def _page(link: Any, form: Any, status: int = 200, **result: Any) -> Any:
    dialect = DIALECTS[link.dialect]
    return (
        render_template(
            "connect/form.html",
            form=form,
            link=link,
            dialect=dialect,
            org_name=link.organization.name,
            token=(request.view_args or {})["token"],
            completed_by=request.form.get("completedBy", ""),
            secret_names=all_secret_names(),
            **result,
        ),
        status,
        HEADERS,
    )


def _open(token: str) -> Any:
    """The pending link, or the page that says why not."""
    try:
        return onboarding.for_token(token)
    except onboarding.LinkUnusable as exc:
        return _unusable(exc)


@bp.route("/connect/<token>", methods=["GET", "POST"])
def connect_page(token: str) -> Any:
    """The link's form (GET); POST verifies and saves the source, once."""
    refused = _limited()
    if refused is not None:
        return refused
    link = _open(token)
    if isinstance(link, tuple):
        return link
    dialect = DIALECTS[link.dialect]
    if request.method == "GET":
        return _page(
            link, source_form(dialect, formdata=None, data={"displayName": link.display_name})
        )
    form = source_form(dialect)
    if not form.validate_on_submit():
        abort(400)
    try:
        source = onboarding.complete(token, form_values(form), request.form.get("completedBy"))
    except onboarding.LinkUnusable as exc:
        return _unusable(exc)
    except uc.Refusal as exc:
        apply_errors(form, exc.field_errors)
        return _page(
            link,
            form,
            429 if isinstance(exc, uc.VerifyBusy) else 422,
            error=exc,
            holder_error=exc.field_errors.get("completedBy", ""),
        )
    return (
        render_template(
            "connect/done.html", org_name=link.organization.name, source_name=source.display_name
        ),
        200,
        HEADERS,
    )


@bp.route("/connect/<token>/verify", methods=["POST"])
def connect_verify(token: str) -> Any:
    """Verify the typed values (nothing stored): the result partial for htmx, else the page."""
    refused = _limited()
    if refused is not None:
        return refused
    link = _open(token)
    if isinstance(link, tuple):
        return link
    form = source_form(DIALECTS[link.dialect])
    if not form.validate_on_submit():
        abort(400)
    ok, error = None, None
    try:
        ok = onboarding.verify(link, form_values(form), request.form.get("completedBy"))
    except uc.Refusal as exc:
        error = exc
    field_errors = error.field_errors if error is not None else {}
    if request.headers.get("HX-Request"):
        names = ["displayName", *form.spec_names]
        return (
            render_template(
                "partials/verify_result.html",
                ok=ok,
                error=error,
                field_errors=field_errors,
                oob_names=names,
            ),
            200,
            HEADERS,
        )
    apply_errors(form, field_errors)
    return _page(link, form, 200 if ok else 422, ok=ok, error=error)


# --- the admins' page -----------------------------------------------------------------------


class LinkForm(FlaskForm):
    """What a new link is for: a dialect, a name (optional), how long it stays valid."""

    dialect = SelectField(
        "Database", choices=[SelectChoice(d.key, d.label) for d in DIALECTS.values()]
    )
    displayName = StringField(
        "Display name (optional)",
        render_kw={"maxlength": 120, "autocomplete": "off", "placeholder": "Customer warehouse"},
        description="Leave blank to let the person who opens the link choose it.",
    )
    expiresInDays = IntegerField(
        "Valid for (days)",
        default=7,
        validators=[Optional(), NumberRange(1, 30)],
        render_kw={"inputmode": "numeric", "maxlength": 2},
    )


class ActionForm(FlaskForm):
    """Only the CSRF token (revoke)."""


@bp.route("/sources/onboarding-links", methods=["GET", "POST"])
@admin_required
def onboarding_links() -> Any:
    """Send an onboarding link: make one (shown once) and see the links and what they became."""
    org = current_org()
    form = LinkForm()
    made = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            days = form.expiresInDays.data
            try:
                made = onboarding.create_link(
                    org,
                    form.dialect.data,
                    form.displayName.data or None,
                    days * 86400 if days else None,
                    base=onboarding.base_url(request.host_url),
                )
            except uc.Refusal as exc:
                apply_errors(
                    form,
                    {
                        "expiresInDays" if k == "expiresIn" else k: v
                        for k, v in exc.field_errors.items()
                    },
                )
                status = 422
        else:
            status = 422
    links = [
        (row, onboarding.status(row), onboarding.source_of(row))
        for row in onboarding.list_links(org)
    ]
    return (
        render_template(
            "connect/links.html",
            form=form,
            made=made,
            links=links,
            action_form=ActionForm(),
            dialects=DIALECTS,
        ),
        status,
        {"Cache-Control": "no-store"},
    )


@bp.route("/sources/onboarding-links/<connection_id>/revoke", methods=["POST"])
@admin_required
def revoke_onboarding_link(connection_id: str) -> Response:
    """Revoke a pending link: it says so from now on."""
    if not ActionForm().validate_on_submit():
        abort(400)
    link = onboarding.get_link(current_org(), connection_id)
    if link is None:
        abort(404)
    onboarding.revoke(link)
    flash("Link revoked.")
    return redirect(url_for("web.onboarding_links"))
