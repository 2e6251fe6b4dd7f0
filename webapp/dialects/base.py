"""What every dialect provides: its fields, how to connect, introspect and classify errors."""

from __future__ import annotations

import fnmatch
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.refusal import ConnectionFailed
from .fields import FieldSpec, check_ssh
from .pinning import Guard


def no_guard() -> Guard | None:
    """Without connect/'s policy a pinned driver reaches the checked address only."""
    return None


def no_data_folder(relative: str) -> Path:
    """Without connect/'s file policy no data file is opened."""
    raise ConnectionFailed("file", "No data folder policy was given for this connection.",
                           {"databaseName": "No data folder is configured"})


@dataclass(frozen=True)
class Target:
    """Where and how to connect: cleaned values, the checked address and port, a time budget.

    `address`/`port` are what to open a socket to (a tunnel's local end when SSH is on);
    `values["host"]` stays the name the user gave (for TLS server-name checks and messages).
    connect/ hands over its policies so that dialects never import it: `connection_guard()`
    builds the egress and store check for addresses a name-taking driver resolves itself
    (dialects/pinning.py), `resolve_data_file(relative)` is a data-folder file's checked real
    path (or ConnectionFailed, step "file").
    """

    values: dict[str, Any]
    address: str | None
    timeout: float
    port: int | None = None
    connection_guard: Callable[[], Guard | None] = no_guard
    resolve_data_file: Callable[[str], Path] = no_data_folder


@dataclass
class TableInfo:
    """A table or view read from a catalog.

    `kind` is "table", "view", "materialized view" or "foreign table". Each column is
    {"name", "type", "nullable", "default", "primaryKey", "ordinal"}; each foreign key is
    {"name", "columns", "referredSchema", "referredTable", "referredColumns"}.
    `row_estimate` is the catalog's estimate (None where the catalog has none).
    """

    schema: str
    name: str
    kind: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)
    row_estimate: int | None = None


def _patterns(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"[,\n]", text or "") if p.strip())


@dataclass(frozen=True)
class SchemaFilter:
    """Which schemas a sync reads: glob patterns (`public, analytics_*`), case-insensitive.

    No include pattern means every schema; an exclude pattern wins over an include.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def parse(cls, include: str | None, exclude: str | None) -> SchemaFilter:
        """From the comma-separated texts stored on a source."""
        return cls(_patterns(include), _patterns(exclude))

    def allows(self, schema: str) -> bool:
        """Whether `schema` is read."""
        name = schema.lower()
        if any(fnmatch.fnmatchcase(name, p.lower()) for p in self.exclude):
            return False
        return not self.include or any(fnmatch.fnmatchcase(name, p.lower())
                                       for p in self.include)

    @staticmethod
    def like(pattern: str) -> str:
        """A glob as a SQL LIKE pattern (escape character `\\`), for filtering in the query."""
        escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped.replace("*", "%").replace("?", "_")


class DriverMissing(Exception):
    """The dialect's optional driver is not installed."""


class Dialect(ABC):
    """An engine family's declaration; adding a dialect is one module that subclasses this."""

    key: str
    label: str
    fields: tuple[FieldSpec, ...]
    # The ladder's rungs this dialect walks through, in order (see connect/ladder.py).
    steps: tuple[str, ...] = ("fields", "dns", "tcp", "ssh", "tls", "auth", "database", "catalog")
    # Steps one driver call covers together: on its failure, the earlier ones did succeed.
    driver_steps: tuple[str, ...] = ("tls", "auth", "database")
    # The pip extra that installs the driver, for dialects whose driver is optional.
    extra: str | None = None

    def load_driver(self) -> None:  # noqa: B027 - optional hook, most drivers are installed
        """Import the driver; raise DriverMissing when it is not installed."""

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """Checks that need no network (key formats, URLs); returns errors per field.

        Dialects that override this call super() so the shared checks still run.
        """
        return check_ssh(values) if self.field("sshEnabled") else {}

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Whether the connection will be encrypted (the TLS step is skipped otherwise)."""
        return bool(values.get("sslEnabled"))

    def check_catalog(self, connection: Any) -> None:
        """Run one cheap catalog query; driver exceptions propagate."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1 FROM information_schema.tables LIMIT 1")
            cursor.fetchall()
        finally:
            cursor.close()

    def ping(self, connection: Any) -> None:
        """The health check's round trip (`SELECT 1`); driver exceptions propagate.

        Dialects whose engine has no `SELECT 1` (or whose client is not DB-API) override this.
        """
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()

    @property
    def secret_names(self) -> tuple[str, ...]:
        """Names of the fields stored encrypted and never shown."""
        return tuple(f.name for f in self.fields if f.secret)

    @property
    def identity_names(self) -> tuple[str, ...]:
        """Fields that say where secrets are sent: changing one means secrets are asked again."""
        return tuple(n for n in ("host", "port", "databaseName", "sshHost", "sshPort",
                                 "sshHostKey") if self.field(n))

    def field(self, name: str) -> FieldSpec | None:
        """The declaration of field `name`, if this dialect has it."""
        return next((f for f in self.fields if f.name == name), None)

    @abstractmethod
    def connect(self, target: Target) -> Any:
        """Open a DB-API connection within `target.timeout`; driver exceptions propagate."""

    @abstractmethod
    def server_version(self, connection: Any) -> str:
        """A short human description of the server's version."""

    @abstractmethod
    def classify(self, exc: BaseException, target: Target) -> ConnectionFailed:
        """Turn a driver exception into a failure with field errors and no raw driver text."""

    @abstractmethod
    def introspect(self, connection: Any, schemas: SchemaFilter | None = None
                   ) -> Iterator[TableInfo]:
        """Yield every table of the allowed schemas with its columns, foreign keys and row
        estimate, read with bulk catalog queries (never one per table), streamed."""
