"""Snowflake's and BigQuery's table and column comments reach the stored tables. Both are cloud
services that cannot run here: their connection/client objects are stand-ins that answer the
catalog queries with rows in the documented column order (Snowflake: information_schema's
COMMENT columns; BigQuery: TABLE_OPTIONS' description, a string literal, and
COLUMN_FIELD_PATHS' description). Datadock's own query building and row grouping run for real."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from webapp.dialects import get_dialect
from webapp.dialects.bigquery import BigQueryConnection


class FakeSnowflakeCursor:
    """Stand-in for the connector's cursor: SHOW PRIMARY KEYS, then the catalog query."""

    def __init__(self, queries: list[str]) -> None:
        self.queries = queries
        self.description: list[tuple[str]] = []
        self.pending: list[tuple[Any, ...]] = []

    def execute(self, sql: str) -> None:
        self.queries.append(sql)
        if sql.startswith("SHOW PRIMARY KEYS"):
            self.description = [("schema_name",), ("table_name",), ("column_name",)]
            self.pending = [("PUBLIC", "ORDERS", "ID")]
        elif "information_schema.columns" in sql:
            # schema, table, type, column, data type, nullable, default, ordinal, row count,
            # table comment, column comment
            self.pending = [
                ("PUBLIC", "ORDERS", "BASE TABLE", "ID", "NUMBER", "NO", None, 1, 12, "Paid", None),
                ("PUBLIC", "ORDERS", "BASE TABLE", "NOTE", "TEXT", "YES", None, 2, 12, "Paid",
                 "Free"),
                ("PUBLIC", "V", "VIEW", "ID", "NUMBER", "YES", None, 1, None, "", ""),
            ]  # fmt: skip

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self.pending = self.pending, []
        return rows

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        rows, self.pending = self.pending[:size], self.pending[size:]
        return rows

    def close(self) -> None:
        pass


def test_snowflake_comments_from_information_schema():
    queries: list[str] = []
    connection = SimpleNamespace(cursor=lambda: FakeSnowflakeCursor(queries))
    tables = {t.name: t for t in get_dialect("SNOWFLAKE").introspect(connection)}
    assert "t.comment, c.comment" in queries[-1]  # the catalog query asks for both
    assert tables["ORDERS"].comment == "Paid" and tables["ORDERS"].row_estimate == 12
    columns = {c["name"]: c for c in tables["ORDERS"].columns}
    assert columns["NOTE"]["comment"] == "Free" and "comment" not in columns["ID"]
    assert columns["ID"]["primaryKey"] is True
    assert tables["V"].kind == "view" and tables["V"].comment is None  # '' is no comment
    assert "comment" not in tables["V"].columns[0]


class FakeRow:
    def __init__(self, *values: Any) -> None:
        self._values = values

    def values(self) -> tuple[Any, ...]:
        return self._values


class FakeBigQueryClient:
    """Stand-in for google.cloud.bigquery.Client answering the dataset's catalog query."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def query(self, sql: str, job_config: Any = None, timeout: float = 0) -> Any:
        self.queries.append(sql)
        # schema, table, type, column, data type, nullable, default, primary key, ordinal,
        # row estimate, TABLE_OPTIONS description (a literal), column description
        rows = [
            FakeRow("events", "clicks", "BASE TABLE", "id", "INT64", "NO", "NULL", True, 1,
                    None, '"Every click, \\"raw\\""', None),
            FakeRow("events", "clicks", "BASE TABLE", "url", "STRING", "YES", "NULL", False, 2,
                    None, '"Every click, \\"raw\\""', "Full URL"),
            FakeRow("events", "daily", "VIEW", "n", "INT64", "YES", "NULL", False, 1,
                    None, None, None),
        ]  # fmt: skip
        return SimpleNamespace(result=lambda timeout, page_size: rows)

    def close(self) -> None:
        pass


def test_bigquery_descriptions_from_table_options_and_field_paths():
    client = FakeBigQueryClient()
    connection = BigQueryConnection(client, "acme-analytics", 5.0, dataset="events")
    tables = {t.name: t for t in get_dialect("BIGQUERY").introspect(connection)}
    assert "TABLE_OPTIONS" in client.queries[0] and "COLUMN_FIELD_PATHS" in client.queries[0]
    assert tables["clicks"].comment == 'Every click, "raw"'
    columns = {c["name"]: c for c in tables["clicks"].columns}
    assert columns["url"]["comment"] == "Full URL" and "comment" not in columns["id"]
    assert columns["id"]["default"] is None
    assert tables["daily"].kind == "view" and tables["daily"].comment is None
