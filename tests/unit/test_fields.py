"""Field declarations: cleaning and the messages shown under each field."""

import pytest

from webapp.dialects import DIALECTS, FieldInvalid, get_dialect
from webapp.dialects.fields import host_field, port_field, ssl_field

PG = get_dialect("POSTGRES")


def test_postgres_declares_the_api_field_names_once():
    assert [f.name for f in PG.fields][:6] == [
        "host",
        "port",
        "databaseName",
        "username",
        "password",
        "sslEnabled",
    ]
    assert {
        "sshEnabled",
        "sshHost",
        "sshPort",
        "sshUsername",
        "sshPassword",
        "sshPrivateKey",
        "sshPrivateKeyPassphrase",
        "sshHostKey",
    } <= {f.name for f in PG.fields}
    assert PG.secret_names == (
        "password",
        "sslClientKey",
        "sshPassword",
        "sshPrivateKey",
        "sshPrivateKeyPassphrase",
    )
    assert PG.field("port").default == 5432
    assert PG.field("sslEnabled").default is True
    assert [f.label for f in PG.fields][:6] == [
        "Host",
        "Port",
        "Database name",
        "Username",
        "Password",
        "SSL",
    ]


def test_registry_is_case_insensitive_and_knows_only_registered_dialects():
    assert get_dialect("postgres") is DIALECTS["POSTGRES"]
    assert get_dialect("NOPE") is None
    assert get_dialect(None) is None


@pytest.mark.parametrize("raw", ["db host", "h=x", "h'x", 'h"x', "a;b", "host/db", "x" * 254])
def test_host_refuses_connection_string_syntax_and_overlong(raw):
    with pytest.raises(FieldInvalid):
        host_field().clean(raw)


@pytest.mark.parametrize("raw", ["db.example.com", "127.0.0.1", "::1", "[::1]", "my-db_1"])
def test_host_accepts_names_and_addresses(raw):
    assert host_field().clean(raw) == raw


@pytest.mark.parametrize(
    "raw, message",
    [
        ("0", "Port must be between 1 and 65535"),
        ("65536", "Port must be between 1 and 65535"),
        ("-1", "Port must be between 1 and 65535"),
        ("54x", "Port must be a whole number"),
        (True, "Port must be a whole number"),
        (5432.5, "Port must be a whole number"),
        ("", "Port is required"),
    ],
)
def test_port_errors(raw, message):
    with pytest.raises(FieldInvalid, match=message):
        port_field(5432).clean(raw)


def test_port_accepts_text_and_numbers():
    assert port_field(5432).clean(" 6543 ") == 6543
    assert port_field(5432).clean(6543) == 6543


def test_booleans_from_forms_and_json():
    spec = ssl_field()
    assert spec.clean(True) is True
    assert spec.clean("false") is False
    assert spec.clean("y") is True
    assert spec.clean(None) is True  # absent: the declared default
    with pytest.raises(FieldInvalid):
        spec.clean("maybe")


def test_text_limits_and_control_characters():
    db = PG.field("databaseName")
    with pytest.raises(FieldInvalid, match="at most 63"):
        db.clean("d" * 64)
    with pytest.raises(FieldInvalid, match="control characters"):
        db.clean("app\x00db")
    with pytest.raises(FieldInvalid, match="must be text"):
        db.clean(12)


def test_secrets_keep_their_exact_bytes():
    assert PG.field("password").clean("  spaced  ") == "  spaced  "
    assert PG.field("username").clean("  alice ") == "alice"


def test_an_omitted_value_takes_the_default_but_a_cleared_one_is_required():
    port = get_dialect("MYSQL").field("port")
    assert port.clean(None) == 3306
    with pytest.raises(FieldInvalid, match="Port is required"):
        port.clean("  ")
