"""The add form's server side of issue 14: a verify whose fields are another dialect's shows
the chosen dialect's fields instead; only fields that mean the same thing carry over; a
connection string that cannot be read swaps nothing but its message; the hint is the
dialect's; "Retry without SSL" verifies with SSL off."""

from __future__ import annotations

from tests.fixtures_app import csrf_token


def test_htmx_verify_with_another_dialects_fields_swaps_the_fieldset(admin):
    token = csrf_token(admin, "/sources/new")
    response = admin.post(
        "/sources/verify",
        headers={"HX-Request": "true"},
        data={
            "csrf_token": token,
            "dialect": "MYSQL",
            "fieldsetDialect": "POSTGRES",
            "host": "db.example.test",
            "port": "5432",
            "password": "typed-secret",
        },
    )
    html = response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#dialect-fields"
    assert "MySQL connection" in html and 'value="db.example.test"' in html
    assert 'value="3306"' in html  # PostgreSQL's default port is not MySQL's
    assert "typed-secret" not in html and "verified" not in html


def test_mysql_database_name_is_not_sqlites_database_file(admin):
    html = admin.get(
        "/sources/fieldset",
        query_string={"dialect": "SQLITE", "fieldsetDialect": "MYSQL", "databaseName": "shop"},
    ).get_data(as_text=True)
    assert "Database file" in html and 'value="shop"' not in html
    same = admin.get(
        "/sources/fieldset",
        query_string={"dialect": "MARIADB", "fieldsetDialect": "MYSQL", "databaseName": "shop"},
    ).get_data(as_text=True)
    assert 'value="shop"' in same


def test_unreadable_connection_string_swaps_only_its_message(admin):
    token = csrf_token(admin, "/sources/new")
    response = admin.post(
        "/sources/connection-string",
        headers={"HX-Request": "true"},
        data={"csrf_token": token, "dialect": "MYSQL", "connectionString": "nonsense"},
    )
    html = response.get_data(as_text=True)
    assert response.headers["HX-Reswap"] == "none"
    assert 'id="dialect-fields"' not in html
    assert "mysql://user:password@host:3306/database" in html


def test_the_hint_is_the_dialects(admin):
    sqlite = admin.get("/sources/new?dialect=SQLITE").get_data(as_text=True)
    assert "SQLite takes no connection string" in sqlite
    assert "postgresql://" not in sqlite
    pg = admin.get("/sources/new").get_data(as_text=True)
    assert "postgresql://user:password@host:5432/database" in pg


def test_retry_without_ssl_verifies_with_ssl_off(admin, pg_nossl):
    token = csrf_token(admin, "/sources/new")
    values = {
        "csrf_token": token,
        "dialect": "POSTGRES",
        "fieldsetDialect": "POSTGRES",
        "host": pg_nossl.host,
        "port": str(pg_nossl.port),
        "databaseName": pg_nossl.database,
        "username": pg_nossl.user,
        "password": pg_nossl.password,
        "sslEnabled": "y",
        "sslMode": "require",
        "displayName": "Local",
        "maxPoolSize": "10",
    }
    first = admin.post("/sources/verify", headers={"HX-Request": "true"}, data=values)
    assert "Retry without SSL" in first.get_data(as_text=True)
    retry = admin.post(
        "/sources/verify",
        headers={"HX-Request": "true"},
        data={**values, "retryWithoutSsl": "1"},
    )
    assert "Connection verified." in retry.get_data(as_text=True)
    assert pg_nossl.password not in retry.get_data(as_text=True)


def test_mariadb_login_without_a_password(admin, mariadb):
    """Bug 6 on MariaDB: a user created without a password verifies with the field blank."""
    with mariadb.admin() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER IF NOT EXISTS 'datadock_nopw'@'%'")
        cur.execute(f"GRANT SELECT ON `{mariadb.database}`.* TO 'datadock_nopw'@'%'")
    token = csrf_token(admin, "/sources/new?dialect=MARIADB")
    response = admin.post(
        "/sources/verify",
        headers={"HX-Request": "true"},
        data={
            "csrf_token": token,
            "dialect": "MARIADB",
            "fieldsetDialect": "MARIADB",
            "displayName": "No password",
            "maxPoolSize": "10",
            "host": mariadb.host,
            "port": str(mariadb.port),
            "databaseName": mariadb.database,
            "username": "datadock_nopw",
            "password": "",
        },
    )
    assert "Connection verified." in response.get_data(as_text=True)
