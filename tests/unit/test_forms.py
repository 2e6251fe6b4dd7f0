"""The WTForms form is built from the dialect's declaration."""

from webapp.dialects import get_dialect
from webapp.web.forms import form_values, source_form

PG = get_dialect("POSTGRES")


def test_form_has_display_name_dialect_then_the_declared_fields(app):
    with app.test_request_context("/sources/new"):
        form = source_form(PG, formdata=None)
        names = [f.name for f in form if f.name != "csrf_token"]
        assert names[:19] == [
            "displayName",
            "description",
            "includeSchemas",
            "excludeSchemas",
            "maxPoolSize",
            "syncSchedule",
            "syncTime",
            "syncTimezone",
            "healthCheckIntervalMinutes",
            "alertAfterFailures",
            "paused",
            "dialect",
            "connectionString",
            "host",
            "port",
            "databaseName",
            "username",
            "password",
            "sslEnabled",
        ]
        assert form.maxPoolSize.data == 10
        assert form.port.data == 5432
        assert form.sslEnabled.data is True
        assert form.host.label.text == "Host"
        assert form.password.type == "PasswordField"
        # PostgreSQL lets a trusted user in without one: optional (issue 14, bug 6).
        assert "required" not in form.password()
        hosted = source_form(get_dialect("SUPABASE"), formdata=None)
        assert "required" in hosted.password()


def test_saved_secret_is_not_required_and_says_so(app):
    with app.test_request_context("/sources/1/edit"):
        form = source_form(get_dialect("SUPABASE"), formdata=None, saved_secrets={"password"})
        assert form.password.description == "Saved — leave blank to keep."
        assert "required" not in form.password()


def test_posted_checkbox_absent_means_false(app):
    with app.test_request_context(
        "/sources/new",
        method="POST",
        data={"displayName": "x", "dialect": "POSTGRES", "host": "h", "port": "1"},
    ):
        values = form_values(source_form(PG))
        assert values["sslEnabled"] is False
        assert values["host"] == "h"
        assert "csrf_token" not in values
