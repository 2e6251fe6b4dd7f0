"""The Members page (admins): members with role, sign-in method and last seen; change a role,
remove a member; invite by email (the link is shown once), pending invitations, revoke one.
And the invitation page anyone with the link opens: name and password (or SSO), then signed in.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..accounts import MIN_PASSWORD
from ..core.refusal import Refusal
from ..members import invitations
from ..members import members as uc
from ..members.roles import ROLE_HELP, Role
from . import bp
from .access import admin_required, current_org
from .auth import _start_session
from .forms import email_address

_TOKEN_IN_PATH = re.compile(r"(?<![\w.-])(/invitations/)[^\s?\"'/]+")


class RedactInvitationTokens(logging.Filter):
    """Replace an invitation token in a logged request line with [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/invitations/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub(r"\1[redacted]", message), ()
        return True


for _name in ("werkzeug", "gunicorn.access"):
    logging.getLogger(_name).addFilter(RedactInvitationTokens())

ROLE_CHOICES = [(r.value, r.value.capitalize()) for r in Role]
_SELECT = [SelectChoice(v, label) for v, label in ROLE_CHOICES]


class InviteForm(FlaskForm):
    """Email and role of the person to invite."""

    email = EmailField(
        "Email",
        validators=[DataRequired(), email_address, Length(max=254)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    role = SelectField("Role", choices=_SELECT, default=Role.VIEWER.value)


class RoleForm(FlaskForm):
    """A member's new role."""

    role = SelectField("Role", choices=_SELECT)


class ActionForm(FlaskForm):
    """Only the CSRF token (remove a member, revoke an invitation)."""


class AcceptForm(FlaskForm):
    """What the invited person chooses: a name and a password."""

    name = StringField(
        "Your name",
        validators=[DataRequired(), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=256, message=f"Use at least {MIN_PASSWORD} characters"),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Confirm password",
        validators=[DataRequired(), EqualTo("password", "Passwords differ")],
        render_kw={"autocomplete": "new-password"},
    )


def _page(
    form: InviteForm | None = None,
    new: invitations.NewInvitation | None = None,
    status: int = 200,
    error: str | None = None,
) -> Any:
    org = current_org()
    body = render_template(
        "members/list.html",
        org=org,
        members=uc.list_members(org),
        pending=invitations.list_pending(org),
        status_of=invitations.status,
        form=form or InviteForm(formdata=None),
        new=new,
        role_choices=ROLE_CHOICES,
        action_form=ActionForm(),
        role_help=ROLE_HELP,
        error=error,
        mail_configured=bool(current_app.config.get("SMTP_URL")),
    )
    # A page holding a new invitation link must not be kept by the browser or a proxy.
    return body, status, {"Cache-Control": "no-store"}


@bp.route("/settings/members")
@admin_required
def members_page() -> Any:
    """Members, pending invitations and the invite form."""
    return _page()


@bp.route("/settings/members/invite", methods=["POST"])
@admin_required
def invite_member() -> Any:
    """Create an invitation; its link is shown once (and mailed when SMTP is configured)."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        new = invitations.create(
            current_org(),
            form.email.data,
            form.role.data,
            invitations.base_url(request.host_url),
            current_user,
        )
    except Refusal as exc:
        for name, message in exc.field_errors.items():
            if name in form:
                form[name].errors = [message]
        return _page(form, status=422)
    return _page(new=new, status=201)


def _membership_or_404(member_id: int) -> Any:
    row = uc.get_membership(current_org(), member_id)
    if row is None:
        abort(404)
    return row


@bp.route("/settings/members/<int:member_id>/role", methods=["POST"])
@admin_required
def change_member_role(member_id: int) -> Any:
    """Give a member another role; their sessions end (the last admin stays admin)."""
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    row = _membership_or_404(member_id)
    email, own = row.user.email, row.user_id == current_user.id
    try:
        uc.change_role(row, form.role.data)
    except Refusal as exc:
        return _page(status=422, error=exc.detail)
    flash(f"{email} is now {form.role.data}. Their open sessions have ended.")
    if own:
        return redirect(url_for("web.login"))
    return redirect(url_for("web.members_page"), 303)


@bp.route("/settings/members/<int:member_id>/remove", methods=["POST"])
@admin_required
def remove_member(member_id: int) -> Any:
    """Remove a member: their sessions end and their API keys stop working."""
    if not ActionForm().validate_on_submit():
        abort(400)
    row = _membership_or_404(member_id)
    email = row.user.email
    try:
        uc.remove(row)
    except Refusal as exc:
        return _page(status=422, error=exc.detail)
    flash(f"Removed {email}. Their sessions have ended and their API keys were revoked.")
    return redirect(url_for("web.members_page"), 303)


@bp.route("/settings/invitations/<int:invitation_id>/revoke", methods=["POST"])
@admin_required
def revoke_invitation(invitation_id: int) -> Response:
    """Revoke a pending invitation: its link says so from now on."""
    if not ActionForm().validate_on_submit():
        abort(400)
    row = invitations.get(current_org(), invitation_id)
    if row is None:
        abort(404)
    invitations.revoke(row)
    flash(f"Revoked the invitation for {row.email}.")
    return redirect(url_for("web.members_page"), 303)


def _sso_url() -> str | None:
    """Where the SSO button posts (web/sso.py) when SSO is configured, else None."""
    if (
        not current_app.config.get("OIDC_ISSUER")
        or "web.sso_start" not in current_app.view_functions
    ):
        return None
    return url_for("web.sso_start")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Any:
    """The invitation link: choose a name and a password (or use SSO), then signed in.
    A used, revoked, expired or unknown link says so (410, or 404 when unknown)."""
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    try:
        invitation = invitations.for_token(token)
    except invitations.InvitationUnusable as exc:
        status = 404 if exc.reason == "unknown" else 410
        return (
            render_template(
                "members/invitation_unusable.html", message=str(exc), reason=exc.reason
            ),
            status,
            headers,
        )
    form = AcceptForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept_with_password(token, form.name.data, form.password.data)
        except invitations.InvitationUnusable as exc:
            return (
                render_template(
                    "members/invitation_unusable.html", message=str(exc), reason=exc.reason
                ),
                410,
                headers,
            )
        except Refusal as exc:
            for name, message in exc.field_errors.items():
                if name in form:
                    form[name].errors = [message]
                else:
                    flash(message)
        else:
            _start_session(user)
            flash(f"Welcome to {invitation.organization.name}. You are a {invitation.role}.")
            return redirect(url_for("web.sources"))
    status = 200 if request.method == "GET" else 422
    return (
        render_template(
            "members/accept.html",
            form=form,
            invitation=invitation,
            org_name=invitation.organization.name,
            sso_url=_sso_url(),
            token=token,
        ),
        status,
        headers,
    )
