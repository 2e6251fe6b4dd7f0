"""MongoDB: pymongo to one checked address (a direct connection, no SRV, no member discovery),
collections as tables, fields found by sampling documents (their BSON types and how often each
occurs).

Egress: pymongo is given the address Datadock checked, never the name, and `directConnection`,
so it neither resolves the name again nor follows a replica set's member list elsewhere. With
TLS the certificate check and the server name (SNI) still use the name the user typed: the
client's TLS context is wrapped before its first connection (`_NamedContext`).

`mongodb+srv://` strings are refused with a message: their hosts come from DNS SRV and TXT
lookups that pymongo makes itself (and may repeat), which Datadock could not pin; the user
pastes one member's `mongodb://host:port` instead (Atlas shows it under "standard connection
string").
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..core.failures import BAD_CREDENTIALS
from ..core.steps import DRIVER_HOST_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure
from .errors_table import (
    PORT_REFUSED,
    ErrorRule,
    Failure,
    chain_text,
    timed_out,
    untrusted_certificate,
)
from .fields import (
    FieldInvalid,
    FieldSpec,
    check_pem_certificates,
    database_field,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    username_field,
)
from .urls import UrlForm, query_options, split_url

DEFAULT_SAMPLE = 100
MAX_SAMPLE = 10_000
MAX_DEPTH = 8  # nested documents deeper than this are one "object" column
MAX_COLUMNS = 2_000  # per collection: a sample with more distinct paths is cut here
SYNC_SECONDS = 300.0  # each collection's sample may take this long on the server
SRV_REFUSED = (
    "mongodb+srv:// strings are looked up in DNS (SRV and TXT records) by the "
    "driver, which Datadock cannot check: paste the standard mongodb://host:port "
    "string of one member instead"
)
MANY_HOSTS = (
    "Datadock connects to one member directly: paste a string with one host "
    "(the primary, or a secondary for reads)"
)
MONGO_SSL_MODES = (
    ("verify-full", "Verify full: check the issuer and the host name"),
    ("verify-ca", "Verify CA: check the issuer, not the host name"),
    ("require", "Require: encrypt, do not check the certificate"),
)


def check_sample_size(value: int) -> None:
    """Between 1 and MAX_SAMPLE documents per collection."""
    if not 1 <= int(value) <= MAX_SAMPLE:
        raise FieldInvalid(f"Sample between 1 and {MAX_SAMPLE} documents")


def _tls_options(parts: Any, options: dict[str, str]) -> dict[str, Any]:
    """tls=/ssl= and the SSL mode from a mongodb:// string."""
    found: dict[str, Any] = {}
    flag = options.get("tls", options.get("ssl"))
    if flag is not None:
        found["sslEnabled"] = flag.lower() in {"true", "1", "yes"}
    if options.get("tlsinsecure", "").lower() == "true":
        found["sslMode"] = "require"
    elif options.get("tlsallowinvalidhostnames", "").lower() == "true":
        found["sslMode"] = "verify-ca"
    return found


URL_FORM = UrlForm(options={"authsource": "authDatabase"}, more=_tls_options)

ERRORS = (
    ErrorRule(
        Failure(
            "auth",
            "MongoDB rejected the username or password (checked against the "
            "authentication database {authDatabase!r}).",
            {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
        ),
        code=(18, 11),
        text="(?i)Authentication failed",
    ),
    ErrorRule(
        Failure(
            "auth",
            "This user may not read the database {databaseName!r}.",
            {"username": "No access to this database"},
        ),
        code=13,
    ),
    *untrusted_certificate(
        text="(?i)CERTIFICATE_VERIFY_FAILED.*(unknown ca|self.signed|unable to get local issuer)"
    ),
    ErrorRule(
        Failure(
            "tls",
            "The server's certificate is not valid for the name {host}. "
            "Connect with the name on the certificate, or use SSL mode Verify CA.",
            {"sslMode": "Certificate does not match the host name"},
        ),
        text="(?i)hostname mismatch|doesn't match|not valid for",
    ),
    ErrorRule(
        Failure(
            "tls",
            "The TLS handshake failed: the server may not use TLS. Turn SSL "
            "off to connect without it.",
            {"sslEnabled": "TLS handshake failed"},
        ),
        text="(?i)SSL handshake failed|WRONG_VERSION_NUMBER|record layer failure",
    ),
    ErrorRule(
        Failure(
            "tls",
            "The server closed the connection when Datadock spoke without "
            "TLS: it probably requires TLS (requireTLS). Turn SSL on.",
            {"sslEnabled": "The server may require SSL"},
        ),
        text="(?i)connection closed|reset by peer|EOF",
        when=lambda f: not f.values.get("sslEnabled"),
    ),
    ErrorRule(
        Failure(
            "connect",
            "{host}:{port} closed the connection or did not answer like a MongoDB server.",
            {"port": "No MongoDB server on this port"},
        ),
        text="(?i)connection closed|reset by peer|EOF|not a mongo|ProtocolError",
    ),
    ErrorRule(PORT_REFUSED, text="Connection refused"),
    # Every message names the configured timeouts; "No servers found yet" is server selection
    # giving up before the monitor's own connect attempt timed out (a busy machine).
    ErrorRule(timed_out, text="(?i)timed out|no servers found yet"),
)


class _NamedContext:
    """pymongo's TLS context, but the server name and certificate check use `name` (the host
    the user typed) although the socket goes to the checked address."""

    def __init__(self, inner: Any, name: str) -> None:
        self._inner, self._name = inner, name

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        """Wrap with server_hostname=name."""
        kwargs["server_hostname"] = self._name
        return self._inner.wrap_socket(sock, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@dataclass
class MongoConnection:
    """An open client and what introspection needs (the database, the sample size)."""

    client: Any
    database: str
    sample_size: int = DEFAULT_SAMPLE
    version: str = ""

    def close(self) -> None:
        """Close every socket of the client."""
        self.client.close()


class MongoDB(Dialect):
    """MongoDB (self-hosted or Atlas), one member reached directly."""

    key = "MONGODB"
    label = "MongoDB"
    category = "Documents"
    docs_url = "https://www.mongodb.com/docs/manual/reference/connection-string/"
    read_only_sql = """\
// In mongosh:
use admin
db.createUser({
  user: "datadock_reader",
  pwd: "choose-a-long-password",
  roles: [{ role: "read", db: "your_database" }]
})"""
    extra = "mongodb"
    driver_modules = ("pymongo",)
    steps = DRIVER_HOST_STEPS
    errors = ERRORS
    url_schemes = ("mongodb",)  # mongodb+srv too: read_url refuses it
    url_form = URL_FORM
    fields = (
        host_field(
            placeholder="mongo.example.com",
            help="One member's host name (for Atlas, a host from the standard connection string).",
        ),
        port_field(27017),
        database_field(
            label="Database",
            max_length=64,
            placeholder="app",
            help="The database whose collections become tables.",
        ),
        username_field(required=False, help="Leave blank for a server without authentication."),
        password_field(required=False),
        FieldSpec(
            name="authDatabase",
            label="Authentication database",
            default="admin",
            max_length=64,
            help="Where the user is defined (authSource); usually admin.",
        ),
        ssl_field(default=False, help="Encrypt with TLS (Atlas requires it)."),
        FieldSpec(
            name="sslMode",
            label="SSL mode",
            kind="select",
            choices=MONGO_SSL_MODES,
            default="verify-full",
            required_if="sslEnabled",
        ),
        FieldSpec(
            name="sslRootCertificate",
            label="CA certificate (optional)",
            kind="textarea",
            max_length=65536,
            required_if="sslEnabled",
            checks=(check_pem_certificates,),
            help="PEM certificate(s) of a private CA; leave blank for public CAs.",
        ),
        FieldSpec(
            name="sampleSize",
            label="Documents sampled per collection",
            kind="integer",
            default=DEFAULT_SAMPLE,
            min_value=1,
            max_value=MAX_SAMPLE,
            checks=(check_sample_size,),
            help="Fields and their types are read from this many random documents.",
        ),
        *ssh_fields(),
    )

    def read_url(self, text: str) -> dict[str, Any]:
        """mongodb://user:pw@host:27017/app?authSource=admin&tls=true; +srv is refused."""
        if text.strip().lower().startswith("mongodb+srv:"):
            raise FieldInvalid(SRV_REFUSED)
        if "," in text.split("//", 1)[-1].split("/", 1)[0].rpartition("@")[2]:
            raise FieldInvalid(MANY_HOSTS)
        values = super().read_url(text)
        parts = split_url(text.strip())
        if "authsource" not in query_options(parts.query) and values.get("username"):
            values.setdefault("authDatabase", values.get("databaseName") or "admin")
        return values

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """A password needs a username."""
        errors = super().check_local(values)
        if values.get("password") and not values.get("username"):
            errors["username"] = "Enter the username this password belongs to"
        if re.search(r"[/\\. \"$]", values.get("databaseName") or ""):
            errors["databaseName"] = 'MongoDB database names have no / \\ . space " or $'
        return errors

    def connect(self, target: Target) -> MongoConnection:
        """A direct connection to the checked address; every wait within the deadline."""
        from pymongo import MongoClient

        v = target.values
        ms = max(1, int(target.timeout * 1000))
        options: dict[str, Any] = dict(
            directConnection=True,
            connect=False,
            appname="datadock",
            serverSelectionTimeoutMS=ms,
            connectTimeoutMS=ms,
            socketTimeoutMS=ms,
            retryReads=False,
            retryWrites=False,
            maxPoolSize=2,
        )
        if v.get("username"):
            options.update(
                username=v["username"],
                password=v.get("password") or "",
                authSource=v.get("authDatabase") or "admin",
            )
        tls = bool(v.get("sslEnabled"))
        with tempfile.TemporaryDirectory(prefix="datadock-tls-") as folder:
            if tls:
                mode = v.get("sslMode") or "verify-full"
                options.update(
                    tls=True,
                    tlsAllowInvalidHostnames=mode != "verify-full",
                    tlsAllowInvalidCertificates=mode == "require",
                )
                if v.get("sslRootCertificate"):
                    ca = Path(folder) / "ca.pem"
                    ca.write_text(v["sslRootCertificate"])
                    options["tlsCAFile"] = str(ca)
            client = MongoClient(
                host=str(target.address), port=int(target.port or v["port"]), **options
            )  # the TLS context has read the CA file: removed
        if tls:
            pool = client._options.pool_options
            pool._PoolOptions__ssl_context = _NamedContext(  # type: ignore[attr-defined]
                pool._ssl_context, v["host"]
            )
        try:
            info = client.admin.command("buildInfo")
        except Exception:
            client.close()
            raise
        return MongoConnection(
            client,
            v["databaseName"],
            int(v.get("sampleSize") or DEFAULT_SAMPLE),
            str(info.get("version") or ""),
        )

    def check_catalog(self, connection: MongoConnection) -> None:
        """List the database's collections (names only): the user may read it."""
        try:
            connection.client[connection.database].command(
                "listCollections", nameOnly=True, authorizedCollections=True
            )
        except Exception as exc:
            if getattr(exc, "code", None) == 13:
                raise catalog_failure(
                    None, "username", "This user may not list the database's collections"
                ) from exc
            raise

    def server_version(self, connection: MongoConnection) -> str:
        """ "MongoDB 7.0.12"."""
        return f"MongoDB {connection.version}".strip()

    def ping(self, connection: MongoConnection) -> None:
        """The ping command."""
        connection.client.admin.command("ping")

    def error_text(self, exc: BaseException) -> str:
        """Every message of the chain (ServerSelectionTimeoutError names the socket error)."""
        return chain_text(exc)

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The server's error code (OperationFailure)."""
        code = getattr(exc, "code", None)
        return (code,) if code is not None else ()

    def introspect(
        self, connection: MongoConnection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One listCollections, then one $sample of N documents per collection (MongoDB has no
        catalog of fields: a collection's fields are what its documents hold). Each call runs
        under SYNC_SECONDS (pymongo.timeout), not the connect deadline the client was made
        with."""
        from pymongo import timeout

        schemas = schemas or SchemaFilter()
        if not schemas.allows(connection.database):
            return
        database = connection.client[connection.database]
        with timeout(SYNC_SECONDS):
            listed = database.command("listCollections", authorizedCollections=True)
        collections = sorted(listed["cursor"]["firstBatch"], key=lambda c: c["name"])
        for entry in collections:
            name = entry["name"]
            if name.startswith("system."):
                continue
            info = TableInfo(
                connection.database, name, "view" if entry.get("type") == "view" else "table"
            )
            with timeout(SYNC_SECONDS):  # the sample and its getMores, together
                info.columns = sample_columns(
                    database[name].aggregate([{"$sample": {"size": connection.sample_size}}])
                )
            yield info


# --- The fields of sampled documents ------------------------------------------------------------


def bson_type(value: Any) -> str:
    """The BSON type name ($type's alias) of a decoded value."""
    from bson import (
        Binary,
        Code,
        DBRef,
        Decimal128,
        Int64,
        MaxKey,
        MinKey,
        ObjectId,
        Regex,
        Timestamp,
    )

    checks: tuple[tuple[Any, str], ...] = (
        (type(None), "null"),
        (bool, "bool"),
        (Int64, "long"),
        (int, "int"),
        (float, "double"),
        (Code, "javascript"),
        (str, "string"),
        (ObjectId, "objectId"),
        (dt.datetime, "date"),
        (Decimal128, "decimal"),
        (Decimal, "decimal"),
        (Binary, "binData"),
        (bytes, "binData"),
        (uuid.UUID, "binData"),
        (Timestamp, "timestamp"),
        (Regex, "regex"),
        (re.Pattern, "regex"),
        (MinKey, "minKey"),
        (MaxKey, "maxKey"),
        (DBRef, "dbPointer"),
        (list, "array"),
        (dict, "object"),
    )
    for kind, name in checks:
        if isinstance(value, kind):
            if name == "int" and not -(2**31) <= value < 2**31:
                return "long"
            return name
    return type(value).__name__


@dataclass
class _Seen:
    """One path's counts over the sample."""

    ordinal: int
    documents: int = 0
    types: dict[str, int] = field(default_factory=dict)


def _walk(document: dict, prefix: str, depth: int, found: dict[str, dict[str, int]]) -> None:
    """Count every path's types in one document (arrays of documents: their fields too)."""
    for key, value in document.items():
        path = f"{prefix}{key}"
        types = found.setdefault(path, {})
        kind = bson_type(value)
        types[kind] = types.get(kind, 0) + 1
        if depth >= MAX_DEPTH:
            continue
        if kind == "object":
            _walk(value, f"{path}.", depth + 1, found)
        elif kind == "array":
            for item in value:
                if isinstance(item, dict):
                    _walk(item, f"{path}.", depth + 1, found)


def sample_columns(documents: Iterable[dict]) -> list[dict[str, Any]]:
    """Columns from sampled documents: dotted paths for nested fields; `type` is the BSON
    types seen, most frequent first ("string|null"); `bsonTypes` counts each, `occurrence`
    is the share of sampled documents that have the field; `_id` is the primary key."""
    seen: dict[str, _Seen] = {}
    total = 0
    for document in documents:
        total += 1
        found: dict[str, dict[str, int]] = {}
        _walk(document, "", 0, found)
        for path, types in found.items():
            entry = seen.get(path)
            if entry is None:
                if len(seen) >= MAX_COLUMNS:
                    continue
                entry = seen[path] = _Seen(len(seen))
            entry.documents += 1
            for kind, count in types.items():
                entry.types[kind] = entry.types.get(kind, 0) + count
    order = sorted(seen.items(), key=lambda item: (item[0] != "_id", item[1].ordinal))
    columns = []
    for ordinal, (path, entry) in enumerate(order, start=1):
        ranked = sorted(entry.types.items(), key=lambda kv: (-kv[1], kv[0]))
        columns.append(
            {
                "name": path,
                "type": "|".join(k for k, _ in ranked),
                "nullable": entry.documents < total or "null" in entry.types,
                "default": None,
                "primaryKey": path == "_id",
                "ordinal": ordinal,
                "bsonTypes": dict(ranked),
                "occurrence": round(entry.documents / total, 4) if total else 0.0,
            }
        )
    return columns


REGISTER = (MongoDB(),)
