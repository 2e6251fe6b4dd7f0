"""Google Cloud Spanner: the same service-account key as BigQuery (the Basedash API's
bigQueryJsonKey), an instance and a database, one INFORMATION_SCHEMA query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..core.failures import NO_DATABASE
from ..core.steps import API_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure, group_tables, sql_kind
from .errors_table import chain_text
from .fields import FieldInvalid, FieldSpec, database_field
from .gcp import (
    KEY_FIELD,
    PROJECT_FIELD,
    credentials,
    google_rules,
    key_fields,
    parse_service_account,
    product_rule,
    project_of,
)
from .urls import UrlForm

SCOPES = ["https://www.googleapis.com/auth/spanner.data"]
SYNC_SECONDS = 300.0
INSTANCE_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$")
DATABASE_ID = re.compile(r"^[a-z][a-z0-9_-]{0,28}[a-z0-9]$")

CATALOG_QUERY = """
SELECT c.TABLE_SCHEMA, c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.SPANNER_TYPE,
       c.IS_NULLABLE, c.COLUMN_DEFAULT, pk.COLUMN_NAME IS NOT NULL, c.ORDINAL_POSITION
FROM INFORMATION_SCHEMA.COLUMNS AS c
JOIN INFORMATION_SCHEMA.TABLES AS t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
LEFT JOIN INFORMATION_SCHEMA.INDEX_COLUMNS AS pk
  ON pk.TABLE_SCHEMA = c.TABLE_SCHEMA AND pk.TABLE_NAME = c.TABLE_NAME
 AND pk.COLUMN_NAME = c.COLUMN_NAME AND pk.INDEX_TYPE = 'PRIMARY_KEY'
WHERE c.TABLE_SCHEMA NOT IN ('INFORMATION_SCHEMA', 'SPANNER_SYS')
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
"""

ERRORS = google_rules(
    "Spanner",
    product_rule(r"Instance not found", "database", "spannerInstanceId", "Instance not found"),
    product_rule(r"Database not found", "database", "databaseName", NO_DATABASE),
    product_rule(
        r"Project .* not found|project not found", "database", PROJECT_FIELD, "Project not found"
    ),
)


def check_instance_id(value: str) -> None:
    """2–64 lowercase letters, digits and dashes, starting with a letter."""
    if not INSTANCE_ID.match(value):
        raise FieldInvalid("An instance ID is 2–64 lowercase letters, digits and dashes")


def check_database_id(value: str) -> None:
    """2–30 lowercase letters, digits, underscores and dashes, starting with a letter."""
    if not DATABASE_ID.match(value):
        raise FieldInvalid("A database ID is 2–30 lowercase letters, digits, _ and -")


@dataclass
class SpannerConnection:
    """A database handle and the deadline of the calls made through it."""

    client: Any
    database: Any
    timeout: float

    def rows(self, sql: str, timeout: float) -> Iterator[tuple]:
        """Stream a read-only query's rows."""
        with self.database.snapshot() as snapshot:
            yield from (tuple(r) for r in snapshot.execute_sql(sql, timeout=timeout))

    def close(self) -> None:
        """Close the client's channels."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


class Spanner(Dialect):
    """Cloud Spanner (GoogleSQL dialect) with a service account."""

    key = "SPANNER"
    label = "Google Cloud Spanner"
    docs_url = "https://cloud.google.com/spanner/docs/iam"
    read_only_note = (
        "Spanner's access is IAM: give the service account the Cloud Spanner "
        "Database Reader role (roles/spanner.databaseReader) on the database."
    )
    extra = "spanner"
    driver_modules = (
        "google.cloud.spanner",
        "google.oauth2.service_account",
        "google.auth.transport.requests",
    )
    steps = API_STEPS
    driver_steps = ("auth", "database")
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # spanner:///projects/P/instances/I/databases/D (SQLAlchemy's form)
    url_schemes = ("spanner",)
    url_form = UrlForm(
        pattern=r"projects/(?P<bigQueryProjectId>[^/?]+)/instances/(?P<spannerInstanceId>[^/?]+)"
        r"/databases/(?P<databaseName>[^/?]+)",
        invalid="Paste spanner:///projects/PROJECT/instances/INSTANCE/databases/DB",
    )
    fields = (
        *key_fields("Spanner (role Cloud Spanner Database Reader)"),
        FieldSpec(
            name="spannerInstanceId",
            label="Instance ID",
            required=True,
            max_length=64,
            placeholder="my-instance",
            checks=(check_instance_id,),
        ),
        database_field(
            label="Database ID",
            max_length=30,
            placeholder="my-database",
            checks=(check_database_id,),
        ),
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """Project, instance and database: where the key is used."""
        return (PROJECT_FIELD, "spannerInstanceId", "databaseName")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Google's APIs are TLS only."""
        return True

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """The key parses as a service-account key whose private key loads."""
        _, errors = parse_service_account(values.get(KEY_FIELD))
        return {**super().check_local(values), **errors}

    def connect(self, target: Target) -> SpannerConnection:
        """Get a token (auth), then run SELECT 1 in the database: names a missing instance or
        database precisely."""
        from google.cloud import spanner

        v = target.values
        creds = credentials(v, target.timeout, SCOPES)
        client = spanner.Client(
            project=project_of(v), credentials=creds, disable_builtin_metrics=True
        )
        database = client.instance(v["spannerInstanceId"]).database(v["databaseName"])
        connection = SpannerConnection(client, database, target.timeout)
        try:
            list(connection.rows("SELECT 1", target.timeout))
        except BaseException:
            connection.close()
            raise
        return connection

    def check_catalog(self, connection: SpannerConnection) -> None:
        """INFORMATION_SCHEMA is readable."""
        try:
            list(
                connection.rows(
                    "SELECT 1 FROM INFORMATION_SCHEMA.COLUMNS LIMIT 1", connection.timeout
                )
            )
        except Exception as exc:
            failure = self.classify(exc, Target({}, None, connection.timeout))
            raise catalog_failure(
                failure, KEY_FIELD, "This service account cannot read INFORMATION_SCHEMA"
            ) from exc

    def server_version(self, connection: SpannerConnection) -> str:
        """ "Google Cloud Spanner (database name)"."""
        return f"Google Cloud Spanner ({connection.database.database_id})"

    def introspect(
        self, connection: SpannerConnection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One INFORMATION_SCHEMA query; the default schema ('') is called "default"."""
        rows = (
            (schema or "default", *rest)
            for schema, *rest in connection.rows(CATALOG_QUERY, SYNC_SECONDS)
        )
        yield from group_tables(rows, schemas, sql_kind)


REGISTER = (Spanner(),)
