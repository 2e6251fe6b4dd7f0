"""The API's create, verify, update and schema against a real throwaway PostgreSQL (password
authentication, SSL available), through the same use-cases as the pages."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Api
from tests.api.test_api_data_sources import assert_contract_shape
from tests.integration.test_sources_postgres import sync_once
from webapp.extensions import db
from webapp.models import Organization, Source


def body(pg, **changes):
    """A create body in the contract's form: every Basedash request field, the ones that do
    not apply to PostgreSQL left null (as the contract's example sends them)."""
    raw = {
        "type": "direct",
        "dialect": "POSTGRES",
        "displayName": "Warehouse",
        "snowflakeAccountId": None,
        "snowflakeWarehouse": None,
        "snowflakeRole": None,
        "snowflakePrivateKey": None,
        "snowflakePrivateKeyPassphrase": None,
        "databaseName": pg.database,
        "username": pg.user,
        "host": pg.host,
        "port": pg.port,
        "password": pg.password,
        "bigQueryJsonKey": None,
        "bigQueryProjectId": None,
        "spannerInstanceId": None,
        "sslEnabled": True,
        "sshEnabled": False,
        "sshHost": None,
        "sshPort": None,
        "sshUsername": None,
        "sshPassword": None,
        "sshPrivateKey": None,
        "sshPrivateKeyPassphrase": None,
        "maxPoolSize": 5,
    }
    raw.update(changes)
    return raw


def store_bytes(app) -> bytes:
    store = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    with app.app_context():
        db.session.execute(db.text("PRAGMA wal_checkpoint(FULL)"))
    return b"".join(p.read_bytes() for p in store.parent.glob(store.name + "*"))


def test_create_verifies_stores_encrypted_and_starts_the_first_sync(app, api: Api, pg):
    response = api.post(json=body(pg))
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()["data"]
    assert_contract_shape(data)
    # Location is absolute (scheme and host of the request), its path the new source's
    assert response.headers["Location"] == "http://localhost" + api.url(f"/{data['id']}")
    assert data["displayName"] == "Warehouse" and data["host"] == pg.host
    assert data["port"] == pg.port and data["maxPoolSize"] == 5
    assert data["lastSyncStatus"] == "PENDING" and data["hasCompletedFirstSync"] is False
    assert pg.password not in response.get_data(as_text=True)
    assert pg.password.encode() not in store_bytes(app)
    with app.app_context():
        assert db.session.get(Organization, api.org_id).trial_started_at is not None
    fetched = api.client.get(
        response.headers["Location"], headers={"Authorization": f"Bearer {api.key}"}
    )
    assert fetched.get_json()["data"] == data

    again = api.post(json=body(pg, displayName="WAREHOUSE"))
    error = again.get_json()["error"]
    assert again.status_code == 400 and error["title"] == "DuplicateName"
    assert error["fieldErrors"] == {"displayName": "This name is already used"}


def test_verify_answers_success_or_the_wrong_fields(api: Api, pg):
    ok = api.post(
        "/verify", json={k: v for k, v in body(pg).items() if k not in ("type", "displayName")}
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    data = ok.get_json()["data"]
    assert data["success"] is True and data["serverVersion"].startswith("PostgreSQL")
    assert {s["status"] for s in data["steps"]} <= {"ok", "skipped"}

    wrong = api.post("/verify", json=body(pg, password="not the password"))
    error = wrong.get_json()["error"]
    assert wrong.status_code == 400 and error["title"] == "ConnectionFailed"
    assert error["fieldErrors"] == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    assert "not the password" not in wrong.get_data(as_text=True)
    missing_db = api.post("/verify", json=body(pg, databaseName="nope"))
    assert missing_db.get_json()["error"]["fieldErrors"] == {
        "databaseName": "Database does not exist"
    }


def test_patch_changes_what_is_sent_keeps_the_rest_and_resyncs(app, api: Api, pg):
    source_id = api.post(json=body(pg)).get_json()["data"]["id"]
    changed = api.patch(f"/{source_id}", json={"description": "Sales data", "maxPoolSize": 8})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    data = changed.get_json()["data"]
    assert data["description"] == "Sales data" and data["maxPoolSize"] == 8
    assert data["host"] == pg.host and data["lastSyncStatus"] == "PENDING"

    wrong = api.patch(f"/{source_id}", json={"password": "wrong password"})
    assert wrong.get_json()["error"]["title"] == "ConnectionFailed"
    with app.app_context():  # the failed update lost nothing: the saved password still works
        assert db.session.get(Source, int(source_id)).description == "Sales data"
    assert api.patch(f"/{source_id}", json={"displayName": "Sales"}).status_code == 200


def test_schema_and_sync_history_after_a_real_sync(app, api: Api, pg):
    source_id = int(api.post(json=body(pg)).get_json()["data"]["id"])
    with app.app_context():
        synced = sync_once(source_id)
        assert synced.last_sync_status == "SUCCESS"
    data = api.get(f"/{source_id}").get_json()["data"]
    assert data["lastSyncStatus"] == "SUCCESS" and data["hasCompletedFirstSync"] is True
    assert data["lastSuccessfulSyncAt"].endswith("Z")
    tables = api.get(f"/{source_id}/schema", query_string={"search": "orders"}).get_json()
    names = {f"{t['schema']}.{t['name']}" for t in tables["data"]}
    assert names == {"public.orders", "public.big_orders"}
    orders = next(t for t in tables["data"] if t["name"] == "orders")
    columns = {c["name"]: c for c in orders["columns"]}
    assert columns["id"]["primaryKey"] is True and columns["total"]["type"] == "numeric(10,2)"
    runs = api.get(f"/{source_id}/syncs").get_json()["data"]
    assert runs[0]["status"] == "SUCCESS" and runs[0]["trigger"] == "create"
