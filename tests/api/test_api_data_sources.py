"""Reading and managing data sources through the API without connecting anywhere: sources,
snapshots and health checks are written to the store directly; verify goes to a .invalid
host, which is "Host not found" without a DNS query."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import STORED_SECRET, Api, add_source
from webapp.extensions import db
from webapp.models import (
    ApiKey,
    AuditEvent,
    HealthCheck,
    Organization,
    SchemaSnapshot,
    SchemaTable,
    Source,
    SyncRun,
    utcnow,
)

# The Basedash "data" object of a data source, as its documentation's example shows it
# (create / update / get answer the same object).
CONTRACT_EXAMPLE = {
    "id": "<string>",
    "displayName": "<string>",
    "description": "<string>",
    "dialect": "POSTGRES",
    "databaseName": "<string>",
    "username": "<string>",
    "host": "<string>",
    "port": 123,
    "sslEnabled": True,
    "sslCustomCertificatesEnabled": True,
    "sshEnabled": True,
    "sshHost": "<string>",
    "sshPort": 123,
    "sshUsername": "<string>",
    "bigQueryProjectId": "<string>",
    "spannerInstanceId": "<string>",
    "snowflakeAccountId": "<string>",
    "snowflakeWarehouse": "<string>",
    "snowflakeRole": "<string>",
    "lastSuccessfulSyncAt": "2023-11-07T05:31:56Z",
    "lastSyncStatus": "PENDING",
    "lastSyncAttemptAt": "2023-11-07T05:31:56Z",
    "hasCompletedFirstSync": True,
    "syncErrorMessage": "<string>",
    "lastHealthyAt": "2023-11-07T05:31:56Z",
    "lastHealthStatus": "HEALTHY",
    "lastHealthCheckAttemptAt": "2023-11-07T05:31:56Z",
    "isDemo": True,
    "isBasedashWarehouse": True,
    "createdAt": "2023-11-07T05:31:56Z",
    "updatedAt": "2023-11-07T05:31:56Z",
}
SECRETS = (
    "password",
    "sshPassword",
    "sshPrivateKey",
    "sshPrivateKeyPassphrase",
    "sslClientKey",
    "snowflakePrivateKey",
    "bigQueryJsonKey",
)


def assert_contract_shape(data: dict) -> None:
    """Every field of the contract's example, of its type (or null where it may be unset)."""
    for name, example in CONTRACT_EXAMPLE.items():
        assert name in data, name
        if data[name] is not None:
            assert isinstance(data[name], type(example)), (name, data[name])
    assert isinstance(data["id"], str) and data["isBasedashWarehouse"] is False
    for name in (
        "mutatingQueriesEnabled",
        "athenaWorkgroup",
        "athenaOutputLocation",
        "athenaCatalog",
        "maxPoolSize",
    ):
        assert name in data, name
    assert not set(SECRETS) & set(data)


def test_get_answers_the_contract_object_without_any_secret(app, api: Api):
    source_id = add_source(app, api.org_id, "Warehouse")
    response = api.get(f"/{source_id}")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert_contract_shape(data)
    assert data["id"] == str(source_id) and data["displayName"] == "Warehouse"
    assert data["host"] == "db.invalid" and data["port"] == 5432
    assert data["sslEnabled"] is True and data["sslMode"] == "require"
    assert data["lastSyncStatus"] == "NEVER_SYNCED" and data["lastHealthStatus"] is None
    assert data["snowflakeAccountId"] is None and data["sshHost"] is None
    assert data["createdAt"].endswith("Z")
    assert STORED_SECRET not in response.get_data(as_text=True)


def test_list_is_newest_first_and_paginated_by_cursor(app, api: Api, other_api: Api):
    ids = [add_source(app, api.org_id, f"Source {n}") for n in range(5)]
    add_source(app, other_api.org_id, "Not mine")
    first = api.get(query_string={"limit": 2}).get_json()
    assert [s["id"] for s in first["data"]] == [str(ids[4]), str(ids[3])]
    assert first["pagination"] == {"nextCursor": str(ids[3]), "hasMore": True}
    second = api.get(query_string={"limit": 2, "cursor": first["pagination"]["nextCursor"]})
    assert [s["id"] for s in second.get_json()["data"]] == [str(ids[2]), str(ids[1])]
    last = api.get(query_string={"limit": 2, "cursor": str(ids[1])}).get_json()
    assert [s["id"] for s in last["data"]] == [str(ids[0])]
    assert last["pagination"] == {"nextCursor": None, "hasMore": False}
    everything = api.get().get_json()["data"]
    assert len(everything) == 5 and all(STORED_SECRET not in str(s) for s in everything)
    for query, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
        ({"page": 2}, "page"),
    ):
        refused = api.get(query_string=query)
        assert refused.status_code == 400, query
        assert field in refused.get_json()["error"]["fieldErrors"], query


def test_sync_queues_a_run_and_delete_removes_everything(app, api: Api):
    source_id = add_source(app, api.org_id)
    queued = api.post(f"/{source_id}/sync")
    assert queued.status_code == 202
    assert queued.get_json()["data"]["lastSyncStatus"] == "PENDING"
    runs = api.get(f"/{source_id}/syncs").get_json()
    assert runs["data"][0]["trigger"] == "api" and runs["pagination"]["total"] == 1
    with app.app_context():  # the audit log names the key that asked
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="source.sync_requested"))
        key = db.session.scalar(db.select(ApiKey))
        assert event.actor_api_key_id == key.id
        assert event.actor == f"API key {key.name} ({key.prefix}…)"
    deleted = api.delete(f"/{source_id}")
    assert deleted.status_code == 200 and deleted.get_json() == {"data": {"success": True}}
    assert api.get(f"/{source_id}").status_code == 404
    with app.app_context():
        assert db.session.get(Source, source_id) is None
        assert not db.session.scalars(db.select(SyncRun)).all()


def add_snapshot(app, source_id: int, count: int) -> None:
    with app.app_context():
        snapshot = SchemaSnapshot(source_id=source_id, complete=True, table_count=count)
        db.session.add(snapshot)
        db.session.flush()
        for n in range(count):
            db.session.add(
                SchemaTable(
                    snapshot_id=snapshot.id,
                    schema_name="public" if n % 2 else "sales",
                    name=f"table_{n:02d}",
                    kind="table",
                    columns=[
                        {
                            "name": "id",
                            "type": "integer",
                            "nullable": False,
                            "primaryKey": True,
                            "ordinal": 1,
                            "default": None,
                        }
                    ],
                )
            )
        source = db.session.get(Source, source_id)
        source.current_snapshot_id = snapshot.id
        db.session.commit()


def test_schema_is_searchable_and_paginated(app, api: Api):
    source_id = add_source(app, api.org_id)
    assert api.get(f"/{source_id}/schema").get_json() == {
        "data": [],
        "pagination": {"nextCursor": None, "hasMore": False, "total": 0},
    }
    add_snapshot(app, source_id, 7)
    page = api.get(f"/{source_id}/schema", query_string={"limit": 3}).get_json()
    assert [f"{t['schema']}.{t['name']}" for t in page["data"]] == [
        "public.table_01",
        "public.table_03",
        "public.table_05",
    ]
    assert page["pagination"] == {"nextCursor": "3", "hasMore": True, "total": 7}
    assert page["data"][0]["columns"][0] == {
        "name": "id",
        "type": "integer",
        "nullable": False,
        "primaryKey": True,
        "ordinal": 1,
        "default": None,
        "comment": None,
    }
    rest = api.get(f"/{source_id}/schema", query_string={"limit": 10, "cursor": "3"}).get_json()
    assert len(rest["data"]) == 4 and rest["pagination"]["hasMore"] is False
    found = api.get(f"/{source_id}/schema", query_string={"search": "SALES.TABLE_0"}).get_json()
    assert {t["schema"] for t in found["data"]} == {"sales"} and len(found["data"]) == 4
    too_long = api.get(f"/{source_id}/schema", query_string={"search": "x" * 201})
    assert too_long.get_json()["error"]["fieldErrors"] == {"search": "Use at most 200 characters"}


def test_health_history_since_a_time(app, api: Api):
    source_id = add_source(app, api.org_id)
    now = utcnow()
    with app.app_context():
        for hours, healthy in ((30, True), (5, False), (1, True)):
            db.session.add(
                HealthCheck(
                    source_id=source_id,
                    checked_at=now - timedelta(hours=hours),
                    healthy=healthy,
                    latency_ms=12 if healthy else None,
                    error_message=None if healthy else "Host not found",
                )
            )
        db.session.commit()
    recent = api.get(f"/{source_id}/health").get_json()["data"]
    assert [c["status"] for c in recent] == ["UNHEALTHY", "HEALTHY"]  # a day, oldest first
    assert recent[0]["errorMessage"] == "Host not found" and recent[1]["latencyMs"] == 12
    since = (now - timedelta(hours=48)).isoformat() + "Z"
    everything = api.get(f"/{source_id}/health", query_string={"since": since}).get_json()
    assert len(everything["data"]) == 3
    bad = api.get(f"/{source_id}/health", query_string={"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.get_json()["error"]["fieldErrors"]


def test_verify_failure_names_the_field_and_stores_nothing(app, api: Api):
    response = api.post(
        "/verify",
        json={
            "dialect": "POSTGRES",
            "host": "warehouse.invalid",
            "port": 5432,
            "databaseName": "app",
            "username": "reader",
            "password": "pw",
            "sslEnabled": True,
            "sshEnabled": False,
            "snowflakeAccountId": None,
            "databaseNameX": None,
        },
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["fieldErrors"] == {"databaseNameX": "Unknown field"}
    response = api.post(
        "/verify",
        json={
            "dialect": "POSTGRES",
            "host": "warehouse.invalid",
            "port": 5432,
            "databaseName": "app",
            "username": "reader",
            "password": "pw",
        },
    )
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["title"] == "ConnectionFailed"
    assert error["fieldErrors"] == {"host": "Host not found"}
    assert [s["status"] for s in error["steps"][:3]] == ["ok", "failed", "not_run"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0


def test_create_that_cannot_connect_stores_nothing_and_starts_no_trial(app, api: Api):
    response = api.post(
        json={
            "type": "direct",
            "dialect": "POSTGRES",
            "displayName": "New",
            "host": "warehouse.invalid",
            "port": 5432,
            "databaseName": "app",
            "username": "reader",
            "password": "pw",
        }
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["title"] == "ConnectionFailed"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0
        assert db.session.get(Organization, api.org_id).trial_started_at is None


def test_update_checks_names_and_keeps_the_stored_source_on_failure(app, api: Api):
    source_id = add_source(app, api.org_id, "Warehouse")
    add_source(app, api.org_id, "Taken")
    both = api.patch(f"/{source_id}", json={"password": "new", "unsetPassword": True})
    assert both.get_json()["error"]["fieldErrors"] == {
        "unsetPassword": "Send either password or unsetPassword, not both"
    }
    unset = api.patch(f"/{source_id}", json={"unsetPassword": True})
    # PostgreSQL's password is optional (trust auth): unset, the source is checked without one.
    assert unset.get_json()["error"]["fieldErrors"] == {"host": "Host not found"}
    duplicate = api.patch(f"/{source_id}", json={"displayName": "taken"})
    assert duplicate.get_json()["error"]["title"] == "DuplicateName"
    moved = api.patch(f"/{source_id}", json={"host": "elsewhere.invalid"})
    assert "Enter the password again" in moved.get_json()["error"]["fieldErrors"]["password"]
    # Only a description: stored without connecting again (issue 14), the rest is kept.
    described = api.patch(f"/{source_id}", json={"description": "Sales data"})
    assert described.status_code == 200, described.get_json()
    kept = api.get(f"/{source_id}").get_json()["data"]
    assert kept["displayName"] == "Warehouse" and kept["description"] == "Sales data"
    assert kept["host"] == "db.invalid"


def test_unset_flags_forget_only_the_named_secret(app, api: Api):
    """The API's unset* flags reach the use-case: the named stored secret is dropped, the
    others are kept (here an SSH tunnel with a password and a key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from webapp import sources as uc
    from webapp.records import vault

    private_key = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with app.app_context():
        source = Source(
            organization_id=api.org_id,
            display_name="Tunnelled",
            dialect="POSTGRES",
            host="db.invalid",
            port=5432,
            database_name="app",
            username="reader",
            ssl_enabled=False,
            settings={
                "sshEnabled": True,
                "sshHost": "bastion.invalid",
                "sshPort": 22,
                "sshUsername": "tunnel",
            },
            secrets_blob=vault().encrypt(
                {"password": "db-pass", "sshPassword": "ssh-pass", "sshPrivateKey": private_key}
            ),
        )
        db.session.add(source)
        db.session.commit()
        merged = {"dialect": "POSTGRES", "displayName": "Tunnelled", **uc.public_values(source)}
        kept = uc.clean_input(merged, existing=source).values
        assert (kept["sshPassword"], kept["sshPrivateKey"]) == ("ssh-pass", private_key)
        forgot = uc.clean_input(merged, existing=source, unset={"sshPassword"}).values
        assert forgot["sshPassword"] is None and forgot["sshPrivateKey"] == private_key
        assert forgot["password"] == "db-pass"
