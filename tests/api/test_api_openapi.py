"""The OpenAPI document is generated from the declarations: one request schema per dialect and
operation (oneOf with a `dialect` discriminator), secrets write-only and never in a response,
and the `DataSource` schema built from the same declaration the serializer answers with."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.api.conftest import add_source
from tests.api.test_api_data_sources import CONTRACT_EXAMPLE, SECRETS
from webapp.api.serialize import source_data
from webapp.dialects import DIALECTS, Dialect, FieldSpec
from webapp.extensions import db
from webapp.models import Source, utcnow
from webapp.openapi import build_document
from webapp.records import COLUMNS, vault
from webapp.source_fields import SOURCE_FIELDS
from webapp.source_inputs import LIFECYCLE

CONTROL = {"type", "dialect", "connectionString"}
LIFECYCLE_NAMES = {field.name for field in LIFECYCLE}


def schemas() -> dict:
    return build_document()["components"]["schemas"]


def validator(component: str, document: dict | None = None) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator of one component, its $refs resolved in the document."""
    resource = Resource.from_contents(
        document or build_document(), default_specification=DRAFT202012
    )
    registry = Registry().with_resource("urn:datadock:openapi", resource)
    return Draft202012Validator(
        {"$ref": f"urn:datadock:openapi#/components/schemas/{component}"}, registry=registry
    )


def required_fields(schema: dict) -> list[str]:
    """The connection fields a create/verify body needs (the branch without a URL)."""
    branches = {branch["title"]: branch for branch in schema.get("anyOf", [])}
    return branches["The fields"]["required"] if branches else []


def test_the_document_says_snowflake_requires_its_account_id():
    document = build_document()
    snowflake = document["components"]["schemas"]["CreateDataSource_SNOWFLAKE"]
    assert snowflake["properties"]["dialect"]["const"] == "SNOWFLAKE"
    assert {"snowflakeAccountId", "username", "databaseName"} <= set(required_fields(snowflake))
    assert "snowflakeAccountId" in snowflake["description"]
    assert "host" not in snowflake["properties"]  # another dialect's field is not offered
    body = {
        "type": "direct",
        "dialect": "SNOWFLAKE",
        "displayName": "Warehouse",
        "snowflakeAccountId": "xy12345",
        "username": "reader",
        "databaseName": "ANALYTICS",
        "password": "secret",
    }
    create = validator("CreateDataSource", document)
    assert create.is_valid(body)
    errors = [
        e for e in create.iter_errors({k: v for k, v in body.items() if k != "snowflakeAccountId"})
    ]
    assert errors, "a Snowflake body without its account id fits the document"
    # A connection string stays expressible: it fills the fields left out.
    assert create.is_valid(
        {
            "type": "direct",
            "dialect": "SNOWFLAKE",
            "displayName": "W",
            "connectionString": "snowflake://reader@xy12345/ANALYTICS",
        }
    )
    assert not create.is_valid({**body, "host": "db.example.com"})


def _expected_required(dialect: Dialect) -> list[str]:
    return [
        f.name for f in dialect.fields if f.required and f.default is None and not f.required_if
    ]


@pytest.mark.parametrize("key", list(DIALECTS))
def test_every_registered_dialect_has_its_schemas(key: str):
    dialect = DIALECTS[key]
    all_schemas = schemas()
    names = {f.name for f in dialect.fields} | {s.name for s in SOURCE_FIELDS} | CONTROL
    for mode, body in (("Create", "CreateDataSource"), ("Verify", "VerifyDataSource")):
        schema = all_schemas[f"{body}_{key}"]
        assert schema["properties"]["dialect"] == {
            "type": "string",
            "const": key,
            "description": dialect.label,
        }
        assert set(schema["properties"]) == names, mode
        assert schema["additionalProperties"] is False
        assert required_fields(schema) == _expected_required(dialect), mode
        assert all_schemas[body]["discriminator"]["mapping"][key] == (
            f"#/components/schemas/{body}_{key}"
        )
        assert {"$ref": f"#/components/schemas/{body}_{key}"} in all_schemas[body]["oneOf"]
        for spec in dialect.fields:
            assert schema["properties"][spec.name].get("writeOnly", False) is spec.secret
    assert all_schemas[f"CreateDataSource_{key}"]["required"] == ["type", "dialect", "displayName"]
    assert all_schemas[f"VerifyDataSource_{key}"]["required"] == ["dialect"]
    update = all_schemas[f"UpdateDataSource_{key}"]
    flags = {"unset" + s[0].upper() + s[1:] for s in dialect.secret_names}
    assert set(update["properties"]) == names | flags and "required" not in update
    assert {"$ref": f"#/components/schemas/UpdateDataSource_{key}"} in (
        all_schemas["UpdateDataSource"]["anyOf"]
    )
    assert len(all_schemas["CreateDataSource"]["oneOf"]) == len(DIALECTS)


def test_an_ssh_tunnel_requires_its_host_and_username_when_on():
    create = validator("CreateDataSource")
    body = {
        "type": "direct",
        "dialect": "POSTGRES",
        "displayName": "App",
        "host": "db",
        "databaseName": "app",
        "username": "reader",
        "password": "pw",
    }
    assert create.is_valid(body) and create.is_valid({**body, "sshEnabled": False})
    assert not create.is_valid({**body, "sshEnabled": True})
    assert create.is_valid(
        {
            **body,
            "sshEnabled": True,
            "sshHost": "bastion",
            "sshUsername": "tunnel",
            "sshPassword": "pw",
        }
    )


def test_a_patch_fits_the_stored_dialect_or_the_one_it_sends():
    update = validator("UpdateDataSource")
    assert update.is_valid({"displayName": "Renamed"})
    assert update.is_valid({"unsetPassword": True, "password": None})
    assert update.is_valid({"dialect": "SNOWFLAKE", "snowflakeAccountId": "xy12345"})
    assert not update.is_valid({"dialect": "SNOWFLAKE", "host": "db.example.com"})
    assert not update.is_valid({"displayName": None})
    assert not update.is_valid({"noSuchField": 1})


def test_a_whole_number_written_as_a_json_float_is_the_integer_the_document_says(api):
    """JSON Schema's "integer" admits 5432.0; so does the server (a fraction is still refused).
    The host is under .invalid: "Host not found" without a DNS query."""
    body = {
        "dialect": "POSTGRES",
        "host": "db.invalid",
        "port": 5432.0,
        "databaseName": "app",
        "username": "reader",
        "password": "pw",
        "maxPoolSize": 5.0,
    }
    assert validator("VerifyDataSource").is_valid(body)
    answer = api.post("/verify", json=body).get_json()["error"]
    assert (answer["title"], answer["fieldErrors"]) == (
        "ConnectionFailed",
        {"host": "Host not found"},
    )
    answer = api.post("/verify", json={**body, "port": 5432.5}).get_json()["error"]
    assert answer["fieldErrors"] == {"port": "Port must be a whole number"}


def test_limits_come_from_the_field_declarations():
    all_schemas = schemas()
    props = all_schemas["CreateDataSource_POSTGRES"]["properties"]
    assert (props["port"]["minimum"], props["port"]["maximum"]) == (1, 65535)
    assert props["port"]["default"] == 5432
    assert all_schemas["CreateDataSource_REDSHIFT"]["properties"]["port"]["default"] == 5439
    assert (props["maxPoolSize"]["minimum"], props["maxPoolSize"]["maximum"]) == (1, 100)
    assert props["sslMode"]["enum"][:3] == ["require", "verify-ca", "verify-full"]
    assert props["displayName"]["type"] == "string" and props["displayName"]["minLength"] == 1
    assert props["host"]["type"] == "string" and props["host"]["maxLength"] == 253
    assert props["sshHost"]["type"] == ["string", "null"]
    verify = all_schemas["VerifyDataSource_POSTGRES"]["properties"]
    assert verify["displayName"]["type"] == ["string", "null"]
    update = all_schemas["UpdateDataSource_POSTGRES"]["properties"]
    assert update["password"]["type"] == ["string", "null"]  # blank keeps the saved one
    for flag in (
        "unsetPassword",
        "unsetSshPassword",
        "unsetSshPrivateKey",
        "unsetSshPrivateKeyPassphrase",
        "unsetSslClientKey",
    ):
        assert update[flag]["type"] == ["boolean", "null"], flag


def test_a_new_field_declaration_appears_without_touching_the_document(monkeypatch):
    postgres = type(DIALECTS["POSTGRES"])
    extra = FieldSpec(name="applicationName", label="Application name", max_length=64)
    secret = FieldSpec(name="pgbouncerToken", label="Token", kind="password", secret=True)
    monkeypatch.setattr(postgres, "fields", (*postgres.fields, extra, secret))
    document = build_document()["components"]["schemas"]
    create = document["CreateDataSource_POSTGRES"]["properties"]
    assert create["applicationName"]["maxLength"] == 64
    assert "applicationName" in document["DataSource"]["required"]
    assert create["pgbouncerToken"]["writeOnly"] is True
    assert "pgbouncerToken" not in document["DataSource"]["properties"]
    assert "unsetPgbouncerToken" in document["UpdateDataSource_POSTGRES"]["properties"]
    assert "applicationName" not in document["CreateDataSource_MYSQL"]["properties"]


def test_the_contract_response_fields_are_all_required():
    source = schemas()["DataSource"]
    assert set(CONTRACT_EXAMPLE) <= set(source["required"])
    assert set(source["required"]) == set(source["properties"])
    assert source["additionalProperties"] is False
    assert source["properties"]["isBasedashWarehouse"]["const"] is False
    assert source["properties"]["lastSyncStatus"]["enum"] == [
        "NEVER_SYNCED",
        "PENDING",
        "SUCCESS",
        "FAILED",
    ]
    assert not set(SECRETS) & set(source["properties"])
    for dialect in DIALECTS.values():
        for spec in dialect.fields:
            assert (spec.name in source["properties"]) is not spec.secret, spec.name


def _sample(spec: FieldSpec) -> Any:
    """A value of the declared kind (its default when it has one)."""
    if spec.default is not None:
        return spec.default
    if spec.kind == "select":
        return spec.choices[0][0]
    return {"integer": spec.min_value or 1, "boolean": True}.get(spec.kind, f"{spec.name}-1")


def _source_of(app, org_id: int, dialect: Dialect) -> int:
    """A stored source of `dialect` with every field set (secrets in the encrypted blob)."""
    public = {f.name: _sample(f) for f in dialect.fields if not f.secret}
    secrets = {f.name: f"secret-{f.name}" for f in dialect.fields if f.secret}
    columns = {column: public.pop(name) for name, column in COLUMNS.items() if name in public}
    with app.app_context():
        source = Source(
            organization_id=org_id,
            display_name=f"{dialect.key} source",
            dialect=dialect.key,
            settings=public,
            secrets_blob=vault().encrypt(secrets),
            last_sync_attempt_at=utcnow(),
            **columns,
        )
        db.session.add(source)
        db.session.commit()
        return source.id


def test_the_serializer_answers_exactly_the_documented_properties_for_every_dialect(app, api):
    """For a stored source of every dialect, `source_data` has the keys of `DataSource`, no
    more and no fewer, and the object fits the schema; no secret value is in it."""
    document = build_document()
    source_schema = document["components"]["schemas"]["DataSource"]
    check = validator("DataSource", document)
    full = {_source_of(app, api.org_id, dialect) for dialect in DIALECTS.values()}
    ids = [add_source(app, api.org_id), *full]  # add_source: a few fields, the rest unset
    with app.app_context():
        for source_id in ids:
            source = db.session.get(Source, source_id)
            data = source_data(source)
            assert list(data) == list(source_schema["properties"]), source.dialect
            assert [e.message for e in check.iter_errors(data)] == [], source.dialect
            assert not [v for v in data.values() if isinstance(v, str) and "secret" in v]
            own = {spec.name for spec in DIALECTS[source.dialect].fields if not spec.secret}
            if source_id in full:
                assert [n for n in own if data[n] is None] == [], source.dialect
            others = (
                set(source_schema["properties"])
                - own
                - {"id", "publicId", "dialect", *(s.name for s in SOURCE_FIELDS), *LIFECYCLE_NAMES}
            )
            assert {n: data[n] for n in others if data[n] is not None} == {}, source.dialect
    answered = api.get().get_json()["data"]
    assert len(answered) == len(ids)
    assert all(check.is_valid(item) for item in answered)


def test_the_served_document_is_a_valid_openapi_document(client):
    served = client.get("/api/public/openapi.json").get_json()
    assert served == build_document()
    validate_openapi(served)  # OpenAPI 3.1, its schemas JSON Schema 2020-12
    loaded = schemathesis.openapi.from_dict(served)
    operations = [result.ok() for result in loaded.get_all_operations()]
    labels = {op.label for op in operations}
    assert "POST /api/public/organizations/{orgId}/data-sources" in labels
    assert "PATCH /api/public/organizations/{orgId}/data-sources/{id}" in labels
    assert len(labels) == 38  # + verify saved, pause, resume (issue 13); + 8 teams (12)
    # + 8 notification channels and events (13); + 3 onboarding links, /v1 (15)
    # + 4 DataBrain and Credible Data faces (15); + catalog search (14)
