"""MYSQL, MARIADB and PLANETSCALE against real throwaway MariaDB servers (one without TLS, one
with a test-CA certificate that refuses unencrypted connections), on loopback only."""

from __future__ import annotations

import pymysql
import pytest

from tests.integration.test_sources_postgres import org, sync_once, tables_of
from tests.integration.test_verify_postgres import failure
from tests.servers import free_port
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.connect.verify import open_connection
from webapp.dialects import SchemaFilter, Target, get_dialect

BAD_LOGIN = "Incorrect username or password"


def values(server, **changes):
    """Form-style input for a throwaway MariaDB, with `changes` applied."""
    raw = {
        "displayName": "Maria",
        "dialect": "MARIADB",
        "host": server.host,
        "port": server.port,
        "databaseName": server.database,
        "username": server.user,
        "password": server.password,
        "sslEnabled": False,
    }
    raw.update(changes)
    return raw


def tls_values(server, **changes):
    """Input for the TLS server, trusting the test CA."""
    return values(
        server,
        sslEnabled=True,
        sslMode="verify-full",
        sslCustomCertificatesEnabled=True,
        sslRootCertificate=server.ca_cert_path.read_text(),
        **changes,
    )


def statuses(error: ConnectionFailed) -> dict[str, str]:
    return {s["name"]: s["status"] for s in error.steps}


@pytest.mark.parametrize("dialect", ["MYSQL", "MARIADB"])
def test_success_reports_version_and_every_step(app, mariadb, dialect):
    with app.app_context():
        result = uc.verify_input(values(mariadb, dialect=dialect))
    assert result.server_version.startswith("MariaDB 10.")
    steps = {s["name"]: s["status"] for s in result.steps}
    assert steps == {
        "fields": "ok",
        "dns": "ok",
        "tcp": "ok",
        "ssh": "skipped",
        "response": "ok",
        "tls": "skipped",
        "auth": "ok",
        "database": "ok",
        "catalog": "ok",
    }


def test_wrong_password(app, mariadb):
    error = failure(app, values(mariadb, password="not-the-password"))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}
    assert error.step == "auth"
    assert "not-the-password" not in error.detail


def test_unknown_user_looks_like_a_wrong_password(app, mariadb):
    error = failure(app, values(mariadb, username="nobody_here"))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}


def test_unknown_database(app, mariadb):
    # A user with rights on every database is told plainly that the database does not exist.
    error = failure(
        app,
        values(
            mariadb,
            username=mariadb.wide_user,
            password=mariadb.wide_password,
            databaseName="no_such_db",
        ),
    )
    assert error.field_errors == {"databaseName": "Database does not exist"}
    assert statuses(error)["auth"] == "ok" and statuses(error)["database"] == "failed"


def test_database_without_rights(app, mariadb):
    error = failure(app, values(mariadb, databaseName="secretdb"))
    assert error.field_errors == {
        "databaseName": "Database does not exist, or this user may not use it"
    }
    assert error.step == "database"


def test_refused_port(app, mariadb):
    error = failure(app, values(mariadb, port=free_port()))
    assert error.field_errors == {"port": "Incorrect port"}
    assert "refused" in error.detail


def test_host_not_found(app, mariadb):
    error = failure(app, values(mariadb, host="db.nowhere.invalid"))
    assert error.field_errors == {"host": "Host not found"}


def test_unresponsive_host_costs_one_deadline(app, silent_port):
    app.config["VERIFY_TIMEOUT"] = 2.0
    raw = {
        "displayName": "x",
        "dialect": "MYSQL",
        "host": "127.0.0.1",
        "port": silent_port,
        "databaseName": "d",
        "username": "u",
        "password": "p",
        "sslEnabled": False,
    }
    error = failure(app, raw)
    assert statuses(error) == {
        "fields": "ok",
        "dns": "ok",
        "tcp": "ok",
        "ssh": "skipped",
        "response": "failed",
        "tls": "not_run",
        "auth": "not_run",
        "database": "not_run",
        "catalog": "not_run",
    }
    assert error.step == "response"  # accepted, never greeted: not an authentication failure
    assert error.field_errors == {
        "host": "127.0.0.1 accepted the connection but did not answer within 2 s"
    }
    assert "accepted the connection but never answered within 2 s" in error.detail
    assert "firewall" in error.detail and "outbound address" in error.detail


def test_ssl_on_against_a_server_without_ssl(app, mariadb):
    error = failure(app, values(mariadb, sslEnabled=True))
    assert error.field_errors == {"sslEnabled": "The server does not support SSL"}
    assert error.step == "tls"


def test_ssl_off_against_a_server_that_requires_it(app, mariadb_tls):
    error = failure(app, values(mariadb_tls, sslEnabled=False))
    assert error.field_errors == {"sslEnabled": "The server requires SSL"}
    assert error.step == "tls"


def test_a_wrong_password_stays_a_wrong_password_on_a_tls_only_server(app, mariadb_tls):
    error = failure(app, values(mariadb_tls, sslEnabled=False, password="nope-nope-nope"))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}


def test_tls_require_mode_encrypts_without_checking_the_certificate(app, mariadb_tls):
    with app.app_context():
        result = uc.verify_input(values(mariadb_tls, sslEnabled=True, sslMode="require"))
    assert {s["name"]: s["status"] for s in result.steps}["tls"] == "ok"


def test_verify_full_with_the_pasted_ca(app, mariadb_tls):
    with app.app_context():
        assert uc.verify_input(tls_values(mariadb_tls)).server_version.startswith("MariaDB")


def test_verify_ca_without_the_ca_is_not_trusted(app, mariadb_tls):
    error = failure(app, values(mariadb_tls, sslEnabled=True, sslMode="verify-ca"))
    assert error.field_errors == {"sslMode": "Certificate not trusted"}


def test_the_certificate_is_checked_against_the_name_the_user_typed(mariadb_tls):
    # The connection goes to the checked address; the name checked is the one typed.
    dialect = get_dialect("MYSQL")
    raw = tls_values(mariadb_tls, host="db.example.test")
    target = Target(raw, "127.0.0.1", 3.0, mariadb_tls.port)
    with pytest.raises(pymysql.err.OperationalError) as caught:
        dialect.connect(target)
    error = dialect.classify(caught.value, target)
    assert error.field_errors == {"sslMode": "Certificate does not match the host name"}
    assert "db.example.test" in error.detail


def test_a_pasted_client_certificate_is_presented(app, mariadb_tls):
    server = mariadb_tls
    raw = tls_values(
        server,
        username=server.x509_user,
        sslClientCertificate=server.client_cert,
        sslClientKey=server.client_key,
    )
    with app.app_context():
        assert uc.verify_input(raw).server_version.startswith("MariaDB")
    # Without it the server refuses the login (MariaDB does not say why).
    error = failure(app, tls_values(server, username=server.x509_user))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}


def test_a_client_key_of_another_certificate_is_named(app, mariadb_tls):
    server = mariadb_tls
    error = failure(
        app,
        tls_values(
            server,
            username=server.x509_user,
            sslClientCertificate=server.client_cert,
            sslClientKey=server.stranger_key,
        ),
    )
    assert error.field_errors == {"sslClientKey": "This key does not match the client certificate"}
    assert server.stranger_key not in error.detail


def test_planetscale_defaults_to_verified_tls(app, mariadb_tls):
    dialect = get_dialect("PLANETSCALE")
    assert dialect.field("sslEnabled").default is True
    assert dialect.field("sslMode").default == "verify-full"
    assert dialect.field("host").placeholder == "aws.connect.psdb.cloud"
    raw = tls_values(mariadb_tls, dialect="PLANETSCALE")
    del raw["sslMode"]  # the declared default applies
    with app.app_context():
        assert uc.verify_input(raw).server_version.startswith("MariaDB")


def test_local_infile_is_refused_on_datadock_connections(app, mariadb, tmp_path):
    source_file = tmp_path / "lines.txt"
    source_file.write_text("one\ntwo\n")
    statement = f"LOAD DATA LOCAL INFILE '{source_file}' INTO TABLE infile_target"
    with app.app_context():
        opened = open_connection(get_dialect("MARIADB"), values(mariadb), 5.0)
    try:
        with (
            opened.connection.cursor() as cur,
            pytest.raises(pymysql.err.OperationalError) as caught,
        ):
            cur.execute(statement)
        # 4166 (MariaDB) / 1148, 3948 (MySQL): the client did not offer LOCAL INFILE.
        assert caught.value.args[0] in (1148, 3948, 4166)
    finally:
        opened.close()
    admin = mariadb.admin("appdb")
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM infile_target")
            assert cur.fetchone()[0] == 0
        # The server itself allows it: a client that enables LOCAL INFILE succeeds.
        enabled = pymysql.connect(
            host=mariadb.host,
            port=mariadb.port,
            user=mariadb.user,
            password=mariadb.password,
            database="appdb",
            local_infile=True,
            autocommit=True,
            read_timeout=10,
        )
        with enabled, enabled.cursor() as cur:
            cur.execute(statement)
            cur.execute("SELECT COUNT(*) FROM infile_target")
            assert cur.fetchone()[0] == 2
    finally:
        with admin.cursor() as cur:
            cur.execute("DELETE FROM infile_target")
        admin.close()


def test_save_and_sync_reads_tables_views_keys_and_odd_names(app, admin, mariadb):
    with app.app_context():
        source = sync_once(uc.create_source(org(app), values(mariadb)).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        # No schema pattern: the named database only.
        assert {t.schema_name for t in tables.values()} == {"appdb"}
        assert {
            "appdb.customers",
            "appdb.orders",
            "appdb.order_lines",
            "appdb.line_notes",
            "appdb.big_orders",
            "appdb.we\"ird 'tåble`s",
        } <= set(tables)
        assert tables["appdb.big_orders"].kind == "view"
        assert tables["appdb.orders"].kind == "table"
        orders = {c["name"]: c for c in tables["appdb.orders"].columns}
        assert orders["id"]["primaryKey"] and not orders["id"]["nullable"]
        assert orders["total"]["type"] == "decimal(10,2)" and orders["total"]["nullable"]
        assert orders["created_at"]["default"] == "current_timestamp()"
        lines = tables["appdb.order_lines"].columns
        assert [c["name"] for c in lines if c["primaryKey"]] == ["order_id", "line_no"]
        odd = tables["appdb.we\"ird 'tåble`s"].columns
        assert [(c["name"], c["primaryKey"]) for c in odd] == [
            ("spa ced col", True),
            ('ünï"cödé', False),
        ]
        assert tables["appdb.orders"].foreign_keys == [
            {
                "name": "fk_orders_customer",
                "columns": ["customer_id"],
                "referredSchema": "appdb",
                "referredTable": "customers",
                "referredColumns": ["id"],
            }
        ]
        assert tables["appdb.customers"].row_estimate == 3  # ANALYZE TABLE ran
        assert tables["appdb.big_orders"].row_estimate is None
    page = admin.get(f"/sources/{source.id}").get_data(as_text=True)
    assert "line_notes" in page and "MariaDB" in page


def test_introspection_reads_foreign_keys_and_row_estimates(app, mariadb):
    dialect = get_dialect("MARIADB")
    with app.app_context():
        opened = open_connection(dialect, values(mariadb), 5.0)
    try:
        tables = {
            (t.schema, t.name): t
            for t in dialect.introspect(
                opened.connection, SchemaFilter.parse("app*, analytics", "")
            )
        }
    finally:
        opened.close()
    assert tables[("appdb", "orders")].foreign_keys == [
        {
            "name": "fk_orders_customer",
            "columns": ["customer_id"],
            "referredSchema": "appdb",
            "referredTable": "customers",
            "referredColumns": ["id"],
        }
    ]
    assert tables[("appdb", "line_notes")].foreign_keys == [
        {
            "name": "fk_notes_line",
            "columns": ["order_id", "line_no"],
            "referredSchema": "appdb",
            "referredTable": "order_lines",
            "referredColumns": ["order_id", "line_no"],
        }
    ]
    # A key into another database (schema) names it.
    assert tables[("analytics", "events")].foreign_keys[0]["referredSchema"] == "appdb"
    assert tables[("appdb", "customers")].row_estimate == 3  # ANALYZE TABLE ran
    assert tables[("appdb", "big_orders")].row_estimate is None
    assert tables[("appdb", "customers")].foreign_keys == []


def test_schema_patterns_pick_databases_and_exclude_wins(app, admin, mariadb):
    raw = values(mariadb, includeSchemas="*", excludeSchemas="scratch")
    with app.app_context():
        source = sync_once(uc.create_source(org(app), raw).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        schemas = {t.schema_name for t in tables_of(source).values()}
    # Every database the user can see except the excluded one; never system databases, never
    # one the user has no rights on.
    assert schemas == {"appdb", "analytics"}


def test_excluding_the_named_database_syncs_nothing(app, admin, mariadb):
    raw = values(mariadb, excludeSchemas="APPDB")
    with app.app_context():
        source = sync_once(uc.create_source(org(app), raw).id)
        assert source.last_sync_status == "SUCCESS"
        assert tables_of(source) == {}


def test_verify_and_sync_through_an_ssh_tunnel(app, admin, mariadb, sshd):
    # The database host is given as the SSH server sees it.
    raw = values(
        mariadb,
        sshEnabled=True,
        sshHost=sshd.host,
        sshPort=sshd.port,
        sshUsername=sshd.user,
        sshPassword=sshd.password,
    )
    with app.app_context():
        result = uc.verify_input(raw)
        assert {s["name"]: s["status"] for s in result.steps}["ssh"] == "ok"
        source = sync_once(uc.create_source(org(app), raw).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        assert "appdb.order_lines" in tables_of(source)
