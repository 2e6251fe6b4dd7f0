"""DuckDB attached databases, live: the throwaway PostgreSQL and MariaDB, a SQLite file in the
data folder and a DuckDB file in moto's S3 server, attached read-only through the PyPI
extensions (offline), each address checked by the egress policy first."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest

from tests.integration.s3_helpers import BUCKET, s3  # noqa: F401 - the fixture
from tests.integration.test_sources_postgres import org, sync_once, tables_of
from tests.integration.test_verify_postgres import failure
from tests.servers import free_port
from webapp import sources as uc
from webapp.connect.verify import open_connection
from webapp.core.refusal import ValidationFailed
from webapp.dialects import get_dialect

FIELD = "attachedDatabases"
SYSTEM = {"information_schema", "pg_catalog", "mysql", "performance_schema", "sys"}


@pytest.fixture
def main_file(app) -> str:
    """A DuckDB file and a SQLite file in the app's data folder."""
    folder = Path(app.config["DATA_DIR"])
    with duckdb.connect(str(folder / "main.duckdb")) as con:
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR)")
    with sqlite3.connect(folder / "lite.sqlite") as lite:
        lite.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)")
    return "main.duckdb"


def pg_attachment(pg, **changes):
    values = {
        "host": pg.host,
        "port": pg.port,
        "databaseName": pg.database,
        "userName": pg.user,
        "password": pg.password,
        **changes,
    }
    return {"name": "crm", "type": "postgres", "postgresConnection": values}


def maria_attachment(mariadb, **changes):
    values = {
        "host": mariadb.host,
        "port": mariadb.port,
        "databaseName": mariadb.database,
        "userName": mariadb.user,
        "password": mariadb.password,
        **changes,
    }
    return {"name": "shop", "type": "mysql", "mysqlConnection": values}


def values(path, *attachments):
    return {
        "displayName": "Duck",
        "dialect": "DUCKDB",
        "databaseName": path,
        FIELD: json.dumps(list(attachments)),
    }


def test_postgres_mysql_and_sqlite_attach_and_sync_as_catalogs(app, admin, pg, mariadb, main_file):
    raw = values(
        main_file,
        pg_attachment(pg),
        maria_attachment(mariadb),
        {"name": "lite", "type": "sqlite", "sqliteConnection": {"path": "lite.sqlite"}},
    )
    with app.app_context():
        result = uc.verify_input(raw)
        assert result.server_version.startswith("DuckDB")
        source = sync_once(uc.create_source(org(app), raw).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        assert source.secrets_blob and pg.password.encode() not in source.secrets_blob
    assert "main.notes" in tables
    assert "crm.public.customers" in tables and "crm.analytics.events" in tables
    assert "shop.appdb.orders" in tables
    assert "lite.main.items" in tables
    customers = {c["name"]: c for c in tables["crm.public.customers"].columns}
    assert customers["name"]["type"] == "VARCHAR"


def test_attached_databases_are_read_only_and_nothing_else_is_reachable(app, pg, main_file):
    with app.app_context():
        opened = open_connection(get_dialect("DUCKDB"), values(main_file, pg_attachment(pg)), 10.0)
    try:
        con = opened.connection
        assert con.execute("SELECT count(*) FROM crm.public.customers").fetchone()[0] >= 0
        with pytest.raises(duckdb.Error, match=r"(?i)read.only"):
            con.execute("CREATE TABLE crm.public.evil (x int)")
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute("SET enable_external_access = true")
    finally:
        opened.close()


def test_a_duckdb_file_in_s3_attaches(app, s3, main_file, tmp_path):  # noqa: F811
    lake = tmp_path / "lake.duckdb"
    with duckdb.connect(str(lake)) as con:
        con.execute("CREATE TABLE metrics (day DATE, value DOUBLE)")
    s3.client().put_object(Bucket=BUCKET, Key="lake/lake.duckdb", Body=lake.read_bytes())
    attachment = {
        "name": "lake",
        "type": "s3",
        "s3Connection": {
            "url": f"s3://{BUCKET}/lake/lake.duckdb",
            "accessKeyId": s3.key_id,
            "secretAccessKey": s3.secret,
            "region": s3.region,
            "endpoint": s3.endpoint,
        },
    }
    dialect = get_dialect("DUCKDB")
    with app.app_context():
        opened = open_connection(dialect, values(main_file, attachment), 10.0)
    try:
        names = {f"{t.schema}.{t.name}" for t in dialect.introspect(opened.connection)}
    finally:
        opened.close()
    assert "lake.main.metrics" in names
    wrong = {
        **attachment,
        "s3Connection": {**attachment["s3Connection"], "secretAccessKey": "x" * 40},
    }
    error = failure(app, values(main_file, wrong))
    # DuckDB reports a refused key on S3 as a missing file.
    assert error.field_errors == {FIELD: "lake: no such file, or the key may not read it"}
    assert s3.secret not in str(error.body())


def test_a_wrong_password_and_a_refused_port_name_the_attachment(app, pg, mariadb, main_file):
    error = failure(app, values(main_file, pg_attachment(pg, password="not-it")))
    assert error.field_errors == {FIELD: "crm: wrong user name or password (or key)"}
    assert "not-it" not in str(error.body())
    error = failure(app, values(main_file, maria_attachment(mariadb, password="not-it")))
    assert error.field_errors == {FIELD: "shop: wrong user name or password (or key)"}
    error = failure(app, values(main_file, pg_attachment(pg, port=free_port())))
    assert error.field_errors == {FIELD: "crm: nothing answers at this host and port"}


def test_a_host_that_never_answers_costs_one_deadline(app, mariadb, main_file, silent_port):
    error = failure(app, values(main_file, maria_attachment(mariadb, port=silent_port)))
    assert error.field_errors == {FIELD: "An attached database did not answer in time"}


def test_each_address_passes_the_egress_policy_first(app, pg, main_file):
    app.config["EGRESS_BLOCK"] = ["127.0.0.0/8"]
    error = failure(app, values(main_file, pg_attachment(pg)))
    assert error.field_errors == {FIELD: "crm: This address is not allowed"}


def test_a_link_to_the_store_is_refused(app, main_file):
    # The data folder's file policy applies to SQLite attachments as to SQLite sources.
    store = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    (Path(app.config["DATA_DIR"]) / "own.sqlite").symlink_to(store)
    error = failure(
        app,
        values(
            main_file, {"name": "own", "type": "sqlite", "sqliteConnection": {"path": "own.sqlite"}}
        ),
    )
    assert error.field_errors == {FIELD: "own: Use a path inside the data folder"}


@pytest.mark.parametrize(
    "attachment,message",
    [
        (
            {"name": "bq", "type": "bigquery", "bigqueryConnection": {}},
            "BigQuery cannot be attached",
        ),
        ({"name": "sf", "type": "snowflake"}, "Snowflake cannot be attached"),
        ({"name": "Main", "type": "sqlite", "sqliteConnection": {"path": "a"}}, "name must be"),
        (
            {"name": "x", "type": "postgres", "postgresConnection": {"host": "h"}},
            "postgresConnection.databaseName is required",
        ),
        (
            {"name": "x", "type": "sqlite", "sqliteConnection": {"path": "/etc/passwd"}},
            "path must be relative",
        ),
        (
            {
                "name": "x",
                "type": "s3",
                "s3Connection": {
                    "url": "s3://b/*.duckdb",
                    "accessKeyId": "a",
                    "secretAccessKey": "b",
                },
            },
            "url must be",
        ),
        (
            {
                "name": "x",
                "type": "mysql",
                "mysqlConnection": {
                    "host": "h",
                    "databaseName": "d",
                    "userName": "u",
                    "sslmode": "x",
                },
            },
            "unknown mysqlConnection keys sslmode",
        ),
    ],
)
def test_attachments_are_checked_before_anything_connects(app, attachment, message):
    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        uc.verify_input(values("main.duckdb", attachment))
    assert message in caught.value.field_errors[FIELD]


def test_not_json_is_a_field_error(app):
    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        uc.verify_input({**values("main.duckdb"), FIELD: "[{"})
    assert caught.value.field_errors[FIELD] == "Attached databases must be a JSON list of objects"


def test_a_plain_file_keeps_external_access_off(app, main_file):
    with app.app_context():
        opened = open_connection(get_dialect("DUCKDB"), values(main_file), 5.0)
    try:
        with pytest.raises(duckdb.Error):
            opened.connection.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
        setting = opened.connection.execute(
            "SELECT current_setting('enable_external_access')"
        ).fetchone()[0]
        assert setting is False
    finally:
        opened.close()


def test_the_saved_list_is_never_shown_again(app, admin, pg, main_file):
    html = admin.get("/sources/fieldset?dialect=DUCKDB").get_data(as_text=True)
    assert 'name="attachedDatabases"' in html
    with app.app_context():
        source = uc.create_source(org(app), values(main_file, pg_attachment(pg)))
        source_id = source.id
    for page in (f"/sources/{source_id}", f"/sources/{source_id}/edit"):
        text = admin.get(page).get_data(as_text=True)
        assert pg.password not in text, page
        assert pg.host not in text, page  # the list is write-only: nothing of it is shown


def test_attached_catalogs_hold_no_system_schemas(app, pg, mariadb, main_file):
    dialect = get_dialect("DUCKDB")
    with app.app_context():
        opened = open_connection(
            dialect, values(main_file, pg_attachment(pg), maria_attachment(mariadb)), 10.0
        )
    try:
        schemas = {t.schema for t in dialect.introspect(opened.connection)}
    finally:
        opened.close()
    print(sorted(schemas))
    assert {"main", "crm.public", "crm.analytics", "shop.appdb"} <= schemas
    assert not {s for s in schemas if s.split(".")[-1] in SYSTEM}
