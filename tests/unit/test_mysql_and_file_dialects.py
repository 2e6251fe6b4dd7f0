"""MySQL family and file dialects without a server: declarations, form swaps, pasted URLs."""

import re

import pytest

from webapp.dialects import DIALECTS, FieldInvalid, SchemaFilter, get_dialect
from webapp.dialects.mysql import COLUMNS_QUERY, _like, catalog_query
from webapp.dialects.urls import parse_connection_string

KNOWN = set(DIALECTS)


def test_registered_in_module_order_and_listed_so_in_the_form(admin):
    keys = list(DIALECTS)
    assert (
        keys.index("MYSQL")
        < keys.index("PLANETSCALE")
        < keys.index("MARIADB")
        < keys.index("SQLITE")
        < keys.index("DUCKDB")
    )
    html = admin.get("/sources/new").get_data(as_text=True)
    listed = re.findall(r'<option[^>]*value="([A-Z0-9_]+)"', html)  # S3 has a digit
    assert listed == keys


@pytest.mark.parametrize("key", ["MYSQL", "PLANETSCALE", "MARIADB"])
def test_mysql_family_fields(key):
    dialect = get_dialect(key)
    names = [f.name for f in dialect.fields]
    assert names[:6] == ["host", "port", "databaseName", "username", "password", "sslEnabled"]
    assert "sshEnabled" in names and "sslRootCertificate" in names
    assert dialect.field("port").default == 3306
    assert dialect.secret_names == (
        "password",
        "sslClientKey",
        "sshPassword",
        "sshPrivateKey",
        "sshPrivateKeyPassphrase",
    )
    # Only the modes PyMySQL can honour; nothing that reads server files is a field.
    assert [c[0] for c in dialect.field("sslMode").choices] == [
        "require",
        "verify-ca",
        "verify-full",
    ]
    assert not [n for n in names if "infile" in n.lower() or "option" in n.lower()]
    with pytest.raises(FieldInvalid):
        dialect.field("host").clean("db.example.com;local_infile=1")


@pytest.mark.parametrize("key", ["SQLITE", "DUCKDB"])
def test_file_dialects_take_one_path_and_no_secrets(key):
    dialect = get_dialect(key)
    # DuckDB may also attach databases: their JSON carries passwords, so it is secret.
    attached = ["attachedDatabases"] if key == "DUCKDB" else []
    assert [f.name for f in dialect.fields] == ["databaseName", *attached]
    assert dialect.field("databaseName").label == "Database file"
    assert "DATADOCK_DATA_DIR" in dialect.field("databaseName").help
    assert dialect.secret_names == tuple(attached)
    assert dialect.steps == ("fields", "file", "database", "catalog")


def test_swapping_to_mysql_keeps_shared_values_and_takes_its_own_port(admin):
    html = admin.get(
        "/sources/fieldset?dialect=MYSQL&host=x.example.com&port=5432"
        "&username=reader&databaseName=shop&password=leak-me"
    ).get_data(as_text=True)
    assert "MySQL connection" in html
    assert 'value="x.example.com"' in html and 'value="reader"' in html
    assert 'value="shop"' in html
    assert 'value="3306"' in html and "5432" not in html  # PostgreSQL's default was left
    assert "leak-me" not in html


def test_a_typed_port_survives_the_swap(admin):
    html = admin.get("/sources/fieldset?dialect=MARIADB&host=x&port=3307").get_data(as_text=True)
    assert 'value="3307"' in html


def test_swapping_to_sqlite_shows_only_the_file_field(admin):
    html = admin.get("/sources/fieldset?dialect=SQLITE&host=x&port=5432").get_data(as_text=True)
    assert "Database file" in html and 'name="databaseName"' in html
    assert 'name="host"' not in html and 'name="password"' not in html


def test_mysql_and_mariadb_urls_fill_the_fields():
    dialect, values = parse_connection_string(
        "mysql://app%40corp:p%3Ass@db.example.com:3307/shop?ssl-mode=VERIFY_IDENTITY", KNOWN
    )
    assert dialect == "MYSQL"
    assert values == {
        "host": "db.example.com",
        "port": 3307,
        "username": "app@corp",
        "password": "p:ss",
        "databaseName": "shop",
        "sslEnabled": True,
        "sslMode": "verify-full",
    }
    dialect, values = parse_connection_string("mariadb://u@10.0.0.5/app?ssl-mode=DISABLED", KNOWN)
    assert dialect == "MARIADB" and values["sslEnabled"] is False
    assert (
        parse_connection_string("mysql+pymysql://u@h/db?ssl-mode=REQUIRED", KNOWN)[1]["sslMode"]
        == "require"
    )


def test_a_psdb_host_is_planetscale():
    dialect, values = parse_connection_string(
        "mysql://abc:pscale_pw_x@aws.connect.psdb.cloud/shop?sslaccept=strict", KNOWN
    )
    assert dialect == "PLANETSCALE"
    assert values["sslEnabled"] is True and values["sslMode"] == "verify-full"


def test_driver_options_in_a_url_are_ignored(app):
    from webapp.sources import clean_input

    raw = {
        "displayName": "x",
        "port": "3306",
        "connectionString": "mysql://u:p@db.example.com/shop?local_infile=1&allowLoadLocalInfile=true"
        "&init_command=DROP+TABLE+x",
    }
    with app.app_context():
        data = clean_input(raw)
    assert data.dialect.key == "MYSQL"
    assert not [k for k in data.values if "infile" in k.lower() or "command" in k.lower()]


@pytest.mark.parametrize(
    "text",
    [
        "sqlite:///data/shop.db",
        "sqlite:////etc/passwd",
        "duckdb:///x.duckdb",
        "duckdb://host/x.duckdb",
        "sqlite://localhost/etc/passwd",
        "file:///etc/passwd",
    ],
)
def test_file_databases_are_not_connection_strings(text):
    with pytest.raises(FieldInvalid):
        parse_connection_string(text, KNOWN)


def test_schema_globs_become_escaped_like_patterns():
    assert _like("App_*") == "app!_%"
    assert _like("a%b?") == "a!%b_"
    query, params = catalog_query(COLUMNS_QUERY, SchemaFilter.parse("sales_*, hr", "scratch"))
    assert params == ["sales!_%", "hr"]
    assert query.count("%s") == 2 and "DATABASE()" not in query and "'mysql'" in query
    query, params = catalog_query(COLUMNS_QUERY, SchemaFilter())
    assert params is None and "TABLE_SCHEMA = DATABASE()" in query
