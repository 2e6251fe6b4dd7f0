"""The API keys page (admins only): create a key with a scope and an optional expiry (shown
once), list keys with scope, creator, expiry and last use, revoke one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from .. import api_keys
from ..members.roles import SCOPE_HELP, KeyScope
from . import bp
from .access import admin_required, current_org


class NewKeyForm(FlaskForm):
    """A key's name."""

    name = StringField(
        api_keys.NAME.label,
        validators=[DataRequired(), Length(max=120)],
        description="What will use this key, so you recognise it later.",
        render_kw={"placeholder": api_keys.NAME.placeholder, "autocomplete": "off"},
    )
    scope = SelectField(
        "Scope",
        choices=[SelectChoice(s.value, f"{s.value}: {SCOPE_HELP[s]}") for s in KeyScope],
        default=KeyScope.READ.value,
        description="What the key may do. Give a script the least it needs.",
    )
    expiresInDays = SelectField(
        "Expires",
        choices=[
            SelectChoice(v, label)
            for v, label in (
                ("", "Never"),
                ("30", "In 30 days"),
                ("90", "In 90 days"),
                ("365", "In a year"),
            )
        ],
        default="90",
    )


class RevokeForm(FlaskForm):
    """Only the CSRF token."""


def _page(form: NewKeyForm, new_key: str | None = None, status: int = 200) -> Any:
    org = current_org()
    response = render_template(
        "api_keys/list.html",
        form=form,
        keys=api_keys.list_keys(org),
        new_key=new_key,
        revoke_form=RevokeForm(),
        org=org,
        is_expired=api_keys.is_expired,
        api_base=url_for("web.index", _external=True).rstrip("/") + api_keys.API_PATH,
    )
    # A page holding a new key must not be kept by the browser or a proxy.
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/settings/api-keys", methods=["GET", "POST"])
@admin_required
def api_keys_page() -> Any:
    """The keys of the organization; a POST creates one and shows its plaintext once."""
    form = NewKeyForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, status=422)
    try:
        days = int(form.expiresInDays.data) if form.expiresInDays.data else None
        _, plaintext = api_keys.create_key(
            current_org(),
            form.name.data or "",
            current_user,
            scope=form.scope.data,
            expires_at=api_keys.expiry_after(days),
        )
    except api_keys.ApiKeyError as exc:
        getattr(form, exc.field).errors = [str(exc)]
        return _page(form, status=422)
    return _page(NewKeyForm(formdata=None), new_key=plaintext, status=201)


@bp.route("/settings/api-keys/<int:key_id>/revoke", methods=["POST"])
@admin_required
def revoke_api_key(key_id: int) -> Response:
    """Revoke one key of the organization."""
    if not RevokeForm().validate_on_submit():
        abort(400)
    key = api_keys.get_key(current_org(), key_id)
    if key is None:
        abort(404)
    api_keys.revoke_key(key)
    flash(f"Revoked the key {key.name} ({key.prefix}…). Requests with it now get 401.")
    return redirect(url_for("web.api_keys_page"))
