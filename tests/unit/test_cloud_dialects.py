"""The cloud and optional-driver dialects: declarations, offline checks, the missing-driver
message, classification of each installed driver's real exceptions, forms and URLs.

No vendor server is reachable here: classification tests build the exceptions the way each
driver raises them (with the driver's own classes and, where it has one, its own error
factory). Real connection attempts on loopback are in tests/integration/test_cloud_failure_paths.
"""

from __future__ import annotations

import html
import json
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.extras import needs_driver
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.dialects import DIALECTS, get_dialect
from webapp.dialects.base import Target
from webapp.dialects.cloud import run_bounded
from webapp.dialects.urls import parse_connection_string

CLOUD = [
    "ATHENA",
    "BIGQUERY",
    "CLICKHOUSE",
    "SPANNER",
    "SNOWFLAKE",
    "SQL_SERVER",
    "ORACLE",
    "DATABRICKS",
    "POSTHOG",
    "TRINO",
    "MOTHERDUCK",
]
EXTRAS = {
    "ATHENA": ("athena", "boto3"),
    "BIGQUERY": ("bigquery", "google.cloud.bigquery"),
    "CLICKHOUSE": ("clickhouse", "clickhouse_connect"),
    "SPANNER": ("spanner", "google.cloud.spanner"),
    "SNOWFLAKE": ("snowflake", "snowflake.connector"),
    "SQL_SERVER": ("sqlserver", "pymssql"),
    "ORACLE": ("oracle", "oracledb"),
    "DATABRICKS": ("databricks", "databricks.sql"),
    "TRINO": ("trino", "trino.dbapi"),
}


# --- keys made here, never real ones ------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key, passphrase: str | None = None, fmt=serialization.PrivateFormat.PKCS8) -> str:
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def service_account(key, **changes) -> str:
    info = {
        "type": "service_account",
        "project_id": "acme-analytics",
        "private_key_id": "0123abcd",
        "private_key": pem(key),
        "client_email": "datadock@acme-analytics.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    info.update(changes)
    return json.dumps({k: v for k, v in info.items() if v is not None})


def valid(dialect: str, rsa_key) -> dict:
    """Input that passes every offline check of `dialect`."""
    base = {"displayName": "x", "dialect": dialect}
    per = {
        "ATHENA": {
            "athenaRegion": "eu-west-1",
            "athenaAccessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "password": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "athenaOutputLocation": "s3://acme-athena-results/datadock/",
        },
        "BIGQUERY": {"bigQueryJsonKey": service_account(rsa_key)},
        "SPANNER": {
            "bigQueryJsonKey": service_account(rsa_key),
            "spannerInstanceId": "prod-instance",
            "databaseName": "orders",
        },
        "SNOWFLAKE": {
            "snowflakeAccountId": "acme-analytics",
            "username": "DATADOCK",
            "password": "pw",
            "databaseName": "ANALYTICS",
        },
        "SQL_SERVER": {
            "host": "sql.example.com",
            "databaseName": "sales",
            "username": "sa",
            "password": "pw",
        },
        "ORACLE": {
            "host": "ora.example.com",
            "databaseName": "FREEPDB1",
            "username": "app",
            "password": "pw",
        },
        "CLICKHOUSE": {"host": "ch.example.com", "password": "pw"},
        "TRINO": {
            "host": "trino.example.com",
            "databaseName": "hive",
            "username": "app",
            "password": "pw",
        },
        "DATABRICKS": {
            "host": "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
            "databricksHttpPath": "/sql/1.0/warehouses/1234567890abcdef",
            "password": "dapi0123456789abcdef0123456789abcdef",
        },
        "POSTHOG": {"posthogProjectId": "12345", "password": "phx_0123456789abcdef"},
        "MOTHERDUCK": {"databaseName": "my_db", "password": "eyJhbGciOi.token"},
    }
    defaults = {
        f.name: f.default
        for f in get_dialect(dialect).fields
        if f.default is not None and not f.required_if
    }  # as the form pre-fills them
    return {**base, **defaults, **per[dialect]}


def clean(app, raw: dict) -> dict:
    with app.app_context():
        return uc.clean_input(raw).values


def field_errors(app, raw: dict) -> dict:
    with app.app_context(), pytest.raises(uc.ValidationFailed) as caught:
        uc.clean_input(raw)
    return caught.value.field_errors


# --- registration and declarations --------------------------------------------------------------


def test_registered_once_in_the_basedash_order_after_the_live_ones():
    keys = list(DIALECTS)
    start = keys.index(CLOUD[0])  # engines added later (MongoDB, …) follow them
    assert keys[start : start + len(CLOUD)] == CLOUD
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    "dialect, names, secrets",
    [
        (
            "SNOWFLAKE",
            [
                "snowflakeAccountId",
                "username",
                "password",
                "snowflakePrivateKey",
                "snowflakePrivateKeyPassphrase",
                "databaseName",
                "snowflakeWarehouse",
                "snowflakeRole",
                "snowflakeSchema",
                "snowflakeResponseTimeoutMs",
            ],
            ("password", "snowflakePrivateKey", "snowflakePrivateKeyPassphrase"),
        ),
        (
            "BIGQUERY",
            [
                "bigQueryJsonKey",
                "bigQueryProjectId",
                "bigQueryBillingProjectId",
                "bigQueryLocation",
                "bigQueryMaximumBytesBilled",
                "bigQueryQueryTimeoutMs",
                "bigQueryDatasetId",
            ],
            ("bigQueryJsonKey",),
        ),
        (
            "SPANNER",
            ["bigQueryJsonKey", "bigQueryProjectId", "spannerInstanceId", "databaseName"],
            ("bigQueryJsonKey",),
        ),
        (
            "ATHENA",
            [
                "athenaRegion",
                "athenaAccessKeyId",
                "password",
                "athenaWorkgroup",
                "athenaOutputLocation",
                "athenaCatalog",
                "athenaDatabase",
            ],
            ("password",),
        ),
        (
            "DATABRICKS",
            ["host", "port", "databricksHttpPath", "password", "databaseName"],
            ("password",),
        ),
        ("POSTHOG", ["host", "port", "posthogProjectId", "password", "sslEnabled"], ("password",)),
        ("MOTHERDUCK", ["databaseName", "password"], ("password",)),
    ],
)
def test_api_dialect_fields(dialect, names, secrets):
    spec = get_dialect(dialect)
    assert [f.name for f in spec.fields] == names
    assert spec.secret_names == secrets


@pytest.mark.parametrize(
    "dialect, port, ssl_default",
    [
        ("SQL_SERVER", 1433, True),
        ("ORACLE", 1521, False),
        ("CLICKHOUSE", 8443, True),
        ("TRINO", 443, True),
    ],
)
def test_host_dialects_have_host_port_ssl_and_ssh(dialect, port, ssl_default):
    spec = get_dialect(dialect)
    names = [f.name for f in spec.fields]
    assert names[:6] == ["host", "port", "databaseName", "username", "password", "sslEnabled"]
    assert {"sshEnabled", "sshHost", "sshPrivateKey"} <= set(names)
    assert spec.field("port").default == port
    assert spec.field("sslEnabled").default is ssl_default
    assert spec.secret_names[0] == "password"
    assert spec.steps[:4] == ("fields", "driver", "dns", "tcp")


def test_defaults_and_labels_people_recognise():
    assert get_dialect("ATHENA").field("athenaWorkgroup").default == "primary"
    assert get_dialect("ATHENA").field("athenaCatalog").default == "AwsDataCatalog"
    assert get_dialect("CLICKHOUSE").field("username").default == "default"
    assert get_dialect("POSTHOG").field("host").default == "us.posthog.com"
    assert get_dialect("ORACLE").field("databaseName").label == "Service name"
    assert get_dialect("TRINO").field("databaseName").label == "Catalog"
    assert get_dialect("BIGQUERY").field("bigQueryJsonKey").kind == "textarea"
    assert get_dialect("SNOWFLAKE").field("snowflakePrivateKey").kind == "textarea"


@pytest.mark.parametrize("dialect", CLOUD)
def test_every_secret_looking_field_is_secret(dialect):
    for spec in get_dialect(dialect).fields:
        if any(
            w in spec.name.lower() for w in ("password", "key", "token", "passphrase")
        ) and spec.name not in ("athenaAccessKeyId", "sshHostKey"):
            assert spec.secret, f"{dialect}.{spec.name} must be secret"


def test_api_dialects_skip_dns_and_tcp_of_a_user_host():
    for key in ("BIGQUERY", "SPANNER", "ATHENA", "SNOWFLAKE", "MOTHERDUCK"):
        steps = get_dialect(key).steps
        assert "dns" not in steps and "tcp" not in steps and steps[-1] == "catalog"


def test_identity_fields_say_where_a_saved_secret_would_go():
    assert get_dialect("SNOWFLAKE").identity_names == ("snowflakeAccountId", "databaseName")
    assert get_dialect("ATHENA").identity_names == ("athenaRegion", "athenaAccessKeyId")
    assert "databricksHttpPath" in get_dialect("DATABRICKS").identity_names
    assert "posthogProjectId" in get_dialect("POSTHOG").identity_names


@pytest.mark.parametrize("dialect", CLOUD)
def test_valid_input_passes_every_offline_check(quick_app, rsa_key, dialect):
    values = clean(quick_app, valid(dialect, rsa_key))
    assert values  # cleaned, typed, defaults filled


# --- offline checks: BigQuery and Spanner keys --------------------------------------------------


@pytest.mark.parametrize("dialect", ["BIGQUERY", "SPANNER"])
def test_service_account_key_problems_are_named(quick_app, rsa_key, dialect):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "{not json": "This is not JSON",
        json.dumps({"type": "authorized_user", "client_id": "x"}): "user credential",
        service_account(rsa_key, type="external_account"): '"type" must be "service_account"',
        service_account(rsa_key, private_key=None): "lacks private_key",
        service_account(
            rsa_key, private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ): "private_key is not a readable PEM key",
        service_account(rsa_key, private_key=pem(ec_key)): "must be an RSA key",
        service_account(rsa_key, client_email="me@gmail.com"): "not a service account",
        service_account(rsa_key, token_uri="https://attacker.example/token"): "token_uri",
        service_account(rsa_key, project_id="Bad_Project"): "project_id",
    }
    for text, expected in cases.items():
        errors = field_errors(quick_app, {**valid(dialect, rsa_key), "bigQueryJsonKey": text})
        assert expected in errors["bigQueryJsonKey"], (text[:40], errors)


def test_bigquery_project_defaults_to_the_keys_project(quick_app, rsa_key):
    from webapp.dialects.gcp import project_of

    values = clean(quick_app, valid("BIGQUERY", rsa_key))
    assert values["bigQueryProjectId"] is None
    assert project_of(values) == "acme-analytics"
    values = clean(quick_app, {**valid("BIGQUERY", rsa_key), "bigQueryProjectId": "other-proj-1"})
    assert project_of(values) == "other-proj-1"
    assert (
        "6–30"
        in field_errors(quick_app, {**valid("BIGQUERY", rsa_key), "bigQueryProjectId": "Nope"})[
            "bigQueryProjectId"
        ]
    )


def test_spanner_ids(quick_app, rsa_key):
    errors = field_errors(
        quick_app, {**valid("SPANNER", rsa_key), "spannerInstanceId": "Prod_1", "databaseName": "a"}
    )
    assert set(errors) == {"spannerInstanceId", "databaseName"}


# --- offline checks: Snowflake ------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_snowflake_keys_plain_and_encrypted(quick_app, rsa_key, fmt):
    base = {**valid("SNOWFLAKE", rsa_key), "password": ""}
    assert clean(quick_app, {**base, "snowflakePrivateKey": pem(rsa_key, fmt=fmt)})
    encrypted = pem(rsa_key, "correct horse", fmt)
    assert clean(
        quick_app,
        {
            **base,
            "snowflakePrivateKey": encrypted,
            "snowflakePrivateKeyPassphrase": "correct horse",
        },
    )
    assert field_errors(
        quick_app,
        {**base, "snowflakePrivateKey": encrypted, "snowflakePrivateKeyPassphrase": "wrong"},
    ) == {"snowflakePrivateKeyPassphrase": "Incorrect passphrase"}
    assert field_errors(quick_app, {**base, "snowflakePrivateKey": encrypted}) == {
        "snowflakePrivateKeyPassphrase": "This key is encrypted: enter its passphrase"
    }


def test_snowflake_key_and_credential_problems(quick_app, rsa_key):
    base = {**valid("SNOWFLAKE", rsa_key), "password": ""}
    assert field_errors(quick_app, base) == {
        "password": "Enter the password or paste a private key"
    }
    assert (
        "PEM"
        in field_errors(quick_app, {**base, "snowflakePrivateKey": "MIIEvQIBADAN"})[
            "snowflakePrivateKey"
        ]
    )
    ec_key = ec.generate_private_key(ec.SECP256R1())
    assert (
        "RSA"
        in field_errors(quick_app, {**base, "snowflakePrivateKey": pem(ec_key)})[
            "snowflakePrivateKey"
        ]
    )


@pytest.mark.parametrize(
    "account, ok",
    [
        ("myorg-myaccount", True),
        ("myorg_myaccount", True),
        ("xy12345", True),
        ("xy12345.us-east-2.aws", True),
        ("xy12345.eu-west-1", True),
        ("myorg-myaccount.snowflakecomputing.com", "myorg-myaccount"),
        ("https://xy12345.us-east-2.aws.snowflakecomputing.com/", "xy12345.us-east-2.aws"),
        ("my account", False),
        ("-x", False),
        ("a.b.c.d.snowflakecomputing.com", False),
    ],
)
def test_snowflake_account_identifiers(quick_app, rsa_key, account, ok):
    """The identifier, or its host name (`<account>.snowflakecomputing.com`), stored as the
    identifier."""
    raw = {**valid("SNOWFLAKE", rsa_key), "snowflakeAccountId": account}
    if ok:
        expected = account if ok is True else ok
        assert clean(quick_app, raw)["snowflakeAccountId"] == expected
    else:
        assert "snowflakeAccountId" in field_errors(quick_app, raw)


def test_snowflake_object_names_cannot_carry_sql(quick_app, rsa_key):
    errors = field_errors(
        quick_app,
        {
            **valid("SNOWFLAKE", rsa_key),
            "snowflakeWarehouse": "WH; DROP TABLE x",
            "snowflakeRole": '"Analyst Role"',
        },
    )
    assert list(errors) == ["snowflakeWarehouse"]


# --- offline checks: Athena, Databricks, Trino, PostHog, MotherDuck -----------------------------


@pytest.mark.parametrize(
    "location, ok",
    [
        ("s3://acme-athena-results/", True),
        ("s3://acme.results.eu/datadock/q", True),
        ("s3://ab/x", False),
        ("s3://Acme_Results/x", False),
        ("s3://192.168.1.10/x", False),
        ("s3://bucket..name/x", False),
        ("https://bucket/x", False),
        ("bucket/prefix", False),
        ("s3://-bucket/x", False),
    ],
)
def test_athena_output_location(quick_app, rsa_key, location, ok):
    raw = {**valid("ATHENA", rsa_key), "athenaOutputLocation": location}
    if ok:
        assert clean(quick_app, raw)["athenaOutputLocation"] == location
    else:
        assert "athenaOutputLocation" in field_errors(quick_app, raw)


def test_athena_key_region_and_names(quick_app, rsa_key):
    errors = field_errors(
        quick_app,
        {
            **valid("ATHENA", rsa_key),
            "athenaRegion": "Frankfurt",
            "athenaAccessKeyId": "ASIAIOSFODNN7EXAMPLE",
            "athenaWorkgroup": "my workgroup",
        },
    )
    assert set(errors) == {"athenaRegion", "athenaAccessKeyId", "athenaWorkgroup"}
    assert "session token" in errors["athenaAccessKeyId"]
    errors = field_errors(quick_app, {**valid("ATHENA", rsa_key), "password": "short"})
    assert errors == {"password": "A secret access key is 40 letters, digits, / and +"}


@pytest.mark.parametrize(
    "path, ok",
    [
        ("/sql/1.0/warehouses/1234567890abcdef", True),
        ("sql/1.0/endpoints/abcdef0123456789", True),
        ("sql/protocolv1/o/1234567890123456/0123-456789-abcdefgh", True),
        ("https://dbc.cloud.databricks.com/sql/1.0/warehouses/123", False),
        ("/sql/1.0/warehouses/../../admin", False),
    ],
)
def test_databricks_http_path(quick_app, rsa_key, path, ok):
    raw = {**valid("DATABRICKS", rsa_key), "databricksHttpPath": path}
    if ok:
        assert clean(quick_app, raw)["databricksHttpPath"] == path
    else:
        assert "databricksHttpPath" in field_errors(quick_app, raw)


def test_trino_will_not_send_a_password_over_plain_http(quick_app, rsa_key):
    errors = field_errors(quick_app, {**valid("TRINO", rsa_key), "sslEnabled": False})
    assert errors == {"sslEnabled": "Turn SSL on to send a password"}
    assert clean(quick_app, {**valid("TRINO", rsa_key), "sslEnabled": False, "password": ""})


def test_posthog_project_keys_and_ids(quick_app, rsa_key):
    errors = field_errors(
        quick_app,
        {
            **valid("POSTHOG", rsa_key),
            "password": "phc_abcdef",
        },
    )
    assert "project API key" in errors["password"]
    errors = field_errors(quick_app, {**valid("POSTHOG", rsa_key), "posthogProjectId": "web-app"})
    assert list(errors) == ["posthogProjectId"]


def test_motherduck_database_cannot_extend_the_connection_string(quick_app, rsa_key):
    errors = field_errors(
        quick_app, {**valid("MOTHERDUCK", rsa_key), "databaseName": "db?saas_mode=false"}
    )
    assert list(errors) == ["databaseName"]


# --- the driver is an optional extra ------------------------------------------------------------


@pytest.mark.parametrize("dialect", sorted(EXTRAS))
def test_a_missing_driver_names_the_extra_before_any_network_step(
    quick_app, rsa_key, monkeypatch, dialect
):
    extra, module = EXTRAS[dialect]
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like
    with quick_app.app_context(), pytest.raises(ConnectionFailed) as caught:
        uc.verify_input(valid(dialect, rsa_key))
    error = caught.value
    assert error.step == "driver"
    assert error.detail == (
        f"The {get_dialect(dialect).label} driver is not installed on this "
        f"Datadock server. Install it with: pip install 'datadock[{extra}]'"
    )
    steps = {s["name"]: s["status"] for s in error.steps}
    assert steps["fields"] == "ok" and steps["driver"] == "failed"
    assert all(v == "not_run" for k, v in steps.items() if k not in ("fields", "driver"))


def test_dialects_without_an_extra_have_no_driver_step():
    assert get_dialect("POSTHOG").extra is None and "driver" not in get_dialect("POSTHOG").steps
    assert get_dialect("MOTHERDUCK").extra is None  # duckdb is a dependency
    for key in EXTRAS:
        assert "driver" in get_dialect(key).steps


# --- classify(): each installed driver's real exception classes ---------------------------------
# The servers are not reachable here; each exception is built as its driver builds it.


def target(dialect: str, rsa_key, **changes) -> Target:
    values = {
        k: v for k, v in valid(dialect, rsa_key).items() if k not in ("displayName", "dialect")
    }
    values.setdefault(
        "port",
        get_dialect(dialect).field("port").default if get_dialect(dialect).field("port") else None,
    )
    values.update(changes)
    return Target(values, "127.0.0.1", 2.0, values.get("port"))


def classified(dialect: str, exc: BaseException, rsa_key, **changes) -> ConnectionFailed:
    failure = get_dialect(dialect).classify(exc, target(dialect, rsa_key, **changes))
    for raw_text in (str(exc), *map(str, getattr(exc, "args", ()))):
        if len(raw_text) > 12:
            assert raw_text not in failure.detail  # never the driver's own words
    return failure


@needs_driver("SQL_SERVER")
def test_sqlserver_pymssql_errors(rsa_key):
    import pymssql

    def error(number: int, text: str):
        # pymssql.connect raises OperationalError(e.args[0]) with (number, message bytes).
        return pymssql.OperationalError((number, text.encode()))

    login = error(
        18456,
        "Login failed for user 'sa'.DB-Lib error message 20018, severity 14:"
        "\nGeneral SQL Server error: Check messages from the SQL Server\n",
    )
    assert classified("SQL_SERVER", login, rsa_key).field_errors == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    database = error(
        4060,
        'Cannot open database "nope" requested by the login. The login '
        "failed.DB-Lib error message 20018, severity 11:\n",
    )
    assert classified("SQL_SERVER", database, rsa_key).field_errors == {
        "databaseName": "Database does not exist"
    }
    refused = error(
        20009,
        "DB-Lib error message 20009, severity 9:\nUnable to connect: TDS "
        "server is unavailable or does not exist (127.0.0.1)\nNet-Lib error "
        "during Connection refused (111)\n",
    )
    assert classified("SQL_SERVER", refused, rsa_key).field_errors == {"port": "Incorrect port"}
    slow = error(
        20002,
        "DB-Lib error message 20003, severity 6:\nTDS server connection timed out (127.0.0.1)\n",
    )
    assert classified("SQL_SERVER", slow, rsa_key).step == "timeout"
    azure = error(
        40615,
        "Cannot open server 'x' requested by the login. Client with IP "
        "address '203.0.113.7' is not allowed to access the server.",
    )
    assert "firewall" in classified("SQL_SERVER", azure, rsa_key).field_errors["host"]


@needs_driver("ORACLE")
def test_oracle_errors(rsa_key):
    import oracledb
    from oracledb import errors

    def error(message: str, cls=oracledb.DatabaseError):
        return cls(errors._Error(message))

    assert (
        classified(
            "ORACLE",
            error("ORA-01017: invalid credential or not authorized; logon denied"),
            rsa_key,
        ).step
        == "auth"
    )
    assert classified(
        "ORACLE", error("ORA-28000: The account is locked."), rsa_key
    ).field_errors == {"username": "This account is locked"}
    service = error(
        'DPY-6001: Service "NOPE" is not registered with the listener at host '
        '"127.0.0.1" port 1521. (Similar to ORA-12514)',
        oracledb.OperationalError,
    )
    assert classified("ORACLE", service, rsa_key).field_errors == {
        "databaseName": "Database does not exist"
    }
    refused = error(
        "DPY-6005: cannot connect to database (CONNECTION_ID=x).\n[Errno 111] Connection refused",
        oracledb.OperationalError,
    )
    assert classified("ORACLE", refused, rsa_key).field_errors == {"port": "Incorrect port"}
    assert classified("ORACLE", TimeoutError(), rsa_key).step == "timeout"


@needs_driver("CLICKHOUSE")
def test_clickhouse_errors_from_the_drivers_own_factory(rsa_key):
    from clickhouse_connect.driver._backend.httpcommon import build_http_error

    def error(code: int, name: str):
        body = f"Code: {code}. DB::Exception: {name}: x. ({name}) (version 24.8.4.13)"
        return build_http_error(403, str(code), body, True, "http://127.0.0.1:8123", False)

    assert classified("CLICKHOUSE", error(516, "AUTHENTICATION_FAILED"), rsa_key).step == "auth"
    assert classified("CLICKHOUSE", error(81, "UNKNOWN_DATABASE"), rsa_key).field_errors == {
        "databaseName": "Database does not exist"
    }
    assert classified("CLICKHOUSE", error(497, "ACCESS_DENIED"), rsa_key).field_errors == {
        "username": "No access to this database"
    }


@needs_driver("TRINO")
def test_trino_errors(rsa_key):
    import requests
    from trino import exceptions

    unknown = exceptions.TrinoUserError(
        {
            "message": "Catalog 'nope' not found",
            "errorName": "CATALOG_NOT_FOUND",
            "errorCode": 44,
            "errorType": "USER_ERROR",
        },
        "q1",
    )
    assert classified("TRINO", unknown, rsa_key).field_errors == {
        "databaseName": "Catalog does not exist"
    }
    login = exceptions.HttpError("error 401: b'Unauthorized'")
    assert classified("TRINO", login, rsa_key).step == "auth"
    with pytest.raises(exceptions.TrinoConnectionError) as wrapped:
        try:  # how the client wraps a requests timeout (raised inside `except`)
            raise requests.exceptions.ReadTimeout("Read timed out. (read timeout=2)")
        except requests.exceptions.RequestException as e:
            raise exceptions.TrinoConnectionError(f"failed to execute: {e}")  # noqa: B904
    assert classified("TRINO", wrapped.value, rsa_key).step == "timeout"


@needs_driver("DATABRICKS")
def test_databricks_errors(rsa_key):
    from databricks.sql import exc

    # As ThriftDatabricksClient raises them: (message, context, host_url, original error); no
    # host_url here, which would send the connector's telemetry.
    token = exc.RequestError("Error during request to server", {"http-code": 403}, None, None)
    assert classified("DATABRICKS", token, rsa_key).field_errors == {
        "password": "Incorrect access token"
    }
    path = exc.RequestError("Error during request to server", {"http-code": 404}, None, None)
    assert "databricksHttpPath" in classified("DATABRICKS", path, rsa_key).field_errors
    catalog = exc.ServerOperationError(
        "[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope' was not found.", {}
    )
    assert classified("DATABRICKS", catalog, rsa_key).field_errors == {
        "databaseName": "Catalog does not exist"
    }
    slow = exc.RequestError(
        "Error during request to server",
        {"http-code": None},
        None,
        exc.MaxRetryDurationError("Retry request would exceed ..."),
    )
    assert classified("DATABRICKS", slow, rsa_key).step == "timeout"


@needs_driver("BIGQUERY", "SPANNER")
def test_google_errors_bigquery_and_spanner(rsa_key):
    import grpc
    from google.api_core import exceptions as api
    from google.oauth2 import _client

    with pytest.raises(Exception) as refresh:  # google-auth's own translation of a 400
        _client._handle_error_response(
            {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, False
        )
    failure = classified("BIGQUERY", refresh.value, rsa_key)
    assert failure.field_errors["bigQueryJsonKey"].startswith("Google rejected this key")
    missing = api.from_http_status(404, "Not found: Project acme-nope")
    assert classified("BIGQUERY", missing, rsa_key).field_errors == {
        "bigQueryProjectId": "Project not found"
    }
    disabled = api.from_http_status(
        403, "BigQuery API has not been used in project 1234 before or it is disabled."
    )
    assert (
        "not enabled" in classified("BIGQUERY", disabled, rsa_key).field_errors["bigQueryProjectId"]
    )
    instance = api.from_grpc_status(
        grpc.StatusCode.NOT_FOUND, "Instance not found: projects/p/instances/nope"
    )
    assert classified("SPANNER", instance, rsa_key).field_errors == {
        "spannerInstanceId": "Instance not found"
    }
    database = api.from_grpc_status(
        grpc.StatusCode.NOT_FOUND, "Database not found: projects/p/instances/i/databases/d"
    )
    assert classified("SPANNER", database, rsa_key).field_errors == {
        "databaseName": "Database does not exist"
    }
    slow = api.DeadlineExceeded("Deadline Exceeded")
    assert "did not answer" in classified("SPANNER", slow, rsa_key).field_errors["bigQueryJsonKey"]


@needs_driver("BIGQUERY")
def test_bigquery_catalog_step_names_the_missing_role():
    from google.api_core import exceptions as api

    from webapp.dialects.cloud import catalog_failure

    denied = api.from_http_status(
        403,
        "Access Denied: Project acme: User does not have "
        "bigquery.jobs.create permission in project acme.",
    )
    classified = get_dialect("BIGQUERY").classify(denied, Target({}, None, 2.0))
    failure = catalog_failure(classified, "bigQueryJsonKey", "unused")
    assert failure.step == "catalog"
    assert failure.field_errors == {
        "bigQueryJsonKey": "This service account cannot run queries (BigQuery Job User)"
    }
    fallback = catalog_failure(None, "snowflakeWarehouse", "Choose a warehouse")
    assert fallback.detail == "Connected, but choose a warehouse."


@needs_driver("ATHENA")
def test_athena_errors(rsa_key):
    from botocore.exceptions import ClientError, ConnectTimeoutError

    def error(code: str, message: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": message}}, "GetWorkGroup")

    assert classified(
        "ATHENA",
        error(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        ),
        rsa_key,
    ).field_errors == {"athenaAccessKeyId": "Unknown access key ID"}
    assert classified(
        "ATHENA",
        error("InvalidSignatureException", "The request signature we calculated does not match"),
        rsa_key,
    ).field_errors == {"password": "Incorrect secret access key"}
    assert classified(
        "ATHENA", error("InvalidRequestException", "WorkGroup nope is not found."), rsa_key
    ).field_errors == {"athenaWorkgroup": "Workgroup not found"}
    slow = ConnectTimeoutError(endpoint_url="https://athena.eu-west-1.amazonaws.com")
    assert "athenaRegion" in classified("ATHENA", slow, rsa_key).field_errors
    # botocore's read timeout carries response=None: still a timeout, not a crash.
    from botocore.exceptions import ReadTimeoutError

    silent = ReadTimeoutError(endpoint_url="https://athena.eu-west-1.amazonaws.com")
    assert classified("ATHENA", silent, rsa_key).field_errors == {
        "athenaRegion": "Amazon Athena did not answer within 2 s"
    }


def test_athena_query_failures_point_at_the_result_location(rsa_key):
    from webapp.dialects.athena import QueryFailed

    failure = classified(
        "ATHENA", QueryFailed("FAILED", "Unable to verify/create output bucket acme-nope"), rsa_key
    )
    assert failure.field_errors == {"athenaOutputLocation": "Cannot write query results here"}
    assert classified("ATHENA", QueryFailed("NO_OUTPUT", ""), rsa_key).field_errors == {
        "athenaOutputLocation": "Enter an s3:// location for query results"
    }


@needs_driver("SNOWFLAKE")
def test_snowflake_network_errors(rsa_key):
    import snowflake.connector

    unknown = snowflake.connector.DatabaseError(
        "Failed to login: HTTP request failed after retries: login request. failed to lookup "
        "address information: Name or service not known",
        errno=250001,
        sqlstate="08001",
    )
    assert classified("SNOWFLAKE", unknown, rsa_key).field_errors == {
        "snowflakeAccountId": "Account not found"
    }
    no_dns = snowflake.connector.DatabaseError(
        "Failed to login: HTTP request failed after retries: login request. failed to lookup "
        "address information: Temporary failure in name resolution",
        errno=250001,
    )
    failure = classified("SNOWFLAKE", no_dns, rsa_key)
    assert failure.field_errors == {} and "DNS resolver" in failure.detail
    blocked = snowflake.connector.DatabaseError(
        "Incoming request with IP 203.0.113.7 is not allowed to access Snowflake.",
        errno=390422,
        sqlstate="08001",
    )
    assert (
        "network policy"
        in classified("SNOWFLAKE", blocked, rsa_key).field_errors["snowflakeAccountId"]
    )


def test_motherduck_errors(rsa_key):
    import duckdb

    token = duckdb.InvalidInputException(
        "Invalid Input Error: Initialization function "
        '"motherduck_init" threw an exception: Your request '
        "is not authenticated. Please check your token."
    )
    assert classified("MOTHERDUCK", token, rsa_key).field_errors == {
        "password": "Incorrect access token"
    }
    assert (
        "did not answer"
        in classified("MOTHERDUCK", TimeoutError(), rsa_key).field_errors["password"]
    )


def test_posthog_errors(rsa_key):
    from webapp.dialects.posthog import PostHogError

    assert classified(
        "POSTHOG", PostHogError(401, "authentication_failed"), rsa_key
    ).field_errors == {"password": "Incorrect API key"}
    assert classified("POSTHOG", ConnectionRefusedError(), rsa_key).field_errors == {
        "port": "Incorrect port"
    }


# --- the bounded runner (for drivers with no deadline of their own) -----------------------------


def test_run_bounded_returns_raises_and_closes_late_results():
    assert run_bounded(lambda: 42, 1.0) == 42
    with pytest.raises(ValueError):
        run_bounded(lambda: (_ for _ in ()).throw(ValueError("x")), 1.0)
    closed = threading.Event()
    with pytest.raises(TimeoutError):
        # The sleep is the behaviour under test: a driver call that outlives its deadline.
        run_bounded(lambda: time.sleep(0.3) or "late", 0.05, discard=lambda r: closed.set())
    assert closed.wait(2)


# --- forms and connection strings ---------------------------------------------------------------


def test_every_dialects_fieldset_renders_with_each_label(admin):
    for dialect in DIALECTS:
        response = admin.get(f"/sources/fieldset?dialect={dialect}")
        assert response.status_code == 200, dialect
        page = response.get_data(as_text=True)
        assert f"{html.escape(get_dialect(dialect).label)} connection" in page
        for spec in get_dialect(dialect).fields:
            assert html.escape(spec.label, quote=False) in page, (dialect, spec.label)
            assert f'name="{spec.name}"' in page, (dialect, spec.name)


def test_keys_are_textareas_and_secrets_password_inputs(admin):
    page = admin.get("/sources/fieldset?dialect=BIGQUERY").get_data(as_text=True)
    assert "<textarea" in page and 'name="bigQueryJsonKey"' in page
    page = admin.get("/sources/fieldset?dialect=SNOWFLAKE").get_data(as_text=True)
    assert 'type="password"' in page and 'name="snowflakePrivateKeyPassphrase"' in page


KNOWN = set(DIALECTS)


@pytest.mark.parametrize(
    "text, dialect, expected",
    [
        (
            "jdbc:sqlserver://sql.example.com:1433;databaseName=sales;user=sa;password=p@ss;"
            "encrypt=true",
            "SQL_SERVER",
            {
                "host": "sql.example.com",
                "port": 1433,
                "databaseName": "sales",
                "username": "sa",
                "password": "p@ss",
                "sslEnabled": True,
            },
        ),
        (
            "mssql+pymssql://sa:pw@sql.example.com:1433/sales?encrypt=false",
            "SQL_SERVER",
            {
                "host": "sql.example.com",
                "port": 1433,
                "username": "sa",
                "password": "pw",
                "databaseName": "sales",
                "sslEnabled": False,
            },
        ),
        (
            "clickhouse://default:pw@abc.clickhouse.cloud:8443/events?secure=true",
            "CLICKHOUSE",
            {
                "host": "abc.clickhouse.cloud",
                "port": 8443,
                "username": "default",
                "password": "pw",
                "databaseName": "events",
                "sslEnabled": True,
            },
        ),
        (
            "trino://app@trino.example.com:8080/hive/default",
            "TRINO",
            {
                "host": "trino.example.com",
                "port": 8080,
                "username": "app",
                "databaseName": "hive",
                "trinoSchema": "default",
                "sslEnabled": False,
            },
        ),
        (
            "oracle+oracledb://app:pw@ora.example.com:1521/?service_name=FREEPDB1",
            "ORACLE",
            {
                "host": "ora.example.com",
                "port": 1521,
                "username": "app",
                "password": "pw",
                "databaseName": "FREEPDB1",
            },
        ),
        (
            "snowflake://DATADOCK:pw@myorg-acct/ANALYTICS/PUBLIC?warehouse=WH&role=ANALYST",
            "SNOWFLAKE",
            {
                "snowflakeAccountId": "myorg-acct",
                "username": "DATADOCK",
                "password": "pw",
                "databaseName": "ANALYTICS",
                "snowflakeWarehouse": "WH",
                "snowflakeRole": "ANALYST",
            },
        ),
        (
            "databricks://token:dapi123@dbc-1.cloud.databricks.com:443?http_path=%2Fsql%2F1.0%2F"
            "warehouses%2Fabcdef0123456789&catalog=main",
            "DATABRICKS",
            {
                "host": "dbc-1.cloud.databricks.com",
                "port": 443,
                "password": "dapi123",
                "databricksHttpPath": "/sql/1.0/warehouses/abcdef0123456789",
                "databaseName": "main",
            },
        ),
        (
            "bigquery://acme-analytics/events",
            "BIGQUERY",
            {"bigQueryProjectId": "acme-analytics", "bigQueryDatasetId": "events"},
        ),
        (
            "spanner+spanner:///projects/acme-1/instances/prod/databases/orders",
            "SPANNER",
            {"bigQueryProjectId": "acme-1", "spannerInstanceId": "prod", "databaseName": "orders"},
        ),
        (
            "awsathena+rest://AKIAIOSFODNN7EXAMPLE:wJalr%2FK7MDENG@athena.eu-west-1.amazonaws.com:443/"
            "default?s3_staging_dir=s3%3A%2F%2Facme-results%2F&work_group=analytics",
            "ATHENA",
            {
                "athenaRegion": "eu-west-1",
                "athenaAccessKeyId": "AKIAIOSFODNN7EXAMPLE",
                "password": "wJalr/K7MDENG",
                "athenaOutputLocation": "s3://acme-results/",
                "athenaWorkgroup": "analytics",
            },
        ),
        (
            "md:my_db?motherduck_token=tok123",
            "MOTHERDUCK",
            {"databaseName": "my_db", "password": "tok123"},
        ),
    ],
)
def test_cloud_connection_strings_fill_the_fields(text, dialect, expected):
    assert parse_connection_string(text, KNOWN) == (dialect, expected)


def test_pasting_fills_the_form_but_never_stores_or_echoes_the_string(admin):
    from tests.fixtures_app import csrf_token

    token = csrf_token(admin, "/sources/new")
    text = "snowflake://DATADOCK:s3cret-pw@myorg-acct/ANALYTICS?warehouse=WH"
    response = admin.post(
        "/sources/connection-string",
        data={"csrf_token": token, "dialect": "POSTGRES", "connectionString": text},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="myorg-acct"' in page and 'value="WH"' in page
    assert "s3cret-pw" not in page and text not in page
