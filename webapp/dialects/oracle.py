"""Oracle Database: fields, python-oracledb (thin mode, no Oracle Client), one catalog query,
error classification.

The thin driver's synchronous connect has no deadline once the TCP connection is up (a listener
that accepts and never answers hangs it forever; python-oracledb issue 451), so Datadock drives
its asyncio API on a private event loop in its own thread (so a loop already running in the
caller's thread does not matter) and puts every call under `asyncio.wait_for`. That loop is
pinned (dialects/pinning.py): over TCPS the driver is given the host name (for the certificate
check) and looks it up again itself, so every TCP connection it opens is checked before it is
made: the name goes to the checked address, an address of the driver's own look-up or of a
listener redirect must pass the egress policy and the store check, another name is refused.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import SplitResult

from ..core.failures import NO_DATABASE
from ..core.steps import DRIVER_HOST_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import group_tables
from .errors_table import (
    BAD_LOGIN,
    HOST_UNKNOWN,
    PINNED_ELSEWHERE,
    REFUSED,
    ErrorRule,
    Failure,
    chain_text,
    timed_out,
)
from .fields import (
    database_field,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    username_field,
)
from .pinning import Pin, PinnedLoop
from .urls import UrlForm

log = logging.getLogger(__name__)

SYNC_QUERY_SECONDS = 300.0

CATALOG_QUERY = """
SELECT c.owner, c.table_name,
       CASE WHEN mv.mview_name IS NOT NULL THEN 'MATERIALIZED VIEW' ELSE o.object_type END,
       c.column_name, c.data_type, c.data_length, c.data_precision, c.data_scale, c.nullable,
       CASE WHEN pk.column_name IS NULL THEN 0 ELSE 1 END, c.column_id, t.num_rows
FROM all_tab_columns c
JOIN all_objects o
  ON o.owner = c.owner AND o.object_name = c.table_name AND o.object_type IN ('TABLE', 'VIEW')
LEFT JOIN all_mviews mv ON mv.owner = c.owner AND mv.mview_name = c.table_name
LEFT JOIN all_tables t ON t.owner = c.owner AND t.table_name = c.table_name
LEFT JOIN (
  SELECT cc.owner, cc.table_name, cc.column_name
  FROM all_constraints k
  JOIN all_cons_columns cc ON cc.owner = k.owner AND cc.constraint_name = k.constraint_name
  WHERE k.constraint_type = 'P'
) pk ON pk.owner = c.owner AND pk.table_name = c.table_name AND pk.column_name = c.column_name
WHERE c.owner IN (SELECT username FROM all_users WHERE oracle_maintained = 'N')
  AND c.table_name NOT LIKE 'BIN$%'
ORDER BY c.owner, c.table_name, c.column_id
"""


def oracle_type(base: str, length: Any, precision: Any, scale: Any) -> str:
    """ "VARCHAR2(100)", "NUMBER(10,2)" from all_tab_columns' parts."""
    if base in ("VARCHAR2", "NVARCHAR2", "CHAR", "NCHAR", "RAW") and length:
        return f"{base}({int(length)})"
    if base == "NUMBER" and precision is not None:
        return f"NUMBER({int(precision)},{int(scale or 0)})"
    return base


# python-oracledb's DPY-/ORA- codes (the error's full_code) and, where it wraps one, the text.
ERRORS = (
    PINNED_ELSEWHERE,
    ErrorRule(timed_out, chain=(TimeoutError,)),
    ErrorRule(BAD_LOGIN, code="ORA-01017"),
    ErrorRule(
        Failure("auth", "This account is locked.", {"username": "This account is locked"}),
        code="ORA-28000",
    ),
    ErrorRule(
        Failure(
            "auth",
            "The password of this account has expired.",
            {"password": "The password has expired"},
        ),
        code="ORA-28001",
    ),
    ErrorRule(
        Failure(
            "auth",
            "The user lacks the CREATE SESSION privilege.",
            {"username": "Not allowed to log in (CREATE SESSION)"},
        ),
        code="ORA-01045",
    ),
    ErrorRule(
        Failure(
            "database",
            "The listener at {host}:{port} does not know the service "
            "{databaseName!r}. Use the service name (lsnrctl services lists them), "
            "not a SID.",
            {"databaseName": NO_DATABASE},
        ),
        code=("DPY-6001", "DPY-6003"),
        text="ORA-12514|ORA-12505",
    ),
    REFUSED,
    ErrorRule(timed_out, text="timed out"),
    ErrorRule(HOST_UNKNOWN, text="Name or service not known|nodename nor servname"),
    ErrorRule(
        Failure(
            "tls",
            "The TLS (TCPS) handshake failed: the port may not speak TCPS, or "
            "its certificate is not trusted or not issued for this host name.",
            {"sslEnabled": "TLS handshake failed"},
        ),
        text="SSL|certificate",
        code="DPY-6006",
    ),
    ErrorRule(
        Failure(
            "connect",
            "The listener closed the connection. Check the port, and "
            "whether it expects TCPS (turn SSL on) or plain TCP.",
            {"port": "The listener refused"},
        ),
        code=("DPY-4011", "DPY-6000"),
    ),
)


def _tcps(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """protocol=tcps means TLS."""
    return {"sslEnabled": options["protocol"].lower() == "tcps"} if "protocol" in options else {}


class LoopThread:
    """An event loop running in its own daemon thread; calls are submitted to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, daemon=True, name="datadock-oracle"
        )
        self.thread.start()

    def run(self, call: Callable[[], Awaitable[Any]], timeout: float) -> Any:
        """Run `call()` on the loop (the driver needs a running loop), cancelled after
        `timeout` seconds; waits for the result in the calling thread."""

        async def bounded() -> Any:
            return await asyncio.wait_for(call(), timeout)

        return asyncio.run_coroutine_threadsafe(bounded(), self.loop).result(timeout + 5)

    def stop(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=2)
        if not self.thread.is_alive():
            self.loop.close()


class OracleSession:
    """An async thin-mode connection driven from synchronous code, each call under a deadline."""

    def __init__(self, loop: LoopThread, connection: Any, timeout: float) -> None:
        self.loop = loop
        self.connection = connection
        self.timeout = timeout

    def run(self, call: Callable[[], Awaitable[Any]], timeout: float | None = None) -> Any:
        """Run one driver call on this session's loop, cancelled after the deadline."""
        return self.loop.run(call, timeout or self.timeout)

    def rows(self, sql: str, timeout: float | None = None, batch: int = 5000) -> Iterator[tuple]:
        """Stream a query's rows in batches."""
        cursor = self.connection.cursor()
        try:
            self.run(lambda: cursor.execute(sql), timeout)
            while batch_rows := self.run(lambda: cursor.fetchmany(batch), timeout):
                yield from batch_rows
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the connection (briefly bounded), then the loop."""
        try:
            self.run(self.connection.close, 2.0)
        except Exception:
            log.debug("error while closing an Oracle connection", exc_info=True)
        finally:
            self.loop.stop()


class Oracle(Dialect):
    """Oracle Database over python-oracledb in thin mode."""

    key = "ORACLE"
    label = "Oracle"
    docs_url = (
        "https://docs.oracle.com/en/database/oracle/oracle-database/19/sqlrf/CREATE-USER.html"
    )
    read_only_sql = """\
CREATE USER datadock_reader IDENTIFIED BY "choose-a-long-password";
GRANT CREATE SESSION TO datadock_reader;
-- READ on each table to sync (or READ ANY TABLE for all of them):
GRANT READ ON app_owner.orders TO datadock_reader;"""
    extra = "oracle"
    driver_modules = ("oracledb",)
    steps = DRIVER_HOST_STEPS
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # oracle://u:p@host:1521/SERVICE (or ?service_name=SERVICE; protocol=tcps for TLS)
    url_schemes = ("oracle",)
    url_form = UrlForm(options={"service_name": "databaseName"}, more=_tcps)
    fields = (
        host_field(placeholder="oracle.example.com"),
        port_field(1521, help="Usually 1521 (2484 for TCPS)."),
        database_field(
            label="Service name",
            max_length=128,
            placeholder="ORCLPDB1",
            help="The database service the listener knows, e.g. ORCLPDB1, FREEPDB1 "
            "or XEPDB1 (not a SID).",
        ),
        username_field(max_length=128),
        password_field(max_length=1024),
        ssl_field(
            default=False,
            help="Connect with TCPS (TLS). The server's certificate must "
            "be signed by a CA this server trusts.",
        ),
        *ssh_fields(),
    )

    def connect(self, target: Target) -> OracleSession:
        """Open an async thin connection under the deadline, to the checked address.

        With TCPS the name is given instead, so the certificate is checked against it; the
        pinned loop keeps every connection on addresses Datadock checked. Through an SSH
        tunnel only the tunnel's local end is reachable.
        """
        import oracledb

        v = target.values
        tls = bool(v.get("sslEnabled"))
        tunnel = bool(v.get("sshEnabled"))
        host = v["host"] if tls and not tunnel else str(target.address)
        port = int(target.port or v["port"])
        pin = Pin(
            host,
            str(target.address),
            port,
            any_port=not tunnel,
            guard=None if tunnel else target.connection_guard(),
        )
        loop = LoopThread(PinnedLoop(pin))
        try:
            connection = loop.run(
                lambda: oracledb.connect_async(
                    user=v["username"],
                    password=v.get("password") or "",
                    host=host,
                    port=port,
                    service_name=v["databaseName"],
                    protocol="tcps" if tls else "tcp",
                    tcp_connect_timeout=target.timeout,
                    retry_count=0,
                    program="datadock",
                ),
                target.timeout,
            )
        except BaseException:
            loop.stop()
            raise
        return OracleSession(loop, connection, target.timeout)

    def check_catalog(self, connection: OracleSession) -> None:
        """The dictionary views the sync reads."""
        list(connection.rows("SELECT 1 FROM all_tab_columns WHERE ROWNUM = 1"))

    def server_version(self, connection: OracleSession) -> str:
        """ "Oracle 23.5.0.24.7" from the handshake."""
        return f"Oracle {connection.connection.version}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The DPY-/ORA- code of the driver's error object (its first argument)."""
        error = exc.args[0] if getattr(exc, "args", None) else None
        return (getattr(error, "full_code", "") or "",)

    def introspect(
        self, connection: OracleSession, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One dictionary query over every user schema, fetched in batches."""
        rows = (
            (
                owner,
                table,
                ttype,
                col,
                oracle_type(typ, length, prec, scale),
                nullable == "Y",
                None,
                pk,
                ordinal,
                estimate,
            )
            for (
                owner,
                table,
                ttype,
                col,
                typ,
                length,
                prec,
                scale,
                nullable,
                pk,
                ordinal,
                estimate,
            ) in connection.rows(CATALOG_QUERY, SYNC_QUERY_SECONDS)
        )
        kinds = {"VIEW": "view", "MATERIALIZED VIEW": "materialized view"}
        yield from group_tables(rows, schemas, lambda t: kinds.get(t, "table"))


REGISTER = (Oracle(),)
