"""Amazon S3 (and S3-compatible stores): CSV, Parquet or JSON files under a bucket's prefix,
read through DuckDB's httpfs extension (from PyPI, loaded offline).

Tables are the files found (or, with table level "folder", each folder holding them); columns
are the types DuckDB infers. The endpoint (AWS's regional one, or the one given) is resolved
and checked by connect/'s egress policy and store guard first; a plain-HTTP endpoint is then
handed to DuckDB as that checked address (pinned), an HTTPS one by name (the certificate
names it; checked just before). External access is off except under `s3://bucket/prefix`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.refusal import ConnectionFailed
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import run_bounded, whole_seconds
from .duckdb_net import host_port, lock_down, open_with, parse_endpoint, quote
from .errors_table import ErrorRule, Failure, chain_text, vendor_timeout
from .fields import FieldInvalid, FieldSpec

log = logging.getLogger(__name__)

BUCKET = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
REGION = re.compile(r"^[a-z0-9-]{2,32}$")
PREFIX_FORBIDDEN = re.compile(r"[*?\[\]{}\\'\"]|\.\.")
MAX_FILES = 10_000
VERIFY_TABLES = 20  # verify reads this many tables' columns; a sync reads them all

# format: (label, DuckDB reader, file endings)
FORMATS = {
    "csv": ("CSV", "read_csv", (".csv", ".csv.gz", ".tsv")),
    "parquet": ("Parquet", "read_parquet", (".parquet",)),
    "json": ("JSON", "read_json_auto", (".json", ".jsonl", ".ndjson", ".json.gz")),
}
KEYS = ("s3AccessKeyId", "s3SecretAccessKey")
BAD_KEYS = "Access denied with this key: check the key ID, the secret and its permissions"

ERRORS = (
    ErrorRule(vendor_timeout("S3", "s3Endpoint"), types=(TimeoutError,)),
    ErrorRule(
        Failure(
            "auth",
            "S3 refused the access key (HTTP 403): the key ID or secret is "
            "wrong, or the key may not list bucket {s3Bucket!r}.",
            dict.fromkeys(KEYS, BAD_KEYS),
        ),
        text=r"HTTP 403|Forbidden",
    ),
    ErrorRule(
        Failure(
            "database",
            "There is no bucket {s3Bucket!r} at this endpoint and region.",
            {"s3Bucket": "No such bucket"},
        ),
        text=r"HTTP 404|NoSuchBucket|Not Found",
    ),
    ErrorRule(
        Failure(
            "auth",
            "The S3 endpoint answered in a way DuckDB could not read, or "
            "could not be reached. Check the endpoint and region.",
            {"s3Endpoint": "Could not talk to S3 at this endpoint"},
        ),
        types=("HTTPException", "IOException"),
    ),
)


def check_bucket(value: str) -> None:
    """S3's bucket-name rules (3–63 lowercase letters, digits, dots and dashes)."""
    if not BUCKET.match(value):
        raise FieldInvalid("A bucket name: 3–63 lowercase letters, digits, dots and dashes")


def check_prefix(value: str) -> None:
    """A key prefix without wildcards, quotes or `..` (it becomes part of an s3:// URL)."""
    if PREFIX_FORBIDDEN.search(value) or value.startswith("s3://"):
        raise FieldInvalid("A folder path such as exports/daily/ (no wildcards, quotes or ..)")


def check_key_id(value: str) -> None:
    """An access key ID: capital letters and digits."""
    if not KEY_ID.match(value):
        raise FieldInvalid("An access key ID such as AKIA… (capital letters and digits)")


def check_region(value: str) -> None:
    """A region code such as eu-west-1."""
    if not REGION.match(value):
        raise FieldInvalid("A region code such as us-east-1")


def check_endpoint(value: str) -> None:
    """`https://host[:port]`, `http://host:port` or `host[:port]`, no path."""
    try:
        parse_endpoint(value)
    except ValueError:
        raise FieldInvalid(
            "An endpoint such as https://minio.example.com:9000 (scheme, host and port only)"
        ) from None


FIELDS = (
    FieldSpec(
        name="s3Bucket",
        label="Bucket",
        required=True,
        max_length=63,
        placeholder="my-data-bucket",
        checks=(check_bucket,),
    ),
    FieldSpec(
        name="s3Prefix",
        label="Prefix",
        max_length=1024,
        placeholder="exports/daily/",
        checks=(check_prefix,),
        help="The folder inside the bucket whose files (and subfolders) are read; blank "
        "for the whole bucket.",
    ),
    FieldSpec(
        name="s3FileFormat",
        label="File format",
        kind="select",
        default="csv",
        choices=(("csv", "CSV"), ("parquet", "Parquet"), ("json", "JSON")),
    ),
    FieldSpec(
        name="s3TableLevel",
        label="Tables are",
        kind="select",
        default="file",
        choices=(
            ("file", "Files: each file is a table"),
            ("folder", "Folders: the files of each folder are one table"),
        ),
    ),
    FieldSpec(
        name="s3AccessKeyId",
        label="Access key ID",
        required=True,
        max_length=128,
        placeholder="AKIA…",
        checks=(check_key_id,),
        docs="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
    ),
    FieldSpec(
        name="s3SecretAccessKey",
        label="Secret access key",
        kind="password",
        secret=True,
        required=True,
        max_length=256,
    ),
    FieldSpec(
        name="s3SessionToken",
        label="Session token",
        kind="password",
        secret=True,
        max_length=4096,
        help="Only for temporary (ASIA…) credentials.",
    ),
    FieldSpec(
        name="s3Region",
        label="Region",
        required=True,
        default="us-east-1",
        max_length=32,
        checks=(check_region,),
    ),
    FieldSpec(
        name="s3Endpoint",
        label="Endpoint",
        max_length=300,
        placeholder="https://minio.example.com:9000",
        checks=(check_endpoint,),
        help="Only for S3-compatible stores (MinIO, R2, Ceph…); blank for AWS.",
    ),
)


@dataclass
class S3Files:
    """An open DuckDB connection reading one bucket's prefix, with the files it found."""

    connection: Any
    root: str  # s3://bucket/prefix/
    reader: str
    label: str
    level: str
    files: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, list[str]]:
        """Table name → the files it reads, in name order."""
        found: dict[str, list[str]] = {}
        for url in self.files:
            relative = url[len(self.root) :]
            name = relative if self.level == "file" else (relative.rpartition("/")[0] or ".")
            found.setdefault(name, []).append(url)
        return dict(sorted(found.items()))

    def columns(self, name: str, urls: list[str]) -> list[dict[str, Any]]:
        """The columns DuckDB infers for the table; a file it cannot read is a field error."""
        try:  # the reader is one of FORMATS' names; the files are a parameter
            rows = self.connection.execute(
                f"DESCRIBE SELECT * FROM {self.reader}(?)",  # noqa: S608 - reader is a FORMATS name
                [urls],
            ).fetchall()
        except Exception as exc:  # noqa: BLE001 - DuckDB's parse errors are broad
            log.info(
                "S3 table %r cannot be read as %s: %s: %s",
                name,
                self.label,
                type(exc).__name__,
                str(exc)[:300],
            )
            raise ConnectionFailed(
                "catalog",
                f"{name!r} could not be read as {self.label} (DuckDB could not "
                f"infer its columns). Remove it, narrow the prefix, or pick its format.",
                {"s3Prefix": f"{name} is not readable {self.label}"},
            ) from None
        return [
            {
                "name": str(n),
                "type": str(t),
                "nullable": str(null).upper() != "NO",
                "default": None,
                "primaryKey": False,
                "ordinal": i,
            }
            for i, (n, t, null, *_rest) in enumerate(rows, start=1)
        ]

    def close(self) -> None:
        """Close DuckDB."""
        self.connection.close()


class S3(Dialect):
    """Files in Amazon S3 or an S3-compatible store, read through DuckDB."""

    key = "S3"
    label = "Amazon S3 files"
    category = "Files"
    docs_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-policies-s3.html"
    read_only_note = (
        "S3's access is IAM, not SQL: give the access key s3:ListBucket on the "
        "bucket and s3:GetObject on the prefix, nothing more."
    )
    steps = ("fields", "auth", "database", "catalog")
    driver_steps = ("auth", "database")
    fields = FIELDS
    errors = ERRORS
    error_text = staticmethod(chain_text)

    @property
    def identity_names(self) -> tuple[str, ...]:
        """Where the key is sent: changing one asks for the secrets again."""
        return ("s3Bucket", "s3Region", "s3Endpoint")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """HTTPS unless the endpoint says http://."""
        return self.endpoint(values)[0]

    @staticmethod
    def endpoint(values: dict[str, Any]) -> tuple[bool, str, int, str]:
        """(TLS, host, port, the field naming it): the given endpoint, else AWS's regional."""
        if values.get("s3Endpoint"):
            return (*parse_endpoint(values["s3Endpoint"]), "s3Endpoint")
        return True, f"s3.{values.get('s3Region') or 'us-east-1'}.amazonaws.com", 443, "s3Region"

    def connect(self, target: Target) -> S3Files:
        """Check the endpoint's address, then list the prefix's files within the deadline."""
        v = target.values
        tls, host, port, host_field = self.endpoint(v)
        try:
            address = target.check_address(
                host, port, target.timeout, host_field, host_field, every=tls
            )
        except ConnectionFailed as refused:  # the ladder has no DNS rung without a host field
            raise refused.at_step("auth") from None
        # Plain HTTP goes to the checked address itself; HTTPS keeps the name for the
        # certificate check.
        endpoint = host_port(host if tls else address, port)
        return run_bounded(
            lambda: self._open(v, endpoint, tls, target.timeout),
            target.timeout,
            discard=lambda f: f.close(),
        )

    def _open(self, v: dict[str, Any], endpoint: str, tls: bool, timeout: float) -> S3Files:
        connection = open_with(("httpfs",))
        try:
            parts = [
                f"TYPE s3, KEY_ID {quote(v['s3AccessKeyId'])}",
                f"SECRET {quote(v['s3SecretAccessKey'])}",
                f"REGION {quote(v.get('s3Region') or 'us-east-1')}",
                f"ENDPOINT {quote(endpoint)}",
                f"URL_STYLE {quote('path' if v.get('s3Endpoint') else 'vhost')}",
                f"USE_SSL {'true' if tls else 'false'}",
            ]
            if v.get("s3SessionToken"):
                parts.append(f"SESSION_TOKEN {quote(v['s3SessionToken'])}")
            connection.execute(f"CREATE SECRET datadock_s3 ({', '.join(parts)})")
            connection.execute(f"SET http_timeout = {whole_seconds(timeout)}")
            connection.execute("SET http_retries = 0")
            prefix = (v.get("s3Prefix") or "").strip("/")
            root = f"s3://{v['s3Bucket']}/" + (f"{prefix}/" if prefix else "")
            lock_down(connection, [root])
            label, reader, endings = FORMATS[v.get("s3FileFormat") or "csv"]
            rows = connection.execute(
                "SELECT file FROM glob(?) LIMIT ?", [root + "**", MAX_FILES + 1]
            ).fetchall()
            files = sorted(r[0] for r in rows if r[0].lower().endswith(endings))
            if not files:
                where = f"under {prefix!r}" if prefix else "in the bucket"
                raise ConnectionFailed(
                    "database",
                    f"There are no {label} files {where} (looked for {', '.join(endings)}).",
                    {"s3Prefix": f"No {label} files under this prefix"},
                )
            return S3Files(
                connection, root, reader, label, v.get("s3TableLevel") or "file", files[:MAX_FILES]
            )
        except BaseException:
            connection.close()
            raise

    def catalog_version(self, connection: S3Files) -> str:
        """The first tables' columns can be inferred; the store and the file count."""
        for name, urls in list(connection.tables().items())[:VERIFY_TABLES]:
            connection.columns(name, urls)
        import duckdb

        count = len(connection.files)
        return (
            f"S3 via DuckDB {duckdb.__version__}: {count} {connection.label} "
            f"file{'s' if count != 1 else ''}"
        )

    def server_version(self, connection: S3Files) -> str:
        """What is read, and by which DuckDB."""
        return self.catalog_version(connection)

    def ping(self, connection: S3Files) -> None:
        """Listing the prefix again is the round trip."""
        connection.connection.execute(
            "SELECT count(*) FROM glob(?)", [connection.root + "**"]
        ).fetchall()

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """A session token belongs to temporary (ASIA…) keys only."""
        errors = super().check_local(values)
        key_id = values.get("s3AccessKeyId") or ""
        if key_id.startswith("ASIA") and not values.get("s3SessionToken"):
            errors["s3SessionToken"] = "Temporary (ASIA…) keys need their session token"
        return errors

    def introspect(
        self, connection: S3Files, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One table per file (or folder), in the bucket's schema, columns inferred."""
        bucket = connection.root[len("s3://") :].split("/")[0]
        if schemas is not None and not schemas.allows(bucket):
            return
        for name, urls in connection.tables().items():
            yield TableInfo(bucket, name, "table", connection.columns(name, urls))


REGISTER = (S3(),)
