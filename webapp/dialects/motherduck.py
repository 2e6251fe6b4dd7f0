"""MotherDuck: DuckDB (already a dependency) with its MotherDuck extension, in SaaS mode so the
connection cannot read files on Datadock's server; one information_schema query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..core.failures import NO_DATABASE
from ..core.refusal import ConnectionFailed
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import chain_text, group_tables, run_bounded, sql_kind, unexpected, vendor_timeout
from .fields import FieldInvalid, database_field, password_field

DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
WRONG_TOKEN_MESSAGE = "Incorrect access token"  # noqa: S105 - a message

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
    steps = ("fields", "auth", "database", "catalog")
    driver_steps = ("auth", "database")
    fields = (
        database_field(default="my_db", max_length=64, checks=(check_database,),
                       help="The MotherDuck database to sync."),
        password_field(label="Access token", max_length=4096,
                       help="Settings → Access tokens in the MotherDuck UI. A read-scaling "
                            "token is enough."),
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
        return run_bounded(lambda: duckdb.connect(path, config=config), target.timeout,
                           discard=lambda c: c.close())

    def check_catalog(self, connection: Any) -> None:
        """information_schema of the database."""
        connection.execute("SELECT 1 FROM information_schema.columns LIMIT 1").fetchall()

    def server_version(self, connection: Any) -> str:
        """"MotherDuck (DuckDB v1.2.0)"."""
        row = connection.execute("SELECT version()").fetchone()
        return f"MotherDuck (DuckDB {row[0] if row else 'unknown'})"

    def classify(self, exc: BaseException, target: Target) -> ConnectionFailed:
        """DuckDB's exception classes and the extension's messages to fields."""
        v = target.values
        text = chain_text(exc)
        if isinstance(exc, TimeoutError):
            return vendor_timeout("MotherDuck", "password", target.timeout)
        if re.search(r"not authenticated|invalid token|unauthenticated|token .*(invalid|expired)"
                     r"|jwt", text, re.IGNORECASE):
            return ConnectionFailed("auth", "MotherDuck rejected the access token.",
                                    {"password": WRONG_TOKEN_MESSAGE})
        if re.search(r"database .*(not found|does not exist)|no database", text, re.IGNORECASE):
            return ConnectionFailed(
                "database", f"MotherDuck has no database {v.get('databaseName')!r} for this "
                "token.", {"databaseName": NO_DATABASE})
        if re.search(r"extension|download", text, re.IGNORECASE):
            return ConnectionFailed(
                "auth", "DuckDB could not load its MotherDuck extension: Datadock's server "
                "needs access to extensions.duckdb.org once (or the extension installed in "
                "advance with INSTALL motherduck).", {})
        if type(exc).__name__ in ("IOException", "HTTPException", "ConnectionException"):
            return ConnectionFailed(
                "auth", "Datadock's server could not reach MotherDuck. Check its internet "
                "access, proxy or firewall.", {})
        return unexpected(self.label)

    def introspect(self, connection: Any, schemas: SchemaFilter | None = None
                   ) -> Iterator[TableInfo]:
        """One information_schema query over the database, fetched in batches."""
        cursor = connection.execute(CATALOG_QUERY)

        def rows() -> Iterator[tuple]:
            while batch := cursor.fetchmany(5000):
                yield from batch

        yield from group_tables(rows(), schemas, sql_kind)


REGISTER = (MotherDuck(),)
