"""The OpenAPI document is generated from the declarations: every dialect field, secrets
write-only and never in a response, the contract's response fields required."""

from __future__ import annotations

import schemathesis

from tests.api.test_api_data_sources import CONTRACT_EXAMPLE
from webapp.dialects import DIALECTS, FieldSpec
from webapp.openapi import build_document
from webapp.source_fields import SOURCE_FIELDS


def schemas() -> dict:
    return build_document()["components"]["schemas"]


def test_every_declared_field_is_in_the_document_and_secrets_are_write_only():
    create, source = schemas()["DataSourceCreate"], schemas()["DataSource"]
    assert create["properties"]["dialect"]["enum"] == list(DIALECTS)
    for dialect in DIALECTS.values():
        for spec in dialect.fields:
            prop = create["properties"][spec.name]
            if spec.secret:
                assert prop["writeOnly"] is True, spec.name
                assert spec.name not in source["properties"], spec.name
            else:
                assert spec.name in source["properties"], spec.name
                assert spec.name in source["required"], spec.name
    for spec in SOURCE_FIELDS:
        assert spec.name in create["properties"] and spec.name in source["properties"]
    assert create["required"] == ["type", "dialect", "displayName"]
    assert create["properties"]["type"]["enum"] == ["direct"]
    assert create["additionalProperties"] is False and source["additionalProperties"] is False


def test_limits_come_from_the_field_declarations():
    props = schemas()["DataSourceCreate"]["properties"]
    assert (props["port"]["minimum"], props["port"]["maximum"]) == (1, 65535)
    assert (props["maxPoolSize"]["minimum"], props["maxPoolSize"]["maximum"]) == (1, 100)
    assert props["sslMode"]["enum"][:3] == ["allow", "prefer", "require"]
    assert props["displayName"]["type"] == "string" and props["displayName"]["minLength"] == 1
    assert props["host"]["type"] == ["string", "null"]
    update = schemas()["DataSourceUpdate"]["properties"]
    for flag in ("unsetPassword", "unsetSshPassword", "unsetSshPrivateKey",
                 "unsetSshPrivateKeyPassphrase"):
        assert update[flag]["type"] == ["boolean", "null"], flag


def test_a_new_field_declaration_appears_without_touching_the_document(monkeypatch):
    postgres = type(DIALECTS["POSTGRES"])
    extra = FieldSpec(name="applicationName", label="Application name", max_length=64)
    secret = FieldSpec(name="pgbouncerToken", label="Token", kind="password", secret=True)
    monkeypatch.setattr(postgres, "fields", (*postgres.fields, extra, secret))
    document = build_document()["components"]["schemas"]
    assert document["DataSourceCreate"]["properties"]["applicationName"]["maxLength"] == 64
    assert "applicationName" in document["DataSource"]["required"]
    assert document["DataSourceCreate"]["properties"]["pgbouncerToken"]["writeOnly"] is True
    assert "pgbouncerToken" not in document["DataSource"]["properties"]
    assert "unsetPgbouncerToken" in document["DataSourceUpdate"]["properties"]


def test_the_contract_response_fields_are_all_required():
    source = schemas()["DataSource"]
    assert set(CONTRACT_EXAMPLE) <= set(source["required"])
    assert source["properties"]["isBasedashWarehouse"]["const"] is False
    assert source["properties"]["lastSyncStatus"]["enum"] == [
        "NEVER_SYNCED", "PENDING", "SUCCESS", "FAILED"]


def test_the_served_document_is_a_valid_openapi_document(client):
    served = client.get("/api/public/openapi.json").get_json()
    assert served == build_document()
    loaded = schemathesis.openapi.from_dict(served)
    operations = [result.ok() for result in loaded.get_all_operations()]
    labels = {op.label for op in operations}
    assert "POST /api/public/organizations/{orgId}/data-sources" in labels
    assert "PATCH /api/public/organizations/{orgId}/data-sources/{id}" in labels
    assert len(labels) == 11
