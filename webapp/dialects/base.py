"""What every dialect provides: its fields, how to connect, introspect and classify errors."""

from __future__ import annotations

import fnmatch
import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.refusal import ConnectionFailed
from ..core.steps import HOST_STEPS
from .errors_table import UNRECOGNISED, ErrorRule, Facts, Failure, chain, first_failure
from .fields import FieldSpec, check_ssh
from .pinning import Guard
from .urls import UrlForm


def no_guard() -> Guard | None:
    """Without connect/'s policy a pinned driver reaches the checked address only."""
    return None


def no_data_folder(relative: str) -> Path:
    """Without connect/'s file policy no data file is opened."""
    raise ConnectionFailed(
        "file",
        "No data folder policy was given for this connection.",
        {"databaseName": "No data folder is configured"},
    )


def no_address_policy(
    host: str,
    port: int,
    timeout: float,
    host_field: str = "host",
    port_field: str = "port",
    every: bool = False,
) -> str:
    """Without connect/'s egress policy no address an engine connects to itself is reached."""
    raise ConnectionFailed(
        "dns",
        "No egress policy was given for this connection.",
        {host_field: "No egress policy is configured"},
    )


@dataclass(frozen=True)
class Target:
    """Where and how to connect: cleaned values, the checked address and port, a time budget.

    `address`/`port` are what to open a socket to (a tunnel's local end when SSH is on);
    `values["host"]` stays the name the user gave (for TLS server-name checks and messages).
    connect/ hands over its policies so that dialects never import it: `connection_guard()`
    builds the egress and store check for addresses a name-taking driver resolves itself
    (dialects/pinning.py), `resolve_data_file(relative)` is a data-folder file's checked real
    path (or ConnectionFailed, step "file"), `check_address(host, port, timeout, host_field,
    port_field, every)` the checked address (egress policy and store guard; ConnectionFailed on
    those fields) for engines such as DuckDB's extensions that connect by themselves.
    """

    values: dict[str, Any]
    address: str | None
    timeout: float
    port: int | None = None
    connection_guard: Callable[[], Guard | None] = no_guard
    resolve_data_file: Callable[[str], Path] = no_data_folder
    check_address: Callable[..., str] = no_address_policy


@dataclass
class TableInfo:
    """A table or view read from a catalog.

    `kind` is "table", "view", "materialized view" or "foreign table". Each column is
    {"name", "type", "nullable", "default", "primaryKey", "ordinal"}, plus "comment" where the
    catalog has one; each foreign key is
    {"name", "columns", "referredSchema", "referredTable", "referredColumns"}.
    `row_estimate` is the catalog's estimate (None where the catalog has none); `comment` the
    catalog's comment on the table or view (COMMENT ON, a description; None when none).
    """

    schema: str
    name: str
    kind: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)
    row_estimate: int | None = None
    comment: str | None = None


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
        return not self.include or any(fnmatch.fnmatchcase(name, p.lower()) for p in self.include)

    @staticmethod
    def like(pattern: str) -> str:
        """A glob as a SQL LIKE pattern (escape character `\\`), for filtering in the query."""
        escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return escaped.replace("*", "%").replace("?", "_")


class DriverMissing(Exception):
    """The dialect's optional driver is not installed."""


def import_driver(*modules: str) -> list[Any]:
    """Import the driver's modules, or raise DriverMissing (the extra is not installed)."""
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:  # includes sys.modules[name] = None
            raise DriverMissing(name) from exc
    return loaded


class Dialect(ABC):
    """An engine family's declaration; adding a dialect is one module that subclasses this
    and one line in the registry (dialects/__init__.py): see docs/ARCHITECTURE.md."""

    key: str
    label: str
    fields: tuple[FieldSpec, ...]
    # The ladder's rungs this dialect walks through, in order (core/steps.py).
    steps: tuple[str, ...] = HOST_STEPS
    # Steps one driver call covers together: on its failure, the earlier ones did succeed.
    driver_steps: tuple[str, ...] = ("tls", "auth", "database")
    # An optional driver: the modules the "driver" step imports, and the pip extra with them.
    driver_modules: tuple[str, ...] = ()
    extra: str | None = None
    # The error table (errors_table.py): the first rule that matches decides, else `fallback`.
    errors: tuple[ErrorRule, ...] = ()
    fallback: Failure = UNRECOGNISED
    # Pasted connection strings: the URL schemes this dialect reads (without `jdbc:` or a
    # `+driver` suffix) and how (`url_form`, or an override of read_url). A dialect sharing
    # its family's schemes claims a URL by its host name's ending (`url_hosts`).
    url_schemes: tuple[str, ...] = ()
    url_hosts: tuple[str, ...] = ()
    url_form: UrlForm | None = None
    # The add form's help, declared once per dialect: the tile's short category, the engine's
    # own connection docs (https), and the statements that create a read-only login for
    # Datadock (placeholders datadock_reader, your_database, a password to choose). None where
    # no such statements apply (files, API keys, IAM): `read_only_note` says what to do instead.
    category: str = "Database"
    docs_url: str = ""
    read_only_sql: str | None = None
    read_only_note: str = ""

    def load_driver(self) -> None:
        """Import `driver_modules`; raise DriverMissing when one is not installed."""
        import_driver(*self.driver_modules)

    def read_url(self, text: str) -> dict[str, Any]:
        """Field values from a connection string of one of `url_schemes` (FieldInvalid when it
        cannot be read)."""
        if self.url_form is None:
            raise NotImplementedError(f"{self.key} reads no connection strings")
        return self.url_form.read(text)

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

    def catalog_version(self, connection: Any) -> str:
        """Verify's last step: the catalog is readable, and the server's version. Dialects
        that can ask both in one round trip override this; driver exceptions propagate."""
        self.check_catalog(connection)
        return self.server_version(connection)

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
        return tuple(
            n
            for n in ("host", "port", "databaseName", "sshHost", "sshPort", "sshHostKey")
            if self.field(n)
        )

    def field(self, name: str) -> FieldSpec | None:
        """The declaration of field `name`, if this dialect has it."""
        return next((f for f in self.fields if f.name == name), None)

    @abstractmethod
    def connect(self, target: Target) -> Any:
        """Open a DB-API connection within `target.timeout`; driver exceptions propagate."""

    @abstractmethod
    def server_version(self, connection: Any) -> str:
        """A short human description of the server's version."""

    def classify(self, exc: BaseException, target: Target) -> ConnectionFailed:
        """Turn a driver exception into a failure with field errors and no raw driver text:
        the first rule of `errors` that matches, else `fallback`."""
        facts = Facts(
            exc,
            self.error_text(exc),
            tuple(self.error_codes(exc)),
            tuple(self.error_chain(exc)),
            target.values,
            target.timeout,
            self.label,
            self.secret_names,
        )
        return first_failure(self.errors, facts) or self.fallback(facts)

    def error_text(self, exc: BaseException) -> str:
        """The text the error table's patterns search: the message (drivers that wrap their
        causes read the whole chain)."""
        return str(exc)

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The codes the driver put on the error (error numbers, SQL states, HTTP statuses)."""
        return ()

    def error_chain(self, exc: BaseException) -> tuple[BaseException, ...]:
        """The exceptions a rule's `chain` looks through."""
        return tuple(chain(exc))

    @abstractmethod
    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """Yield every table of the allowed schemas with its columns, foreign keys and row
        estimate, read with bulk catalog queries (never one per table), streamed."""
