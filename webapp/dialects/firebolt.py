"""Firebolt: firebolt-sdk with a service account's client ID and secret, the account, database
and engine; one information_schema query for the catalog.

The SDK talks to Firebolt's API (id.… for the token, api.… for the account's system engine)
and then to the engine URL the API answers. Each of those TCP connections is checked by the
egress policy and the store guard (`Target.check_address`) and made to the address that check
returned (httpcore's connect is wrapped while a Datadock call runs; TLS keeps the name), so an
engine URL pointing somewhere refused is not followed. The SDK waits without a read deadline:
every call runs under `run_bounded`. Its token and engine-URL caches are off.
"""

from __future__ import annotations

import contextvars
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from ..core.failures import BAD_CREDENTIALS
from ..core.refusal import ConnectionFailed
from ..core.steps import API_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import group_tables, run_bounded, sql_kind
from .errors_table import ErrorRule, Failure, chain_text, vendor_timeout
from .fields import FieldInvalid, FieldSpec, database_field, password_field

T = TypeVar("T")
API_ENDPOINT = "https://api.app.firebolt.io"
SYNC_SECONDS = 300.0
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,254}$")
CATALOG_QUERY = """
SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable,
       c.column_default, false, c.ordinal_position
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema <> 'information_schema'
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""

# A resolver for the TCP connections httpcore opens while a Datadock call runs.
_resolver: contextvars.ContextVar[Callable[[str, int], str] | None] = contextvars.ContextVar(
    "datadock_firebolt_resolver", default=None
)
_installed = threading.Lock()
_original: list[Any] = []


def _install() -> None:
    """Wrap httpcore's synchronous connect once; unchanged when no resolver is set."""
    from httpcore._backends.sync import SyncBackend

    with _installed:
        if _original:
            return
        _original.append(SyncBackend.connect_tcp)

        def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            resolve = _resolver.get()
            if resolve is not None:
                host = resolve(host, port)
            return _original[0](self, host, port, *args, **kwargs)

        SyncBackend.connect_tcp = connect_tcp  # type: ignore[method-assign]


def check_name(value: str) -> None:
    """Firebolt account, engine and database names."""
    if not NAME.match(value):
        raise FieldInvalid("Use letters, digits, _ and - only")


# The SDK's exception classes (lazily imported: names), then texts of its wrapped errors.
ERRORS = (
    ErrorRule(
        Failure(
            "auth",
            "Firebolt rejected the client ID or secret.",
            {"clientId": BAD_CREDENTIALS, "clientSecret": BAD_CREDENTIALS},
        ),
        chain=("AuthenticationError",),
        text="(?i)invalid client|unauthori[sz]ed|401",
    ),
    ErrorRule(
        Failure(
            "auth",
            "Firebolt has no account {accountName!r}, or this service account may not use it.",
            {"accountName": "Account not found"},
        ),
        chain=("AccountNotFoundOrNoAccessError", "AccountNotFoundError"),
    ),
    ErrorRule(
        Failure(
            "database",
            "The account has no engine {engineName!r}, or this service account may not use it.",
            {"engineName": "Engine not found"},
        ),
        chain=("EngineNotFoundError",),
        text="(?i)engine .* (does not exist|not found)",
    ),
    ErrorRule(
        Failure(
            "database",
            "The engine {engineName!r} is stopped: start it in the "
            "Firebolt console (Datadock does not start engines).",
            {"engineName": "Engine is not running"},
        ),
        chain=("EngineNotRunningError",),
        text="(?i)engine .* (not running|stopped)",
    ),
    ErrorRule(
        Failure(
            "database",
            "The account has no database {databaseName!r}, or this service account may not use it.",
            {"databaseName": "Database not found"},
        ),
        chain=("DatabaseNotFoundError",),
        text="(?i)database .* (does not exist|not found)",
    ),
    ErrorRule(
        vendor_timeout("Firebolt", "accountName"),
        chain=("TimeoutError", "ConnectTimeout", "ReadTimeout", "QueryTimeoutError"),
    ),
    ErrorRule(
        Failure(
            "auth",
            "Datadock could not reach Firebolt's API (the connection was "
            "refused or reset). Check that this server may connect out over HTTPS.",
            {"accountName": "Firebolt's API could not be reached"},
        ),
        chain=("ConnectError", "ConnectionRefusedError", "RemoteProtocolError", "ReadError"),
    ),
)


@dataclass
class FireboltConnection:
    """The SDK's connection; every call on it runs pinned and bounded."""

    connection: Any
    resolve: Callable[[str, int], str]
    timeout: float

    def run(self, action: Callable[[], T], timeout: float | None = None) -> T:
        """`action` with the resolver in force, within `timeout` (default: the verify's)."""
        return _bounded(action, self.resolve, timeout or self.timeout)

    def rows(self, sql: str, timeout: float | None = None) -> list[tuple]:
        """One query's rows."""

        def query() -> list[tuple]:
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql)
                return [tuple(r) for r in cursor.fetchall()]
            finally:
                cursor.close()

        return self.run(query, timeout)

    def close(self) -> None:
        """Close the SDK's connection (pinned: it may say goodbye over HTTP)."""
        self.run(self.connection.close, 5.0)


def _bounded(action: Callable[[], T], resolve: Callable[[str, int], str], timeout: float) -> T:
    _install()

    def pinned() -> T:
        _resolver.set(resolve)
        return action()

    context = contextvars.copy_context()
    return run_bounded(lambda: context.run(pinned), timeout)


class Firebolt(Dialect):
    """Firebolt (v2 accounts), with a service account."""

    key = "FIREBOLT"
    label = "Firebolt"
    category = "Warehouse"
    docs_url = "https://docs.firebolt.io/"
    read_only_note = (
        "Firebolt connects as a service account: give its user a role with "
        "USAGE on the database and engine and SELECT on the tables (Govern → Roles)."
    )
    extra = "firebolt"
    driver_modules = ("firebolt.db", "firebolt.client.auth")
    steps = API_STEPS
    driver_steps = ("auth", "database")
    errors = ERRORS
    fallback = Failure(
        "connect",
        "Firebolt refused the connection with an error Datadock does "
        "not recognise. The server log has the details.",
    )
    fields = (
        FieldSpec(
            name="clientId",
            label="Client ID",
            required=True,
            max_length=255,
            help="The service account's ID (Govern → Service accounts).",
        ),
        password_field(
            name="clientSecret",
            label="Client secret",
            max_length=1024,
            help="The service account's secret, shown once when it was created.",
        ),
        FieldSpec(
            name="accountName",
            label="Account",
            required=True,
            max_length=255,
            checks=(check_name,),
            placeholder="my-account",
        ),
        database_field(label="Database", max_length=255, checks=(check_name,)),
        FieldSpec(
            name="engineName",
            label="Engine (optional)",
            max_length=255,
            checks=(check_name,),
            help="A running engine; leave blank to read the catalog with the system engine.",
        ),
    )

    def __init__(self, api_endpoint: str = API_ENDPOINT) -> None:
        self.api_endpoint = api_endpoint

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The account and the service account: where the secret is sent."""
        return ("accountName", "clientId")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Always HTTPS."""
        return True

    def connect(self, target: Target) -> FireboltConnection:
        """Authenticate, find the account's system engine, use the database and engine."""
        from firebolt.client.auth import ClientCredentials
        from firebolt.db import connect

        v = target.values

        def resolve(host: str, port: int) -> str:
            return target.check_address(host, port, target.timeout, "accountName", "accountName")

        def opened() -> Any:
            return connect(
                auth=ClientCredentials(v["clientId"], v["clientSecret"], use_token_cache=False),
                account_name=v["accountName"],
                database=v["databaseName"],
                engine_name=v.get("engineName") or None,
                api_endpoint=self.api_endpoint,
                disable_cache=True,
            )

        try:
            raw = _bounded(opened, resolve, target.timeout)
        except ConnectionFailed:
            raise
        except Exception as exc:
            refused = _refusal(exc)
            if refused is not None:
                raise refused from None
            raise
        return FireboltConnection(raw, resolve, target.timeout)

    def catalog_version(self, connection: FireboltConnection) -> str:
        """The catalog is readable, and the engine's version, in one query."""
        rows = connection.rows("SELECT version(), (SELECT count(*) FROM information_schema.tables)")
        return f"Firebolt {rows[0][0]}" if rows and rows[0][0] else "Firebolt"

    def server_version(self, connection: FireboltConnection) -> str:
        """ "Firebolt 4.10.0"."""
        rows = connection.rows("SELECT version()")
        return f"Firebolt {rows[0][0]}" if rows and rows[0][0] else "Firebolt"

    def ping(self, connection: FireboltConnection) -> None:
        """SELECT 1."""
        connection.rows("SELECT 1")

    def error_text(self, exc: BaseException) -> str:
        """Every message of the chain."""
        return chain_text(exc)

    def introspect(
        self, connection: FireboltConnection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One information_schema query for the database."""
        rows = connection.rows(CATALOG_QUERY, SYNC_SECONDS)
        yield from group_tables(rows, schemas, sql_kind)


def _refusal(exc: BaseException) -> ConnectionFailed | None:
    """A ConnectionFailed the egress check raised inside the SDK (it may wrap it)."""
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionFailed):
            return current
        pending += [current.__cause__, current.__context__, *current.args]
    return None


REGISTER = (Firebolt(),)
