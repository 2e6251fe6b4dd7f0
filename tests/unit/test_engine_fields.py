"""The per-type fields of existing engines (issue 16): BigQuery's dataset, Athena's database,
Trino's schema, SQL Server's optional database; each declared, checked offline, read from a
pasted string where the string has it, and its errors on the field. Classification uses the
drivers' real exception classes; no vendor service is reached."""

from __future__ import annotations

import pytest

from tests.extras import needs_driver
from webapp.dialects import get_dialect
from webapp.dialects.base import Target
from webapp.dialects.fields import FieldInvalid


def classify(key: str, exc: BaseException, **values):
    return get_dialect(key).classify(exc, Target(values, None, 2.0))


def test_sql_server_database_is_optional():
    spec = get_dialect("SQL_SERVER").field("databaseName")
    assert not spec.required and spec.clean("") is None


def test_trino_schema_from_the_field_and_the_url():
    dialect = get_dialect("TRINO")
    assert dialect.field("trinoSchema").clean("web_events") == "web_events"
    with pytest.raises(FieldInvalid):
        dialect.field("trinoSchema").clean("x; DROP")
    assert dialect.read_url("trino://app@trino.example.com:443/hive/sales")["trinoSchema"] == (
        "sales"
    )


def test_bigquery_dataset_field_url_and_error():
    dialect = get_dialect("BIGQUERY")
    assert dialect.read_url("bigquery://acme-analytics/events")["bigQueryDatasetId"] == "events"
    with pytest.raises(FieldInvalid):
        dialect.field("bigQueryDatasetId").clean("events-2026")


@needs_driver("BIGQUERY")
def test_bigquery_unknown_dataset_is_on_its_field():
    from google.api_core.exceptions import NotFound

    missing = NotFound(
        "GET https://bigquery.googleapis.com/bigquery/v2/projects/acme/datasets/"
        "nope?prettyPrint=false: Not found: Dataset acme:nope"
    )
    assert classify("BIGQUERY", missing, bigQueryDatasetId="nope").field_errors == {
        "bigQueryDatasetId": "Dataset not found"
    }


@needs_driver("ATHENA")
def test_athena_unknown_database_is_on_its_field():
    from botocore.exceptions import ClientError

    missing = ClientError(
        {"Error": {"Code": "MetadataException", "Message": "Database nope not found."}},
        "GetDatabase",
    )
    failure = classify(
        "ATHENA",
        missing,
        athenaCatalog="AwsDataCatalog",
        athenaDatabase="nope",
        athenaRegion="eu-west-1",
    )
    assert failure.field_errors == {"athenaDatabase": "Database not found"}
    assert failure.step == "database"


def test_athena_introspects_only_the_database_given():
    from webapp.dialects.athena import AthenaConnection

    rows = [
        ("analytics", "orders", "BASE TABLE", "id", "bigint", "NO", None, False, 1),
        ("raw", "events", "BASE TABLE", "id", "bigint", "NO", None, False, 1),
    ]

    class Rows(AthenaConnection):
        def rows(self, sql, timeout):  # stand-in for Athena's paged results
            return iter(rows)

    connection = Rows(None, "primary", "AwsDataCatalog", None, 2.0, database="analytics")
    assert [t.name for t in get_dialect("ATHENA").introspect(connection)] == ["orders"]


def test_the_add_form_offers_every_engine_and_mongodbs_fields(admin):
    """25 or more engines on the add form (the issue's count), MongoDB's own fields shown."""
    import re

    html = admin.get("/sources/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="dialect".*?</select>', html, re.S).group(0)
    offered = re.findall(r'<option[^>]*value="([A-Z0-9_]+)"', select)
    assert len(offered) >= 25
    assert {"MONGODB", "ELASTICSEARCH", "OPENSEARCH", "FIREBOLT"} <= set(offered)
    fieldset = admin.get("/sources/fieldset?dialect=MONGODB").get_data(as_text=True)
    assert 'name="sampleSize"' in fieldset and 'value="100"' in fieldset
    assert 'name="authDatabase"' in fieldset
