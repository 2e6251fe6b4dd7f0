"""WTForms forms; the source form is built from the dialect's field declarations."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any

from flask import url_for
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ..accounts import MIN_PASSWORD, AccountError, clean_email
from ..core.fields import FieldSpec
from ..dialects import DIALECTS, Dialect
from ..dialects.urls import SERVER_URL
from ..source_fields import SOURCE_FIELDS
from ..sources.inputs import reentry_error

# A saved secret's help on the edit form, and once the address it was saved for has moved (its
# error then asks for it again: the help must not still say that blank keeps it).
SAVED_HELP = "Saved — leave blank to keep."
MOVED_HELP = "Saved for the previous host, port, database and SSH settings only."


def email_address(_form: FlaskForm, field: Field) -> None:
    """The one email validator (accounts.clean_email), with its reason as the error."""
    try:
        clean_email(field.data)
    except AccountError as exc:
        raise ValidationError(str(exc)) from None


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired(), email_address])
    password = PasswordField("Password", validators=[DataRequired()])


class SetupForm(FlaskForm):
    """The first organization and its admin."""

    organization = StringField("Organization name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Admin email", validators=[DataRequired(), email_address, Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=256, message=f"Use at least {MIN_PASSWORD} characters"),
        ],
        description=f"At least {MIN_PASSWORD} characters.",
    )
    confirm = PasswordField(
        "Confirm password", validators=[DataRequired(), EqualTo("password", "Passwords differ")]
    )
    demo = BooleanField(
        "Explore with a demo database",
        description="Adds a small shop database, generated on this server, with its schema "
        "ready to browse. Delete it whenever you like.",
    )


def _render_kw(spec: FieldSpec) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if spec.kind != "boolean":
        kw["maxlength"] = len(str(spec.max_value)) if spec.kind == "integer" else spec.max_length
    if spec.placeholder:
        kw["placeholder"] = spec.placeholder
    if spec.kind == "integer":
        kw.update(inputmode="numeric", pattern="[0-9]*")
    if spec.secret:
        kw["autocomplete"] = "new-password"
    else:
        kw["autocomplete"] = "off"
    kw["spellcheck"] = "false"
    return kw


def _wtf_field(spec: FieldSpec, saved: bool) -> Field:
    """One WTForms field from a declaration (validation stays in FieldSpec.clean)."""
    kw = _render_kw(spec)
    if spec.required and not (spec.secret and saved) and spec.kind != "boolean":
        kw["required"] = True
    description = SAVED_HELP if spec.secret and saved else spec.help
    common = {"label": spec.label, "description": description, "render_kw": kw}
    if spec.kind == "boolean":
        return BooleanField(default=bool(spec.default), **common)
    if spec.kind == "password":
        return PasswordField(**common)
    if spec.kind == "textarea":
        return TextAreaField(**common)
    if spec.kind == "select":
        return SelectField(
            choices=[SelectChoice(v, label) for v, label in spec.choices],
            default=spec.default,
            **common,
        )
    return StringField(default=spec.default, **common)


def connection_string_example(dialect: Dialect) -> str | None:
    """An example string for `dialect` (None when it reads none: SQLite, DuckDB files…)."""
    if dialect.url_form is None or not dialect.url_schemes:
        return None
    scheme = "postgresql" if "postgresql" in dialect.url_schemes else dialect.url_schemes[0]
    port = dialect.field("port")
    if dialect.url_form is not SERVER_URL or port is None:
        return f"{scheme}://…"  # its own shape: the scheme says which string to paste
    return f"{scheme}://user:password@host:{port.default}/database"


def connection_string_help(dialect: Dialect) -> str:
    """The connection string's hint for `dialect`."""
    example = connection_string_example(dialect)
    if example is None:
        return f"{dialect.label} takes no connection string: fill in the fields below."
    return f"Paste e.g. {example} to fill the fields."


def source_form(
    dialect: Dialect,
    *,
    data: dict[str, Any] | None = None,
    saved_secrets: Set[str] = frozenset(),
    **kwargs: Any,
) -> FlaskForm:
    """A form for `dialect`: Display name, Dialect, then the dialect's declared fields."""
    # Without formdata= Flask-WTF reads the request's form on POST; pass formdata=None to not.
    form = _source_form_class(dialect, frozenset(saved_secrets))(data=data, **kwargs)
    form.dialect.data = dialect.key
    # Per request: url_for follows the request's script root (a proxy's prefix).
    form.connectionString.render_kw = {
        **form.connectionString.render_kw,
        "hx-post": url_for("web.parse_connection_string"),
    }
    form.spec_names = [spec.name for spec in dialect.fields]
    form.common_names = [spec.name for spec in SOURCE_FIELDS]
    form.dialect_options = tuple(DIALECTS.values())  # the select's tiles (dialect_tiles.html)
    return form


# Source form classes by (dialect, saved secrets, the dialects there are): building one costs
# about as much as filling it in, and every add, verify, save and fieldset swap needs one.
_FORM_CLASSES: dict[tuple[int, frozenset[str], tuple[str, ...]], tuple[Dialect, type]] = {}


def _source_form_class(dialect: Dialect, saved_secrets: frozenset[str]) -> type:
    key = (id(dialect), saved_secrets, tuple(DIALECTS))
    cached = _FORM_CLASSES.get(key)
    if cached is not None and cached[0] is dialect:
        return cached[1]

    class SourceForm(FlaskForm):
        pass

    for spec in SOURCE_FIELDS:
        setattr(SourceForm, spec.name, _wtf_field(spec, saved=False))
    SourceForm.dialect = SelectField(
        "Dialect",
        choices=[SelectChoice(d.key, d.label) for d in DIALECTS.values()],
        default=dialect.key,
    )
    # Not a dialect field: a paste-in helper that fills the fields; never stored or shown back.
    example = connection_string_example(dialect)
    SourceForm.connectionString = PasswordField(
        "Connection string (optional)",
        description=connection_string_help(dialect),
        render_kw={
            "autocomplete": "off",
            "spellcheck": "false",
            "maxlength": 4096,
            "placeholder": example or "",
            "hx-trigger": "change",
            "hx-target": "#dialect-fields",
            "hx-swap": "outerHTML",
            "hx-params": "csrf_token,connectionString,dialect",
        },
    )
    for spec in dialect.fields:
        setattr(SourceForm, spec.name, _wtf_field(spec, spec.name in saved_secrets))
    if len(_FORM_CLASSES) > 512:  # many throwaway dialects (tests): start over
        _FORM_CLASSES.clear()
    _FORM_CLASSES[key] = (dialect, SourceForm)
    return SourceForm


def form_values(form: FlaskForm) -> dict[str, Any]:
    """The submitted values under their API names, typed by WTForms (checkbox → bool)."""
    return {name: value for name, value in form.data.items() if name != "csrf_token"}


def apply_errors(form: FlaskForm, field_errors: Mapping[str, str]) -> None:
    """Attach use-case field errors to the form's fields, for rendering under each input (a
    saved secret asked for again gets the help that says so)."""
    for name, message in field_errors.items():
        if name in form:
            form[name].errors = [message]
    for name, help_text in saved_secret_help(form, field_errors).items():
        form[name].description = help_text


def saved_secret_help(form: FlaskForm, field_errors: Mapping[str, str]) -> dict[str, str]:
    """The help of each saved secret field after a verify or save: "leave blank to keep", or,
    when its error asks for it again (the host or SSH settings moved), that the saved one
    belongs to the previous settings."""
    return {
        name: MOVED_HELP
        if field_errors.get(name) == reentry_error(str(form[name].label.text))
        else SAVED_HELP
        for name in form.spec_names
        if form[name].description in (SAVED_HELP, MOVED_HELP)
    }
