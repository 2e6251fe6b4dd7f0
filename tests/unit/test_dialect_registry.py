"""The dialect declarations as data: one registry list, ladders from core/steps.py, driver
modules, error tables evaluated by the shared classify, URL schemes owned by one dialect each."""

from __future__ import annotations

import pytest

from webapp.core.refusal import ConnectionFailed
from webapp.core.steps import LABELS
from webapp.dialects import DIALECTS, MODULES, get_dialect, load
from webapp.dialects.base import Dialect, Target
from webapp.dialects.errors_table import (
    BAD_LOGIN,
    ErrorRule,
    Facts,
    Failure,
    first_failure,
    untrusted_certificate,
)
from webapp.dialects.urls import parse_connection_string, scheme_of


def facts(exc: BaseException, text: str | None = None, codes=(), **values) -> Facts:
    return Facts(
        exc,
        str(exc) if text is None else text,
        tuple(codes),
        (exc,),
        {"host": "db.example.com", "port": 5432, **values},
        2.5,
        "Example",
        hidden=("password",),
    )


# --- the registry -------------------------------------------------------------------------------


def test_one_list_of_modules_is_the_registry():
    assert list(load()) == list(DIALECTS)
    assert len(MODULES) == len(set(MODULES)) >= 14  # no module listed twice


def test_a_key_registered_twice_is_refused():
    with pytest.raises(ValueError, match="POSTGRES is registered twice"):
        load(("postgres", "postgres"))


@pytest.mark.parametrize("key", sorted(DIALECTS))
def test_every_declaration_hangs_together(key):
    dialect = get_dialect(key)
    assert set(dialect.steps) <= set(LABELS) and dialect.steps[0] == "fields"
    assert set(dialect.driver_steps) <= set(dialect.steps)
    # A driver step exactly when there is an optional driver to import, with its extra.
    assert ("driver" in dialect.steps) == bool(dialect.driver_modules) == bool(dialect.extra)
    if dialect.url_schemes:  # it says how to read them
        assert dialect.url_form is not None or type(dialect).read_url is not Dialect.read_url
    assert ("ssh" in dialect.steps) == bool(dialect.field("sshEnabled"))


def test_each_scheme_has_one_owner_and_family_members_claim_by_host():
    owners = {}
    for dialect in DIALECTS.values():
        for scheme in dialect.url_schemes:
            owners.setdefault(scheme, dialect.key)
    assert owners["postgresql"] == "POSTGRES" and owners["redshift"] == "REDSHIFT"
    assert owners["mysql"] == "MYSQL" and owners["mariadb"] == "MARIADB"
    assert owners["md"] == "MOTHERDUCK" and owners["awsathena"] == "ATHENA"
    # A family's host names claim only that family's schemes.
    assert parse_connection_string("mysql://u@db.abc.supabase.co/x")[0] == "MYSQL"
    assert parse_connection_string("postgres://u@db.abc.supabase.co/x")[0] == "SUPABASE"


def test_scheme_reading():
    assert scheme_of("mssql+pymssql://h") == "mssql"
    assert scheme_of("MD:my_db") == "md"
    assert parse_connection_string("jdbc:postgresql://h:5433/app")[1] == {
        "host": "h",
        "port": 5433,
        "databaseName": "app",
    }
    assert parse_connection_string(" postgresql://h/app ", known={"POSTGRES"})[0] == "POSTGRES"


def test_a_missing_driver_module_is_driver_missing(monkeypatch):
    import sys

    from webapp.dialects.base import DriverMissing

    monkeypatch.setitem(sys.modules, "pymssql", None)
    with pytest.raises(DriverMissing):
        get_dialect("SQL_SERVER").load_driver()
    get_dialect("POSTGRES").load_driver()  # nothing to import: always installed


# --- error rules --------------------------------------------------------------------------------


def test_any_matcher_fits_then_every_condition_must_hold():
    rule = ErrorRule(BAD_LOGIN, text="denied", code=1045, also="user")
    assert rule.matches(facts(Exception("access denied for user")))
    assert rule.matches(facts(Exception("x for user"), codes=(1045,)))
    assert not rule.matches(facts(Exception("access denied")))  # `also` missing
    assert not rule.matches(facts(Exception("other for user"), codes=(2003,)))
    assert ErrorRule(BAD_LOGIN).matches(facts(Exception("anything")))


def test_types_chain_and_class_names():
    class DriverError(Exception):
        pass

    try:
        try:
            raise TimeoutError("slow")
        except TimeoutError as inner:
            raise DriverError("wrapped") from inner
    except DriverError as caught:
        wrapped = caught
    chained = Facts(wrapped, "wrapped", (), (wrapped, wrapped.__cause__), {}, 1.0, "X")
    assert ErrorRule(BAD_LOGIN, types=("DriverError",)).matches(chained)
    assert ErrorRule(BAD_LOGIN, types=(Exception,)).matches(chained)
    assert not ErrorRule(BAD_LOGIN, types=(TimeoutError,)).matches(chained)
    assert ErrorRule(BAD_LOGIN, chain=(TimeoutError,)).matches(chained)
    assert ErrorRule(BAD_LOGIN, chain=("TimeoutError",)).matches(chained)


def test_given_fields_choose_between_rules():
    rules = untrusted_certificate(text="certificate verify failed")
    pasted = facts(
        Exception("certificate verify failed"),
        sslCustomCertificatesEnabled=True,
        sslRootCertificate="-----BEGIN CERTIFICATE-----",
    )
    assert first_failure(rules, pasted).field_errors == {
        "sslRootCertificate": "Certificate not trusted"
    }
    plain = facts(Exception("certificate verify failed"), sslCustomCertificatesEnabled=True)
    assert first_failure(rules, plain).field_errors == {"sslMode": "Certificate not trusted"}
    assert first_failure(rules, facts(Exception("other"))) is None


def test_templates_fill_values_but_never_secrets():
    failure = Failure(
        "auth",
        "{label} at {host}:{port} said no to {username!r} ({password}) "
        "in {seconds:g} s, code {code}",
        {"username": "No {missing}"},
    )
    built = failure(facts(Exception("x"), codes=(28000,), username="app", password="hunter2"))
    assert isinstance(built, ConnectionFailed) and built.step == "auth"
    assert built.detail == (
        "Example at db.example.com:5432 said no to 'app' (None) in 2.5 s, code 28000"
    )
    assert built.field_errors == {"username": "No None"}


def test_the_shared_classify_uses_the_table_then_the_fallback():
    postgres = get_dialect("POSTGRES")
    target = Target({"host": "h", "port": 5432, "databaseName": "app"}, "127.0.0.1", 2.0, 5432)
    assert postgres.classify(Exception('database "app" does not exist'), target).detail == (
        "The server has no database named 'app'."
    )
    assert postgres.classify(Exception("gibberish"), target).step == "connect"
    assert (
        get_dialect("TRINO")
        .classify(Exception("gibberish"), target)
        .detail.startswith("Trino refused the connection with an error Datadock does not recognise")
    )
