"""S3 against a real S3-compatible server on loopback (moto's server, keys checked), read
through DuckDB's httpfs extension from PyPI, offline."""

from __future__ import annotations

import pytest

from tests.integration.s3_helpers import BUCKET, s3  # noqa: F401 - the fixture
from tests.integration.test_sources_postgres import org, sync_once, tables_of
from tests.integration.test_verify_postgres import failure
from tests.servers import free_port
from webapp import sources as uc
from webapp.dialects import get_dialect

KEYS = ("s3AccessKeyId", "s3SecretAccessKey")


def values(server, **changes):
    raw = {
        "displayName": "Files",
        "dialect": "S3",
        "s3Bucket": BUCKET,
        "s3Prefix": "sales/",
        "s3FileFormat": "csv",
        "s3TableLevel": "file",
        "s3AccessKeyId": server.key_id,
        "s3SecretAccessKey": server.secret,
        "s3Region": server.region,
        "s3Endpoint": server.endpoint,
    }
    raw.update(changes)
    return raw


def test_verify_lists_the_files_and_infers_columns(app, s3):  # noqa: F811
    with app.app_context():
        result = uc.verify_input(values(s3))
    assert result.server_version.startswith("S3 via DuckDB 1.4.")
    assert "4 CSV files" in result.server_version  # readme.txt is not one
    assert {s["name"]: s["status"] for s in result.steps} == {
        "fields": "ok",
        "auth": "ok",
        "database": "ok",
        "catalog": "ok",
    }


def test_wrong_key_id_and_wrong_secret_are_under_the_key_fields(app, s3):  # noqa: F811
    for wrong in ({"s3AccessKeyId": "AKIAWRONGWRONGWRONG1"}, {"s3SecretAccessKey": "x" * 40}):
        error = failure(app, values(s3, **wrong))
        assert set(error.field_errors) == set(KEYS), error.field_errors
        assert error.step == "auth"
        assert s3.secret not in str(error.body()) and "x" * 40 not in str(error.body())


def test_missing_bucket_is_under_the_bucket(app, s3):  # noqa: F811
    error = failure(app, values(s3, s3Bucket="no-such-bucket"))
    assert error.field_errors == {"s3Bucket": "No such bucket"}
    assert error.step == "database"


def test_a_prefix_without_files_is_under_the_prefix(app, s3):  # noqa: F811
    error = failure(app, values(s3, s3Prefix="empty/"))
    assert error.field_errors == {"s3Prefix": "No CSV files under this prefix"}
    error = failure(app, values(s3, s3Prefix="nothing-here/"))
    assert error.field_errors == {"s3Prefix": "No CSV files under this prefix"}


def test_a_csv_that_does_not_parse_is_named(app, s3):  # noqa: F811
    error = failure(app, values(s3, s3Prefix="broken"))
    assert error.field_errors == {"s3Prefix": "bad.csv is not readable CSV"}
    assert error.step == "catalog"


def test_an_endpoint_the_egress_policy_refuses(app, s3):  # noqa: F811
    app.config["EGRESS_BLOCK"] = ["127.0.0.0/8"]
    error = failure(app, values(s3))
    assert error.field_errors == {"s3Endpoint": "This address is not allowed"}
    error = failure(app, values(s3, s3Endpoint=f"http://127.0.0.1:{free_port()}"))
    assert error.field_errors == {"s3Endpoint": "This address is not allowed"}


def test_a_refused_endpoint_port_is_under_the_endpoint(app, s3):  # noqa: F811
    error = failure(app, values(s3, s3Endpoint=f"http://127.0.0.1:{free_port()}"))
    assert set(error.field_errors) == {"s3Endpoint"}


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"s3Bucket": "Bad_Bucket"}, "A bucket name"),
        ({"s3Prefix": "a/*.csv"}, "A folder path"),
        ({"s3Prefix": "a/../b"}, "A folder path"),
        ({"s3Endpoint": "ftp://x"}, "An endpoint"),
        ({"s3AccessKeyId": "akia lower"}, "An access key ID"),
    ],
)
def test_local_checks_name_the_field(app, raw, message):
    from webapp.core.refusal import ValidationFailed

    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        uc.verify_input(
            {
                **values(
                    type(
                        "S",
                        (),
                        {
                            "key_id": "AKIA0000000000000000",
                            "secret": "s",
                            "region": "us-east-1",
                            "endpoint": "http://127.0.0.1:1",
                        },
                    )()
                ),
                **raw,
            }
        )
    (name,) = raw
    assert caught.value.field_errors[name].startswith(message)


def test_sync_files_and_folders_as_tables(app, admin, s3):  # noqa: F811
    with app.app_context():
        source = sync_once(uc.create_source(org(app), values(s3)).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        assert set(tables) == {
            f"{BUCKET}.orders.csv",
            f"{BUCKET}.customers.csv",
            f"{BUCKET}.2026/january.csv",
            f"{BUCKET}.2026/february.csv",
        }
        orders = [(c["name"], c["type"]) for c in tables[f"{BUCKET}.orders.csv"].columns]
        assert orders == [
            ("id", "BIGINT"),
            ("customer", "VARCHAR"),
            ("amount", "DOUBLE"),
            ("ordered_on", "DATE"),
        ]
        folders = sync_once(
            uc.create_source(org(app), values(s3, displayName="Folders", s3TableLevel="folder")).id
        )
        assert folders.last_sync_status == "SUCCESS", folders.sync_error_message
        assert set(tables_of(folders)) == {f"{BUCKET}..", f"{BUCKET}.2026"}
        # The secret access key is stored encrypted, never in the public values.
        assert source.secrets_blob and s3.secret.encode() not in source.secrets_blob
        assert s3.secret not in str(source.__dict__)


@pytest.mark.parametrize(
    "fmt,prefix,columns",
    [
        ("parquet", "parquet", [("id", "INTEGER"), ("name", "VARCHAR"), ("score", "DOUBLE")]),
        ("json", "events/", [("id", "BIGINT"), ("kind", "VARCHAR"), ("at", "VARCHAR")]),
    ],
)
def test_parquet_and_json_columns(app, s3, fmt, prefix, columns):  # noqa: F811
    from webapp.connect.verify import open_connection

    dialect = get_dialect("S3")
    with app.app_context():
        opened = open_connection(dialect, values(s3, s3FileFormat=fmt, s3Prefix=prefix), 10.0)
    try:
        (table,) = list(dialect.introspect(opened.connection))
    finally:
        opened.close()
    assert [(c["name"], c["type"]) for c in table.columns] == columns


def test_the_connection_reads_nothing_outside_the_prefix(app, s3):  # noqa: F811
    from webapp.connect.verify import open_connection

    with app.app_context():
        opened = open_connection(get_dialect("S3"), values(s3), 10.0)
    try:
        duck = opened.connection.connection
        for url in (f"s3://{BUCKET}/broken/bad.csv", "/etc/passwd"):
            with pytest.raises(Exception, match="disabled by configuration"):
                duck.execute("SELECT * FROM read_csv(?)", [url]).fetchall()
        with pytest.raises(Exception, match="locked"):
            duck.execute("SET enable_external_access = true")
    finally:
        opened.close()


def test_the_form_and_the_api_take_the_s3_fields(app, admin, s3):  # noqa: F811
    from webapp.api_keys import create_key
    from webapp.extensions import db
    from webapp.models import Organization

    html = admin.get("/sources/fieldset?dialect=S3").get_data(as_text=True)
    for name in (
        "s3Bucket",
        "s3Prefix",
        "s3FileFormat",
        "s3TableLevel",
        "s3AccessKeyId",
        "s3SecretAccessKey",
        "s3SessionToken",
        "s3Region",
        "s3Endpoint",
    ):
        assert f'name="{name}"' in html, name
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        _, key = create_key(org, "s3 test")
        api = f"/api/public/organizations/{org.id}/data-sources"
    auth = {"Authorization": f"Bearer {key}"}
    body = {k: v for k, v in values(s3).items() if k != "dialect"}
    bad = admin.post(
        f"{api}/verify", headers=auth, json={**body, "dialect": "S3", "s3Bucket": "no-such-bucket"}
    )
    assert bad.status_code == 400
    assert bad.get_json()["error"]["fieldErrors"] == {"s3Bucket": "No such bucket"}
    created = admin.post(api, headers=auth, json={**body, "dialect": "S3", "type": "direct"})
    assert created.status_code == 201, created.get_data(as_text=True)
    answer = created.get_data(as_text=True)
    assert s3.secret not in answer and "s3SecretAccessKey" not in created.get_json()["data"]


def test_the_health_ping_lists_the_prefix_again(app, s3):  # noqa: F811
    from webapp.connect.verify import open_connection

    dialect = get_dialect("S3")
    with app.app_context():
        opened = open_connection(dialect, values(s3), 10.0)
    try:
        dialect.ping(opened.connection)
    finally:
        opened.close()
