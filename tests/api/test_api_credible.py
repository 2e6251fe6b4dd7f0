"""The Credible Data face, /api/v0/projects/{projectName}/connections/{connectionName}, against
the throwaway PostgreSQL and MariaDB: Credible's documented example request unchanged (hosts
pointed at the test servers), GET and DELETE of the same path, projects created on first use,
and each error case."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from tests.api.conftest import Api
from webapp.api.credible import CredibleError, to_fields
from webapp.api_keys import create_key
from webapp.dialects import get_dialect
from webapp.extensions import db
from webapp.models import Organization, Project, Source

URL = "/api/v0/projects/my-project/connections/my-conn"


def documented_example(pg) -> dict:
    """Credible's postgres connection example, with the test server's address."""
    return {
        "type": "postgres",
        "postgresConnection": {
            "host": pg.host,
            "port": pg.port,
            "databaseName": pg.database,
            "userName": pg.user,
            "password": pg.password,
        },
    }


def call(api: Api, method: str, url: str = URL, key: str | None = None, **kwargs):
    return api.client.open(
        url, method=method, headers={"Authorization": f"Bearer {key or api.key}"}, **kwargs
    )


def error_of(response) -> dict:
    body = response.get_json()
    assert {"code", "message"} <= set(body), body
    return body


def test_documented_example_then_get_then_delete(app, api: Api, pg):
    created = call(api, "POST", json=documented_example(pg))
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json() == {
        "message": "Connection 'my-conn' created in project 'my-project'."
    }
    with app.app_context():
        project = db.session.scalar(db.select(Project).filter_by(name="my-project"))
        source = db.session.scalar(db.select(Source).filter_by(display_name="my-conn"))
        assert project.organization_id == api.org_id and source.project_id == project.id
        assert source.last_sync_status == "PENDING"  # the first sync is queued

    got = call(api, "GET")
    assert got.status_code == 200
    data = got.get_json()
    assert data["name"] == "my-conn" and data["type"] == "postgres"
    assert data["resource"] == URL
    assert data["postgresConnection"] == {
        "host": pg.host,
        "port": pg.port,
        "databaseName": pg.database,
        "userName": pg.user,
    }
    assert pg.password not in got.get_data(as_text=True)

    again = call(api, "POST", json=documented_example(pg))
    assert again.status_code == 409
    assert "already exists in project 'my-project'" in error_of(again)["message"]

    deleted = call(api, "DELETE")
    assert deleted.status_code == 200 and "deleted" in deleted.get_json()["message"]
    assert call(api, "GET").status_code == 404
    assert call(api, "DELETE").status_code == 404


def test_mysql_connection_on_mariadb(app, api: Api, mariadb_tls):
    body = {
        "type": "mysql",
        "mysqlConnection": {
            "host": mariadb_tls.host,
            "port": mariadb_tls.port,
            "database": mariadb_tls.database,
            "user": mariadb_tls.user,
            "password": mariadb_tls.password,
        },
    }
    response = call(api, "POST", "/api/v0/projects/shop/connections/orders_db", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    got = call(api, "GET", "/api/v0/projects/shop/connections/orders_db").get_json()
    assert got["mysqlConnection"]["user"] == mariadb_tls.user


def test_a_name_taken_in_another_project_is_refused(app, api: Api, pg):
    assert call(api, "POST", json=documented_example(pg)).status_code == 201
    other = call(
        api, "POST", "/api/v0/projects/other/connections/my-conn", json=documented_example(pg)
    )
    assert other.status_code == 409
    assert "unique across an organization's projects" in error_of(other)["message"]
    # The other project's path does not reach the first project's connection.
    assert call(api, "GET", "/api/v0/projects/other/connections/my-conn").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/api/v0/projects/my%20project/connections/my-conn",
        "/api/v0/projects/my-project/connections/my.conn",
        "/api/v0/projects/" + "p" * 121 + "/connections/c",
    ],
)
def test_names_must_match_the_pattern(api: Api, pg, url):
    for method in ("POST", "GET", "DELETE"):
        response = call(api, method, url, json=documented_example(pg))
        assert response.status_code == 400, (method, url)
        assert error_of(response)["code"] == "BadRequest"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"postgresConnection": {}}, "type", "one of postgres, mysql, bigquery"),
        ({"type": "oracle"}, "type", "Required: one of"),
        ({"type": "postgres"}, "postgresConnection", "Required"),
        (
            {"type": "postgres", "postgresConnection": {"hostname": "x"}},
            "postgresConnection.hostname",
            "Unknown field for postgres",
        ),
        (
            {"type": "postgres", "postgresConnection": {"port": "5432"}},
            "postgresConnection.port",
            "whole number",
        ),
        (
            {"type": "postgres", "postgresConnection": {}, "mysqlConnection": {}},
            "mysqlConnection",
            "Not used with type 'postgres'",
        ),
        (
            {"type": "postgres", "name": "other", "postgresConnection": {}},
            "name",
            "connectionName of the path",
        ),
    ],
)
def test_bad_bodies(api: Api, body, field, words):
    response = call(api, "POST", json=body)
    assert response.status_code == 400
    assert words in error_of(response)["fieldErrors"][field]


def test_missing_fields_are_named_by_credible(api: Api):
    response = call(api, "POST", json={"type": "postgres", "postgresConnection": {}})
    assert response.status_code == 400
    assert {
        "postgresConnection.host",
        "postgresConnection.userName",
        "postgresConnection.databaseName",
    } <= set(error_of(response)["fieldErrors"])


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b""])
def test_a_body_that_is_not_an_object(api: Api, raw):
    response = call(api, "POST", data=raw, content_type="application/json")
    assert response.status_code == 400 and error_of(response)["code"] == "BadRequest"


def test_a_failed_connection_test_stores_nothing(app, api: Api, pg):
    body = documented_example(pg)
    body["postgresConnection"]["password"] = "not the password"
    response = call(api, "POST", json=body)
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "ConnectionFailed"
    assert error["fieldErrors"] == {
        "postgresConnection.userName": "Incorrect username or password",
        "postgresConnection.password": "Incorrect username or password",
    }
    assert "not the password" not in response.get_data(as_text=True)
    assert call(api, "GET").status_code == 404
    with app.app_context():  # the project this request would have created is not left over
        assert db.session.scalar(db.select(Project).filter_by(name="my-project")) is None


def test_keys_and_scopes(app, api: Api, pg):
    for headers in ({}, {"Authorization": "Bearer ddk_nope"}):
        response = api.client.post(URL, json=documented_example(pg), headers=headers)
        assert response.status_code == 401 and error_of(response)["code"] == "Unauthorized"
    with app.app_context():
        org = db.session.get(Organization, api.org_id)
        _, read_key = create_key(org, "reader", scope="read")
    refused = call(api, "POST", json=documented_example(pg), key=read_key)
    assert refused.status_code == 403 and error_of(refused)["code"] == "Forbidden"
    assert call(api, "POST", json=documented_example(pg)).status_code == 201
    assert call(api, "GET", key=read_key).status_code == 200
    assert call(api, "DELETE", key=read_key).status_code == 403


def test_another_organization_sees_nothing(app, api: Api, other_api: Api, pg):
    assert call(api, "POST", json=documented_example(pg)).status_code == 201
    assert call(other_api, "GET").status_code == 404
    assert call(other_api, "DELETE").status_code == 404


def test_duckdb_with_attached_databases(app, api: Api, pg):
    folder = Path(app.config["DATA_DIR"])
    duckdb.connect(str(folder / "main.duckdb")).close()
    with sqlite3.connect(folder / "lite.sqlite") as lite:
        lite.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
    attached = [
        {
            "name": "crm",
            "type": "postgres",
            "postgresConnection": {
                "host": pg.host,
                "port": pg.port,
                "databaseName": pg.database,
                "userName": pg.user,
                "password": pg.password,
            },
        },
        {"name": "lite", "type": "sqlite", "sqliteConnection": {"path": "lite.sqlite"}},
    ]
    url = "/api/v0/projects/lake/connections/duck"
    response = call(
        api,
        "POST",
        url,
        json={
            "type": "duckdb",
            "duckdbConnection": {"databasePath": "main.duckdb", "attachedDatabases": attached},
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    got = call(api, "GET", url)
    assert got.get_json()["duckdbConnection"] == {"databasePath": "main.duckdb"}
    assert pg.password not in got.get_data(as_text=True)
    refused = call(
        api,
        "POST",
        "/api/v0/projects/lake/connections/duck2",
        json={
            "type": "duckdb",
            "duckdbConnection": {"databasePath": "main.duckdb", "attachedDatabases": "crm"},
        },
    )
    assert refused.status_code == 400
    assert "Send a list" in error_of(refused)["fieldErrors"]["duckdbConnection.attachedDatabases"]


def test_every_documented_field_reaches_a_declared_field():
    """BigQuery and Snowflake are cloud services (no traffic leaves this machine): their
    translation is checked up to the use-case's input."""
    bigquery = {
        "type": "bigquery",
        "bigqueryConnection": {
            "defaultProjectId": "p",
            "billingProjectId": "b",
            "location": "EU",
            "serviceAccountKeyJson": "{}",
            "maximumBytesBilled": "1000000",
            "queryTimeoutMilliseconds": 60000,
        },
    }
    snowflake = {
        "type": "snowflake",
        "snowflakeConnection": {
            "account": "acme-x1",
            "username": "u",
            "password": "p",
            "warehouse": "wh",
            "database": "db",
            "schema": "public",
            "role": "r",
            "responseTimeoutMilliseconds": 30000,
        },
    }
    motherduck = {
        "type": "motherduck",
        "motherduckConnection": {"accessToken": "t", "database": "my_db"},
    }
    for body in (bigquery, snowflake, motherduck):
        try:
            _, raw = to_fields(body, "c")
        except CredibleError as exc:
            pytest.fail(f"{body['type']}: {exc.field_errors}")
        dialect = get_dialect(raw["dialect"])
        assert dialect is not None
    assert raw == {
        "password": "t",
        "databaseName": "my_db",
        "dialect": "MOTHERDUCK",
        "displayName": "c",
    }


def test_pages_show_the_project_and_filter_by_it(app, admin, pg):
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        _, key = create_key(org, "credible")
    headers = {"Authorization": f"Bearer {key}"}
    for project, name in (("my-project", "my-conn"), ("other-project", "other-conn")):
        response = admin.post(
            f"/api/v0/projects/{project}/connections/{name}",
            json=documented_example(pg),
            headers=headers,
        )
        assert response.status_code == 201, response.get_data(as_text=True)
    everything = admin.get("/sources").get_data(as_text=True)
    assert 'id="project-filter"' in everything and "other-project" in everything
    narrowed = admin.get("/sources?project=my-project").get_data(as_text=True)
    assert "my-conn" in narrowed and "other-conn" not in narrowed
    with app.app_context():
        source_id = db.session.scalar(db.select(Source.id).filter_by(display_name="my-conn"))
    page = admin.get(f"/sources/{source_id}").get_data(as_text=True)
    assert "<dt>Project</dt>" in page and "/sources?project=my-project" in page
