"""Pasted connection strings fill the fields; the string itself is never stored or echoed."""

import pytest

from tests.fixtures_app import csrf_token
from webapp.dialects import DIALECTS, FieldInvalid
from webapp.dialects.urls import parse_connection_string
from webapp.sources import ValidationFailed, expand_connection_string

KNOWN = set(DIALECTS)


def test_postgres_url_with_escaped_credentials_and_sslmode():
    dialect, values = parse_connection_string(
        "postgresql://app%40corp:p%3Ass%2Fw@db.example.com:6543/sales?sslmode=verify-full", KNOWN
    )
    assert dialect == "POSTGRES"
    assert values == {
        "host": "db.example.com",
        "port": 6543,
        "username": "app@corp",
        "password": "p:ss/w",
        "databaseName": "sales",
        "sslEnabled": True,
        "sslMode": "verify-full",
    }


def test_host_names_refine_the_dialect():
    assert (
        parse_connection_string("postgres://u:p@db.abc.supabase.co/postgres", KNOWN)[0]
        == "SUPABASE"
    )
    assert (
        parse_connection_string(
            "postgresql://u:p@c.abc.us-east-1.redshift.amazonaws.com:5439/dev", KNOWN
        )[0]
        == "REDSHIFT"
    )


def test_sslmode_disable_turns_ssl_off():
    assert (
        parse_connection_string("postgres://u@h/db?sslmode=disable", KNOWN)[1]["sslEnabled"]
        is False
    )


@pytest.mark.parametrize(
    "text", ["not a url", "ftp://h/x", "postgresql:///nohost", "postgresql://h:99999/db"]
)
def test_unreadable_strings(text):
    with pytest.raises(FieldInvalid):
        parse_connection_string(text, KNOWN)


def test_unregistered_dialects_are_refused():
    with pytest.raises(FieldInvalid, match="not supported"):
        parse_connection_string("postgresql://u@h/db", {"MYSQL"})


def test_typed_fields_win_but_defaults_and_blanks_take_the_string(app):
    with app.app_context():
        data = expand_connection_string(
            {
                "dialect": "POSTGRES",
                "port": "5432",
                "host": "",
                "username": "typed-user",
                "sslEnabled": True,
                "connectionString": "postgresql://u:secret@db.example.com:6543/sales?sslmode=disable",
            }
        )
    assert data["host"] == "db.example.com" and data["port"] == 6543
    assert data["username"] == "typed-user" and data["password"] == "secret"
    assert data["sslEnabled"] is False
    assert "connectionString" not in data


def test_unreadable_string_is_an_error_on_its_field(app):
    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        expand_connection_string({"connectionString": "nonsense"})
    assert set(caught.value.field_errors) == {"connectionString"}


def test_paste_endpoint_fills_fields_but_never_the_password(admin):
    token = csrf_token(admin, "/sources/new")
    response = admin.post(
        "/sources/connection-string",
        data={
            "csrf_token": token,
            "dialect": "POSTGRES",
            "connectionString": "postgresql://reader:hunter2-secret@db.abc.supabase.co:6543/app",
        },
    )
    html = response.get_data(as_text=True)
    assert 'value="db.abc.supabase.co"' in html and 'value="6543"' in html
    assert 'value="reader"' in html and 'value="app"' in html
    assert '<option selected value="SUPABASE">' in html and 'hx-swap-oob="true"' in html
    assert "Its password is used unless you type another." in html
    assert "hunter2-secret" not in html


def test_libpq_options_that_read_server_files_are_not_taken_from_a_url():
    dialect, values = parse_connection_string(
        "postgresql://u:p@db.example.com/app?sslmode=require&sslrootcert=/etc/passwd"
        "&sslkey=/root/.ssh/id_rsa&passfile=/etc/shadow&service=prod&options=-c%20x%3Dy",
        KNOWN,
    )
    assert dialect == "POSTGRES"
    assert values == {
        "host": "db.example.com",
        "username": "u",
        "password": "p",
        "databaseName": "app",
        "sslEnabled": True,
        "sslMode": "require",
    }
