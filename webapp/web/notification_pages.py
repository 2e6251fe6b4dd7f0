"""Notification channels (admins): the list with a create form (a webhook's signing secret is
shown once), a channel's delivery log with Send test, Redeliver and Delete."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from .. import notifications as uc
from .. import sources
from ..core.refusal import Refusal
from . import bp
from .access import admin_required, current_org

TYPE_LABELS = {
    "webhook": "Webhook (signed JSON POST)",
    "slack": "Slack incoming webhook",
    "email": "Email",
}
EVENT_LABELS = {
    "source.unhealthy": "A source becomes unhealthy",
    "source.recovered": "A source recovers",
    "sync.failed": "A schema sync fails",
    "schema.changed": "The schema changes",
    "source.connected": "A source is connected with an onboarding link",
}


class Checkboxes(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ChannelForm(FlaskForm):
    """A new channel: the fields the API takes."""

    type = SelectField(
        "Type", choices=[SelectChoice(k, v) for k, v in TYPE_LABELS.items()], default="webhook"
    )
    name = StringField(
        "Name",
        validators=[Optional(), Length(max=120)],
        description="How the channel is listed (default: its type and host).",
    )
    url = StringField(
        "URL",
        validators=[Optional(), Length(max=2000)],
        description="Webhook and Slack: where events are POSTed. Stored "
        "encrypted; only its host is shown again.",
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "placeholder": "https://hooks.example.com/datadock",
        },
    )
    addresses = TextAreaField(
        "Email addresses",
        validators=[Optional()],
        description="Email: one or more, separated by commas or lines.",
        render_kw={"rows": 2},
    )
    events = Checkboxes(
        "Events",
        choices=[SelectChoice(k, v) for k, v in EVENT_LABELS.items()],
        default=list(EVENT_LABELS),
        description="Which events this channel receives.",
    )
    sources = Checkboxes(
        "Only these data sources", coerce=str, description="None ticked: every data source."
    )


class ButtonForm(FlaskForm):
    """Only the CSRF token (Send test, Redeliver, Delete)."""


def _form() -> ChannelForm:
    form = ChannelForm()
    form.sources.choices = [
        SelectChoice(str(s.id), s.display_name) for s in sources.list_sources(current_org())
    ]
    return form


def _list(form: ChannelForm, secret: str | None = None, status: int = 200) -> Any:
    org = current_org()
    page = render_template(
        "notifications/list.html",
        form=form,
        secret=secret,
        channels=[uc.channel_view(c) for c in uc.list_channels(org)],
        type_labels=TYPE_LABELS,
        event_labels=EVENT_LABELS,
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.route("/settings/notifications", methods=["GET", "POST"])
@admin_required
def notification_channels() -> Any:
    """The organization's channels; a POST creates one."""
    form = _form()
    if not form.is_submitted():
        return _list(form)
    if not form.validate():
        return _list(form, status=422)
    raw = {"type": form.type.data, "name": form.name.data or None}
    if form.type.data == "email":
        raw["addresses"] = form.addresses.data or ""
    else:
        raw["url"] = form.url.data or ""
    raw["events"] = form.events.data or []
    if form.sources.data:
        raw["sourceIds"] = form.sources.data
    try:
        channel, secret = uc.create_channel(current_org(), raw)
    except Refusal as refused:
        for name, message in refused.field_errors.items():
            field = getattr(form, "sources" if name == "sourceIds" else name, None)
            if field is not None:
                field.errors = [message]
        if not refused.field_errors:
            form.type.errors = [refused.detail]
        return _list(form, status=422)
    flash(f"Created the channel {channel.name}.")
    if secret is None:
        return redirect(url_for("web.notification_channel", channel_id=channel.id))
    return _list(_form_blank(), secret=secret, status=201)


def _form_blank() -> ChannelForm:
    form = ChannelForm(formdata=None)
    form.sources.choices = [
        SelectChoice(str(s.id), s.display_name) for s in sources.list_sources(current_org())
    ]
    return form


def _channel(channel_id: int) -> Any:
    channel = uc.get_channel(current_org(), channel_id)
    if channel is None:
        abort(404)
    return channel


@bp.route("/settings/notifications/<int:channel_id>")
@admin_required
def notification_channel(channel_id: int) -> Any:
    """A channel and its delivery log, newest first."""
    channel = _channel(channel_id)
    before = request.args.get("before", type=int)
    rows, more = uc.list_deliveries(channel, 50, before)
    names = {str(s.id): s.display_name for s in sources.list_sources(current_org())}
    return render_template(
        "notifications/detail.html",
        channel=uc.channel_view(channel),
        button=ButtonForm(),
        deliveries=[uc.delivery_view(d, e) for d, e in rows],
        next_before=rows[-1][0].id if more else None,
        type_labels=TYPE_LABELS,
        event_labels=EVENT_LABELS,
        source_names=names,
    )


@bp.route("/settings/notifications/<int:channel_id>/test", methods=["POST"])
@admin_required
def test_notification_channel(channel_id: int) -> Response:
    """Queue a `test` event for this channel."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    uc.send_test(_channel(channel_id))
    flash("A test event is on its way: its delivery shows below within a few seconds.")
    return redirect(url_for("web.notification_channel", channel_id=channel_id))


@bp.route(
    "/settings/notifications/<int:channel_id>/deliveries/<delivery_id>/redeliver", methods=["POST"]
)
@admin_required
def redeliver_notification(channel_id: int, delivery_id: str) -> Response:
    """Send a delivery's event again (a new delivery)."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        uc.redeliver(_channel(channel_id), delivery_id)
    except Refusal:
        abort(404)
    flash("Redelivery queued.")
    return redirect(url_for("web.notification_channel", channel_id=channel_id))


@bp.route("/settings/notifications/<int:channel_id>/delete", methods=["POST"])
@admin_required
def delete_notification_channel(channel_id: int) -> Response:
    """Remove the channel, its secrets and its log."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    channel = _channel(channel_id)
    name = channel.name
    uc.delete_channel(channel)
    flash(f"Deleted the channel {name}.")
    return redirect(url_for("web.notification_channels"))
