"""The typed settings (webapp/settings.py): every variable parsed strictly, refused with one line
that names it (never a secret's value), the production guardrails, and the README's table."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webapp import create_app
from webapp.config import ConfigError, flask_config, load_config
from webapp.settings import Settings, load_settings, variable_names

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-secret-key-that-is-long-enough-for-production-use"
KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """Only what a test sets: no DATADOCK_* (nor the store, the key, the port) from outside."""
    for name in list(os.environ):
        if name.startswith("DATADOCK_") or name in ("DATABASE_URL", "SECRET_KEY", "PORT"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))


def refused(monkeypatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def config(tmp_path, monkeypatch, **env: str) -> dict:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_config(str(tmp_path / "instance"))


def test_defaults_give_the_flask_config_keys_the_code_reads(tmp_path, monkeypatch):
    cfg = config(tmp_path, monkeypatch)
    expected = {
        "VERIFY_TIMEOUT": 10.0,
        "SYNC_INTERVAL": 3600.0,
        "JOB_LEASE_SECONDS": 30.0,
        "JOB_HEARTBEAT_SECONDS": 10.0,
        "SCHEDULER_ENABLED": True,
        "SCHEDULER_TICK_SECONDS": 5.0,
        "SCHEDULER_WORKERS": 4,
        "HEALTH_INTERVAL": 300.0,
        "HEALTH_WORKERS": 1024,
        "HEALTH_RETENTION_DAYS": 30.0,
        "PRUNE_INTERVAL": 3600.0,
        "API_RATE_LIMIT": (120, 60),
        "LOGIN_RATE_LIMIT": (10, 900),
        "LOGIN_ADDRESS_RATE_LIMIT": (50, 900),
        "SESSION_IDLE_MINUTES": 60.0,
        "SESSION_MAX_HOURS": 12.0,
        "VERIFY_CONCURRENCY": 4,
        "VERIFY_CONCURRENCY_PER_ORG": 2,
        "TRUSTED_PROXIES": 0,
        "EGRESS_BLOCK": [],
        "EGRESS_ALLOW": [],
        "OUTBOUND_ADDRESS": None,
        "DATADOCK_PRODUCTION": False,
        "SESSION_COOKIE_SECURE": False,
    }
    assert {k: cfg[k] for k in expected} == expected
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'instance'}/datadock.sqlite3"
    assert cfg["DATA_DIR"] == str((tmp_path / "instance" / "data").resolve())
    assert len(cfg["DATADOCK_ENCRYPTION_KEYS"]) == 1 and len(cfg["SECRET_KEY"]) > 32


def test_every_value_is_typed(tmp_path, monkeypatch):
    cfg = config(
        tmp_path,
        monkeypatch,
        DATADOCK_SESSION_MAX_HOURS="0.5",
        DATADOCK_VERIFY_CONCURRENCY="8",
        DATADOCK_VERIFY_CONCURRENCY_PER_ORG=" 3 ",
        DATADOCK_WORKERS="2",
        DATADOCK_VERIFY_TIMEOUT="2.5",
        DATADOCK_HEALTH_INTERVAL="0",
        DATADOCK_EGRESS_BLOCK="10.0.0.0/8, 192.168.0.0/16,",
        DATADOCK_TRUSTED_PROXIES="1",
        DATADOCK_OUTBOUND_ADDRESS="203.0.113.7",
        DATADOCK_API_RATE_LIMIT="5/second",
        DATABASE_URL="postgres://u:p@db.internal:5432/dd",
        DATADOCK_JOB_LEASE_SECONDS="12",
        DATADOCK_JOB_HEARTBEAT_SECONDS="3",
    )
    assert (
        cfg["SESSION_MAX_HOURS"],
        cfg["VERIFY_CONCURRENCY"],
        cfg["VERIFY_CONCURRENCY_PER_ORG"],
        cfg["SCHEDULER_WORKERS"],
    ) == (0.5, 8, 3, 2)
    assert cfg["VERIFY_TIMEOUT"] == 2.5 and cfg["HEALTH_INTERVAL"] == 0.0
    assert cfg["EGRESS_BLOCK"] == ["10.0.0.0/8", "192.168.0.0/16"]
    assert cfg["TRUSTED_PROXIES"] == 1 and cfg["OUTBOUND_ADDRESS"] == "203.0.113.7"
    assert cfg["API_RATE_LIMIT"] == (5, 1)
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.internal:5432/dd"
    assert cfg["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 10}
    assert (cfg["JOB_LEASE_SECONDS"], cfg["JOB_HEARTBEAT_SECONDS"]) == (12.0, 3.0)


def test_an_empty_variable_is_the_default(tmp_path, monkeypatch):
    cfg = config(tmp_path, monkeypatch, DATADOCK_WORKERS="", DATADOCK_SCHEDULER="", DATABASE_URL="")
    assert cfg["SCHEDULER_WORKERS"] == 4 and cfg["SCHEDULER_ENABLED"] is True
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


@pytest.mark.parametrize(
    "word,value",
    [
        ("true", True),
        ("on", True),
        ("yes", True),
        ("1", True),
        ("TRUE", True),
        (" On ", True),
        ("false", False),
        ("off", False),
        ("no", False),
        ("0", False),
        ("False", False),
    ],
)
def test_booleans(word, value, tmp_path, monkeypatch):
    assert config(tmp_path, monkeypatch, DATADOCK_SCHEDULER=word)["SCHEDULER_ENABLED"] is value


@pytest.mark.parametrize("word", ["maybe", "disabled", "2", "t", "nope", "-1"])
def test_anything_else_is_not_a_boolean(word, monkeypatch):
    assert refused(monkeypatch, DATADOCK_SCHEDULER=word) == (
        f"DATADOCK_SCHEDULER must be true or false (on/off, yes/no and 1/0 also work), got {word!r}"
    )


@pytest.mark.parametrize(
    "name,raw,message",
    [
        ("DATADOCK_WORKERS", "2.9", "must be a whole number, got '2.9'"),
        ("DATADOCK_WORKERS", "4 workers", "must be a whole number, got '4 workers'"),
        ("DATADOCK_WORKERS", "1e3", "must be a whole number, got '1e3'"),
        ("DATADOCK_WORKERS", "0", "must be at least 1, got '0'"),
        ("DATADOCK_HEALTH_WORKERS", "8.0", "must be a whole number, got '8.0'"),
        ("DATADOCK_TRUSTED_PROXIES", "-1", "must be at least 0, got '-1'"),
        ("DATADOCK_VERIFY_CONCURRENCY", "0", "must be at least 1, got '0'"),
        ("DATADOCK_VERIFY_CONCURRENCY_PER_ORG", "two", "must be a whole number, got 'two'"),
        ("DATADOCK_SESSION_MAX_HOURS", "0", "must be greater than 0, got '0'"),
        ("DATADOCK_SESSION_MAX_HOURS", "twelve", "must be a number, got 'twelve'"),
        ("DATADOCK_VERIFY_TIMEOUT", "nan", "must be a finite number, got 'nan'"),
        ("DATADOCK_SYNC_INTERVAL", "inf", "must be a finite number, got 'inf'"),
        ("DATADOCK_HEALTH_INTERVAL", "-5", "must be at least 0, got '-5'"),
        ("DATADOCK_TICK_SECONDS", "5s", "must be a number, got '5s'"),
        ("PORT", "80000", "must be at most 65535, got '80000'"),
        ("PORT", "http", "must be a whole number, got 'http'"),
        ("DATADOCK_ENV", "prod", "must be 'development' or 'production', got 'prod'"),
        (
            "DATADOCK_LOG_LEVEL",
            "loud",
            "must be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL', got 'loud'",
        ),
        ("DATADOCK_LOG_FORMAT", "xml", "must be 'json' or 'text', got 'xml'"),
        (
            "DATADOCK_EGRESS_ALLOW",
            "10.0.0.0/8,intranet",
            "'intranet' is not a network (e.g. 10.0.0.0/8), got '10.0.0.0/8,intranet'",
        ),
        (
            "DATADOCK_API_RATE_LIMIT",
            "lots",
            "'lots' is not a rate: use e.g. 120/minute, 10/second, 1000/hour, got 'lots'",
        ),
    ],
)
def test_malformed_values_are_refused_naming_the_variable(name, raw, message, monkeypatch):
    assert refused(monkeypatch, **{name: raw}) == f"{name} {message}"


def test_every_bad_variable_is_named_in_the_one_line(monkeypatch):
    assert refused(monkeypatch, DATADOCK_WORKERS="2.9", DATADOCK_SCHEDULER="perhaps") == (
        "DATADOCK_SCHEDULER must be true or false (on/off, yes/no and 1/0 also work), got "
        "'perhaps'; DATADOCK_WORKERS must be a whole number, got '2.9'"
    )


def test_the_heartbeat_must_beat_within_the_lease(monkeypatch):
    assert refused(
        monkeypatch, DATADOCK_JOB_LEASE_SECONDS="10", DATADOCK_JOB_HEARTBEAT_SECONDS="10"
    ) == (
        "DATADOCK_JOB_HEARTBEAT_SECONDS (10) must be shorter than DATADOCK_JOB_LEASE_SECONDS "
        "(10), or a running job's lease lapses between two renewals"
    )


def test_store_urls(monkeypatch):
    password = "s3cret-store-password"
    for url in (
        f"mysql://u:{password}@127.0.0.1/dd",
        f"mysql+pymysql://u:{password}@h/dd",
        f"mariadb://u:{password}@h/dd",
    ):
        message = refused(monkeypatch, DATABASE_URL=url)
        assert message.startswith(f"DATABASE_URL names a {url.split(':')[0]}:// store: ")
        assert password not in message
    message = refused(monkeypatch, DATABASE_URL=f"postgresql+psycopg2://u:{password}@h/dd")
    assert "psycopg 3" in message and password not in message
    assert refused(monkeypatch, DATABASE_URL="not a url at all").startswith(
        "DATABASE_URL is not a URL"
    )
    for url, stored in (
        ("postgres://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        ("postgresql://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        ("postgresql+psycopg://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
        ("sqlite:////var/lib/datadock.db", "sqlite:////var/lib/datadock.db"),
    ):
        monkeypatch.setenv("DATABASE_URL", url)
        assert load_settings().database_url.get_secret_value() == stored


def test_a_bad_fernet_key_is_named_by_position_never_shown(monkeypatch):
    message = refused(monkeypatch, DATADOCK_ENCRYPTION_KEYS=f"{KEY}, short-secret-key-text")
    assert message == (
        "key #2 in DATADOCK_ENCRYPTION_KEYS is not a valid Fernet key (32 "
        "url-safe base64-encoded bytes)"
    )


def test_production_needs_the_keys_and_names_the_missing_one(monkeypatch):
    base = {"DATADOCK_ENV": "production", "DATABASE_URL": "postgresql://u:p@h/d"}
    assert refused(monkeypatch, **base, DATADOCK_ENCRYPTION_KEYS=KEY).startswith(
        "DATADOCK_ENV=production needs SECRET_KEY to be set"
    )
    monkeypatch.delenv("DATADOCK_ENCRYPTION_KEYS")
    assert refused(monkeypatch, SECRET_KEY=SECRET).startswith(
        "DATADOCK_ENV=production needs DATADOCK_ENCRYPTION_KEYS to be set"
    )
    message = refused(monkeypatch, SECRET_KEY="short-key", DATADOCK_ENCRYPTION_KEYS=KEY)
    assert message.startswith("SECRET_KEY must be at least 32 characters in production")
    assert "short-key" not in message
    monkeypatch.setenv("SECRET_KEY", SECRET)
    assert load_settings().production


def test_production_refuses_a_sqlite_store_unless_opted_in(tmp_path, monkeypatch):
    base = {"DATADOCK_ENV": "Production", "SECRET_KEY": SECRET, "DATADOCK_ENCRYPTION_KEYS": KEY}
    assert refused(monkeypatch, **base) == (
        "DATADOCK_ENV=production with no DATABASE_URL: refusing to keep the store in a SQLite "
        "file on this machine's disk. Set DATABASE_URL to a PostgreSQL URL, or "
        "DATADOCK_ALLOW_SQLITE_IN_PRODUCTION=true if that disk is persistent"
    )
    assert refused(monkeypatch, DATABASE_URL=f"sqlite:///{tmp_path}/x.db").startswith(
        "DATADOCK_ENV=production with a SQLite DATABASE_URL: refusing"
    )
    assert refused(monkeypatch, DATADOCK_ALLOW_SQLITE_IN_PRODUCTION="sure").startswith(
        "DATADOCK_ALLOW_SQLITE_IN_PRODUCTION must be true or false"
    )
    cfg = config(tmp_path, monkeypatch, DATADOCK_ALLOW_SQLITE_IN_PRODUCTION="yes")
    assert cfg["DATADOCK_PRODUCTION"] and cfg["SESSION_COOKIE_SECURE"]
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.db"


def test_secret_values_stay_out_of_the_settings_repr(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("DATADOCK_ENCRYPTION_KEYS", KEY)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:store-pass@h/d")
    shown = repr(load_settings())
    assert SECRET not in shown and KEY not in shown and "store-pass" not in shown


def test_an_unknown_datadock_variable_is_warned_about(tmp_path, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="webapp.settings"):
        config(tmp_path, monkeypatch, DATADOCK_SCHEDULR="off", DATADOCK_ADMIN_PASSWORD="x" * 12)
    assert [r.getMessage() for r in caplog.records if r.name == "webapp.settings"] == [
        "ignored: DATADOCK_SCHEDULR is not a Datadock setting (see the README's configuration "
        "table)"
    ]


def test_create_app_reads_the_settings_and_overrides_win(monkeypatch):
    monkeypatch.setenv("DATADOCK_SESSION_MAX_HOURS", "6")
    monkeypatch.setenv("DATADOCK_VERIFY_CONCURRENCY", "9")
    app = create_app(
        {
            "TESTING": True,
            "SCHEDULER_ENABLED": False,
            "VERIFY_CONCURRENCY": 1,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert app.config["SESSION_MAX_HOURS"] == 6.0 and app.config["VERIFY_CONCURRENCY"] == 1
    assert isinstance(app.extensions["datadock_settings"], Settings)
    with pytest.raises(ConfigError, match="DATADOCK_VERIFY_CONCURRENCY must be at least 1"):
        monkeypatch.setenv("DATADOCK_VERIFY_CONCURRENCY", "0")
        create_app({"TESTING": True})


def test_a_missing_sqlite_folder_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/nowhere/datadock.db")
    with pytest.raises(ConfigError, match=r"DATABASE_URL: the SQLite store's folder .*nowhere"):
        create_app({"TESTING": True, "SCHEDULER_ENABLED": False})


def test_flask_config_and_load_config_agree(tmp_path, monkeypatch):
    monkeypatch.setenv("DATADOCK_WORKERS", "3")
    folder = str(tmp_path / "instance")
    assert flask_config(load_settings(), folder) == load_config(folder)


def test_the_readme_table_lists_every_variable_and_only_those():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))
    settings = variable_names()
    assert settings - listed == set(), "settings missing from the README's table"
    extra = {n for n in listed - settings if n.startswith("DATADOCK_")}
    assert extra == {"DATADOCK_ADMIN_PASSWORD"}, "README rows that no setting reads"
    for row in re.findall(r"^\| `[A-Z_]+` \|.*$", table, re.MULTILINE):
        cells = [cell.strip() for cell in row.strip().strip("|").split(" | ")]
        assert len(cells) == 3 and all(cells), f"a row needs a default and a meaning: {row}"
