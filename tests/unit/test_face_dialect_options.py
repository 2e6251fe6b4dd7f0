"""The BigQuery and Snowflake options Credible Data documents (billing project, location,
maximum bytes billed, timeouts, session schema) reach the drivers. The drivers talk to cloud
services that cannot run here, so their client classes are stand-ins that record what they
were given; everything of Datadock's own runs for real."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from tests.extras import needs_driver
from webapp.dialects import Target, get_dialect


class FakeJob:
    def result(self, timeout: float, page_size: int | None = None) -> list[Any]:
        FakeBigQuery.calls.append(("result", timeout))
        return []


class FakeBigQuery:
    """Stand-in for google.cloud.bigquery.Client."""

    calls: ClassVar[list[tuple[Any, ...]]] = []

    def __init__(self, **kwargs: Any) -> None:
        FakeBigQuery.calls.append(("client", kwargs))

    def list_datasets(self, **kwargs: Any) -> list[Any]:
        FakeBigQuery.calls.append(("list", kwargs))
        return [SimpleNamespace(dataset_id="events")]

    def query(self, sql: str, job_config: Any = None, timeout: float = 0) -> FakeJob:
        FakeBigQuery.calls.append(("query", job_config, timeout))
        return FakeJob()

    def close(self) -> None:
        pass


@needs_driver("BIGQUERY")
def test_bigquery_options_reach_the_client_and_every_query(monkeypatch):
    from google.cloud import bigquery

    import webapp.dialects.bigquery as module

    monkeypatch.setattr(bigquery, "Client", FakeBigQuery)
    monkeypatch.setattr(module, "credentials", lambda *_args: object())
    FakeBigQuery.calls = []
    dialect = get_dialect("BIGQUERY")
    values = {
        "bigQueryJsonKey": "{}",
        "bigQueryProjectId": "data-project",
        "bigQueryBillingProjectId": "billing-project",
        "bigQueryLocation": "EU",
        "bigQueryMaximumBytesBilled": "1000000000",
        "bigQueryQueryTimeoutMs": 45000,
    }
    connection = dialect.connect(Target(values, None, 5.0))
    dialect.check_catalog(connection)
    list(dialect.introspect(connection))
    client = next(c[1] for c in FakeBigQuery.calls if c[0] == "client")
    assert client["project"] == "billing-project" and client["location"] == "EU"
    assert [c[1]["project"] for c in FakeBigQuery.calls if c[0] == "list"] == [
        "data-project",
        "data-project",
    ]
    queries = [c for c in FakeBigQuery.calls if c[0] == "query"]
    assert len(queries) == 2  # SELECT 1, then the dataset's catalog query
    assert all(q[1].maximum_bytes_billed == 1000000000 for q in queries)
    assert queries[1][2] == 45.0


@pytest.mark.parametrize(
    ("value", "ok"), [("1000", True), ("0", False), ("1e9", False), ("1" * 20, False)]
)
def test_bigquery_maximum_bytes_billed_is_a_whole_number_of_bytes(value, ok):
    spec = get_dialect("BIGQUERY").field("bigQueryMaximumBytesBilled")
    if ok:
        assert spec.clean(value) == value
    else:
        with pytest.raises(Exception, match=r"whole number of bytes|at most"):
            spec.clean(value)


@needs_driver("SNOWFLAKE")
def test_snowflake_schema_and_response_timeout_reach_the_session(monkeypatch):
    import snowflake.connector

    given: dict[str, Any] = {}

    class FakeConnection:
        """Stand-in for the connector's connection object."""

    def fake_connect(**kwargs: Any) -> FakeConnection:
        given.update(kwargs)
        return FakeConnection()

    monkeypatch.setattr(snowflake.connector, "connect", fake_connect)
    values = {
        "snowflakeAccountId": "acme-x1",
        "username": "u",
        "password": "p",
        "databaseName": "DB",
        "snowflakeSchema": "PUBLIC",
        "snowflakeResponseTimeoutMs": 30000,
    }
    connection = get_dialect("SNOWFLAKE").connect(Target(values, None, 5.0))
    assert given["schema"] == "PUBLIC"
    assert given["session_parameters"] == {"STATEMENT_TIMEOUT_IN_SECONDS": 30}
    assert connection.datadock_statement_seconds == 30
