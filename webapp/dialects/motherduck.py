"""MotherDuck: DuckDB (already a dependency) with its MotherDuck extension, in SaaS mode so the
connection cannot read files on Datadock's server; one information_schema query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..core.failures import NO_DATABASE
from ..core.steps import API_STEPS, without
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import group_tables, run_bounded, sql_kind
from .errors_table import ErrorRule, Failure, chain_text, vendor_timeout
from .fields import FieldInvalid, database_field, password_field
from .urls import UrlForm

DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
WRONG_TOKEN_MESSAGE = "Incorrect access token"  # noqa: S105 - a message

# DuckDB's exception classes and the extension's messages.
ERRORS = (
    ErrorRule(vendor_timeout("MotherDuck", "password"), types=(TimeoutError,)),
    ErrorRule(
        Failure("auth", "MotherDuck rejected the access token.", {"password": WRONG_TOKEN_MESSAGE}),
        text=r"(?i)not authenticated|invalid token|unauthenticated"
        r"|token .*(invalid|expired)|jwt",
    ),
    ErrorRule(
        Failure(
            "database",
            "MotherDuck has no database {databaseName!r} for this token.",
            {"databaseName": NO_DATABASE},
        ),
        text=r"(?i)database .*(not found|does not exist)|no database",
    ),
    ErrorRule(
        Failure(
            "auth",
            "DuckDB could not load its MotherDuck extension: Datadock's server "
            "needs access to extensions.duckdb.org once (or the extension installed "
            "in advance with INSTALL motherduck).",
        ),
        text=r"(?i)extension|download",
    ),
    ErrorRule(
        Failure(
            "auth",
            "Datadock's server could not reach MotherDuck. Check its internet "
            "access, proxy or firewall.",
        ),
        types=("IOException", "HTTPException", "ConnectionException"),
    ),
)

CATALOG_QUERY = """
SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable,
       c.column_default, false, c.ordinal_position
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema
 AND t.table_name = c.table_name
WHERE c.table_catalog = current_database()
  AND c.table_schema NOT IN ('information_schema', 'pg_catalog')
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""


def check_database(value: str) -> None:
    """A plain database name, so nothing can be appended to the md: connection string."""
    if not DATABASE.match(value):
        raise FieldInvalid("Use letters, digits and _ (the database name in MotherDuck)")


class MotherDuck(Dialect):
    """MotherDuck (cloud DuckDB) with an access token."""

    key = "MOTHERDUCK"
    label = "MotherDuck"
    category = "Warehouse"
    docs_url = "https://motherduck.com/docs/key-tasks/authenticating-and-connecting-to-motherduck/authenticating-to-motherduck/"
    read_only_note = (
        "MotherDuck has no SQL logins: create a read-scaling access token, which can only read."
    )
    steps = without(API_STEPS, "driver")  # duckdb is a dependency
    driver_steps = ("auth", "database")
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # md:database?motherduck_token=… (DuckDB's form)
    url_schemes = ("md", "motherduck")
    url_form = UrlForm(
        pattern=r"^[^:]*:/*(?P<databaseName>[^?]*)", options={"motherduck_token": "password"}
    )
    fields = (
        database_field(
            default="my_db",
            max_length=64,
            checks=(check_database,),
            help="The MotherDuck database to sync.",
        ),
        password_field(
            label="Access token",
            max_length=4096,
            help="Settings → Access tokens in the MotherDuck UI. A read-scaling token is enough.",
            docs="https://motherduck.com/docs/key-tasks/authenticating-and-connecting-to-motherduck/authenticating-to-motherduck/",
        ),
    )

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """MotherDuck is TLS only."""
        return True

    def connect(self, target: Target) -> Any:
        """duckdb.connect("md:<db>?saas_mode=true") with the token in the config, bounded by
        the deadline (the extension has no timeout setting of its own)."""
        import duckdb

        v = target.values
        path = f"md:{v['databaseName']}?saas_mode=true"
        config = {"motherduck_token": v["password"], "custom_user_agent": "datadock"}
        return run_bounded(
            lambda: duckdb.connect(path, config=config), target.timeout, discard=lambda c: c.close()
        )

    def check_catalog(self, connection: Any) -> None:
        """information_schema of the database."""
        connection.execute("SELECT 1 FROM information_schema.columns LIMIT 1").fetchall()

    def server_version(self, connection: Any) -> str:
        """ "MotherDuck (DuckDB v1.2.0)"."""
        row = connection.execute("SELECT version()").fetchone()
        return f"MotherDuck (DuckDB {row[0] if row else 'unknown'})"

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One information_schema query over the database, fetched in batches."""
        cursor = connection.execute(CATALOG_QUERY)

        def rows() -> Iterator[tuple]:
            while batch := cursor.fetchmany(5000):
                yield from batch

        yield from group_tables(rows(), schemas, sql_kind)


REGISTER = (MotherDuck(),)
