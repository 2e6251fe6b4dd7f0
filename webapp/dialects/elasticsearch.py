"""Elasticsearch and OpenSearch: the official clients over HTTP(S), pinned to the checked
address (dialects/pinning.py: every urllib3 connection the client opens goes there, the name
stays the TLS server name and Host header); indices, aliases and data streams as tables, their
mapping properties as columns (objects flattened with dotted names), read with four bulk calls.

Elastic Cloud's Cloud ID is decoded locally into the deployment's host and port 443
(`check_local` fills `host`/`port`), so the ladder checks and pins that host like any other.
"""

from __future__ import annotations

import base64
import binascii
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.failures import BAD_CREDENTIALS
from ..core.steps import DRIVER_HOST_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure
from .errors_table import PINNED_ELSEWHERE, PORT_REFUSED, ErrorRule, Failure, chain_text, timed_out
from .fields import (
    FieldSpec,
    check_pem_certificates,
    host_field,
    password_field,
    port_field,
    ssh_fields,
    ssl_field,
    username_field,
)
from .pinning import Pin, pinned

SYNC_SECONDS = 300.0
MAX_COLUMNS = 5_000
SCHEMAS = {"index": "indices", "alias": "aliases", "data stream": "data_streams"}


def decode_cloud_id(cloud_id: str) -> tuple[str, int] | None:
    """`name:base64(domain$es_uuid$kibana_uuid)` as (es_uuid.domain, port); None if unreadable."""
    _, _, encoded = cloud_id.strip().partition(":")
    try:
        text = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = text.split("$")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    domain, _, port = parts[0].partition(":")
    return f"{parts[1]}.{domain}", int(port) if port.isdigit() else 443


def _failures(product: str, other: str) -> tuple[ErrorRule, ...]:
    """The clients' errors (HTTP status as the code), then urllib3's socket and TLS errors."""
    return (
        PINNED_ELSEWHERE,
        ErrorRule(
            Failure("auth", f"{product} rejected the API key.", {"apiKey": "Incorrect API key"}),
            code=401,
            given=("apiKey",),
        ),
        ErrorRule(
            Failure(
                "auth",
                f"{product} rejected the username or password.",
                {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
            ),
            code=401,
        ),
        ErrorRule(
            Failure(
                "auth",
                "These credentials may not read the cluster (they need the "
                "monitor privilege and read/view_index_metadata on the indices).",
                {"username": "No access to this cluster"},
            ),
            code=403,
        ),
        ErrorRule(
            Failure(
                "connect",
                f"{{host}}:{{port}} is not {product}: it may be {other} (choose the {other} type).",
                {"host": f"Not an {product} server"},
            ),
            text="UnsupportedProductError|not (Elasticsearch|OpenSearch)",
        ),
        ErrorRule(
            timed_out,
            chain=("ConnectionTimeout", "ReadTimeoutError", "ConnectTimeoutError", "TimeoutError"),
            text="(?i)timed out",
        ),
        ErrorRule(
            Failure(
                "tls",
                "The server's certificate is not trusted or not issued for "
                "{host}. Paste its CA certificate, or (for a test cluster) ignore "
                "certificate errors.",
                {"sslRootCertificate": "Certificate not trusted"},
            ),
            text="CERTIFICATE_VERIFY_FAILED|certificate verify failed",
        ),
        ErrorRule(
            Failure(
                "tls",
                "The HTTPS handshake failed: the port may serve plain HTTP. Turn SSL off.",
                {"sslEnabled": "TLS handshake failed"},
            ),
            text="WRONG_VERSION_NUMBER|record layer failure|SSLError",
        ),
        ErrorRule(
            Failure(
                "tls",
                "The server closed the connection when Datadock spoke plain "
                "HTTP: it probably requires HTTPS. Turn SSL on.",
                {"sslEnabled": "The server may require SSL"},
            ),
            text="(?i)RemoteDisconnected|connection aborted|reset by peer|closed connection",
            when=lambda f: not f.values.get("sslEnabled"),
        ),
        ErrorRule(PORT_REFUSED, text="Connection refused"),
        ErrorRule(
            Failure(
                "connect",
                f"{{host}}:{{port}} did not answer like {product} (HTTP {{code}}).",
                {"port": f"No {product} here"},
            ),
            code=(400, 404, 405, 500, 502, 503),
        ),
        ErrorRule(
            Failure(
                "connect",
                f"{{host}}:{{port}} closed the connection or did not answer like {product}.",
                {"port": f"No {product} here"},
            ),
            text="(?i)RemoteDisconnected|connection aborted|reset by peer|"
            "SerializationError|BadStatusLine",
        ),
    )


@dataclass
class SearchConnection:
    """A client and the pin every call of it runs under."""

    client: Any
    pin: Pin
    info: dict[str, Any] = field(default_factory=dict)

    def call(self, api: str, timeout: float | None = None, **params: Any) -> Any:
        """`client.<api>(**params)` (e.g. "cat.indices") with the pin in force; plain data.
        `timeout` overrides the client's deadline for this call."""
        target = self.client
        if timeout is not None and hasattr(target, "options"):  # elasticsearch-py
            target = target.options(request_timeout=timeout)
        elif timeout is not None:  # opensearch-py takes it as a parameter
            params["request_timeout"] = timeout
        for part in api.split("."):
            target = getattr(target, part)
        with pinned(self.pin):
            answer = target(**params)
        return getattr(answer, "body", answer)

    def close(self) -> None:
        """Close the client's connection pools."""
        self.client.close()


class SearchEngine(Dialect):
    """What Elasticsearch and OpenSearch share: fields, pinning, the catalog calls."""

    steps = DRIVER_HOST_STEPS
    driver_steps = ("tls", "auth")
    product = ""

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """A Cloud ID becomes the host and port it names (filled in); a host is needed; a
        username goes with a password."""
        errors = super().check_local(values)
        if values.get("cloudId"):
            found = decode_cloud_id(values["cloudId"])
            if found is None:
                errors["cloudId"] = "Paste the Cloud ID from the deployment's page (name:…)"
            else:
                values["host"], values["port"] = found
                values["sslEnabled"] = True
        elif not values.get("host"):
            errors["host"] = (
                "Enter the host (or the Cloud ID)" if self.field("cloudId") else "Enter the host"
            )
        if bool(values.get("username")) != bool(values.get("password")):
            missing = "password" if values.get("username") else "username"
            errors[missing] = f"Enter the {missing} too (or neither)"
        return errors

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The host (and the Cloud ID that names it)."""
        return (*super().identity_names, *(("cloudId",) if self.field("cloudId") else ()))

    def _ssl_context(self, values: dict[str, Any]) -> ssl.SSLContext | None:
        if not values.get("sslEnabled"):
            return None
        context = ssl.create_default_context()
        if values.get("ignoreCertificateErrors"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif values.get("sslRootCertificate"):
            context.load_verify_locations(cadata=values["sslRootCertificate"])
        return context

    def client(self, target: Target, url: str) -> Any:
        """The vendor's client for `url` (no retries, no sniffing, the deadline per call)."""
        raise NotImplementedError

    def connect(self, target: Target) -> SearchConnection:
        """GET / under the pin: TLS, credentials and the product in one request."""
        v = target.values
        port = int(target.port or v["port"])
        scheme = "https" if v.get("sslEnabled") else "http"
        name = v["host"]
        shown = f"[{name}]" if ":" in name else name
        pin = Pin(name, str(target.address), port, guard=target.connection_guard())
        connection = SearchConnection(self.client(target, f"{scheme}://{shown}:{port}"), pin)
        try:
            connection.info = connection.call("info") or {}
        except Exception:
            connection.close()
            raise
        return connection

    def check_catalog(self, connection: SearchConnection) -> None:
        """GET /_cat/indices (one line): the credentials may list indices."""
        try:
            connection.call("cat.indices", format="json", h="index")
        except Exception as exc:
            if (
                getattr(exc, "status_code", None) == 403
                or getattr(getattr(exc, "meta", None), "status", None) == 403
            ):
                raise catalog_failure(
                    None, "username", "These credentials may not list indices"
                ) from exc
            raise

    def server_version(self, connection: SearchConnection) -> str:
        """ "Elasticsearch 8.15.0"."""
        number = (connection.info.get("version") or {}).get("number") or ""
        return f"{self.label} {number}".strip()

    def ping(self, connection: SearchConnection) -> None:
        """GET /."""
        connection.call("info")

    def error_text(self, exc: BaseException) -> str:
        """Every message of the chain (the clients wrap urllib3's errors)."""
        return f"{type(exc).__name__}: {chain_text(exc)}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The HTTP status of an answer."""
        status = getattr(getattr(exc, "meta", None), "status", None)
        if status is None:
            status = getattr(exc, "status_code", None)
        return (status,) if isinstance(status, int) else ()

    def introspect(
        self, connection: SearchConnection, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """GET /_cat/indices, /_cat/aliases, /_data_stream and /_mapping: four calls, not one
        per index; hidden and system indices (`.…`) are read only behind a data stream."""
        schemas = schemas or SchemaFilter()
        timeout = {"timeout": SYNC_SECONDS}
        rows = connection.call(
            "cat.indices", format="json", h="index,docs.count", expand_wildcards="open", **timeout
        )
        counts = {r["index"]: _count(r.get("docs.count")) for r in rows}
        aliases: dict[str, list[str]] = {}
        for row in connection.call("cat.aliases", format="json", h="alias,index", **timeout):
            aliases.setdefault(row["alias"], []).append(row["index"])
        try:
            streams = connection.call("indices.get_data_stream", name="*", **timeout)
        except Exception as exc:
            if self.error_codes(exc) not in ((400,), (404,), (405,)):
                raise
            streams = {}
        mappings = connection.call(
            "indices.get_mapping", index="*", expand_wildcards="all", **timeout
        )
        tables: list[tuple[str, str, list[str], int | None]] = [
            ("index", name, [name], counts[name]) for name in counts if not name.startswith(".")
        ]
        tables += [
            ("alias", name, indices, None)
            for name, indices in aliases.items()
            if not name.startswith(".")
        ]
        for stream in (streams or {}).get("data_streams") or []:
            backing = [i["index_name"] for i in stream.get("indices") or []]
            tables.append(("data stream", stream["name"], backing[-1:], None))
        for kind, name, indices, estimate in sorted(tables, key=lambda t: (SCHEMAS[t[0]], t[1])):
            schema = SCHEMAS[kind]
            if not schemas.allows(schema):
                continue
            first: dict[str, Any] = next((mappings[i] for i in indices if i in mappings), {})
            info = TableInfo(
                schema, name, "view" if kind == "alias" else "table", row_estimate=estimate
            )
            info.columns = mapping_columns(first.get("mappings") or {})
            yield info


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _properties(mappings: dict) -> dict:
    """A mapping's properties (7.x+ typeless, or a 6.x single type)."""
    if "properties" in mappings:
        return mappings["properties"] or {}
    types = [v for v in mappings.values() if isinstance(v, dict) and "properties" in v]
    return types[0]["properties"] if len(types) == 1 else {}


def mapping_columns(mappings: dict) -> list[dict[str, Any]]:
    """`_id`, then every property in mapping order: objects and nested fields flattened with
    dotted names (an object itself is a column of type object/nested), multi-fields as
    `name.keyword`."""
    columns = [
        {
            "name": "_id",
            "type": "keyword",
            "nullable": False,
            "default": None,
            "primaryKey": True,
            "ordinal": 1,
        }
    ]

    def add(name: str, spec: dict) -> None:
        if len(columns) >= MAX_COLUMNS:
            return
        kind = str(spec.get("type") or "object")
        columns.append(
            {
                "name": name,
                "type": kind,
                "nullable": True,
                "default": None,
                "primaryKey": False,
                "ordinal": len(columns) + 1,
            }
        )
        for child, child_spec in (spec.get("properties") or {}).items():
            add(f"{name}.{child}", child_spec or {})
        for child, child_spec in (spec.get("fields") or {}).items():
            add(f"{name}.{child}", child_spec or {})

    for name, spec in _properties(mappings).items():
        add(name, spec or {})
    return columns


_FIELDS_HEAD = (
    host_field(
        required=False,
        placeholder="search.example.com",
        help="Host name or IP address of a node (leave blank with a Cloud ID).",
    ),
    port_field(9200, help="Usually 9200 (443 for a hosted cluster)."),
)
_FIELDS_AUTH = (
    username_field(required=False, help="Leave blank for an API key or no authentication."),
    password_field(required=False),
)
_FIELDS_TLS = (
    ssl_field(help="HTTPS (hosted clusters and security-enabled nodes require it)."),
    FieldSpec(
        name="ignoreCertificateErrors",
        label="Ignore certificate errors",
        kind="boolean",
        default=False,
        required_if="sslEnabled",
        help="Accept any certificate (self-signed test clusters only).",
    ),
    FieldSpec(
        name="sslRootCertificate",
        label="CA certificate (optional)",
        kind="textarea",
        max_length=65536,
        required_if="sslEnabled",
        checks=(check_pem_certificates,),
        help="PEM certificate of the CA that signed the node's certificate (e.g. the "
        "http_ca.crt a new Elasticsearch node writes).",
    ),
)


class Elasticsearch(SearchEngine):
    """Elasticsearch 8.x and 9.x: self-managed or Elastic Cloud (Cloud ID)."""

    key = "ELASTICSEARCH"
    label = "Elasticsearch"
    category = "Search"
    docs_url = "https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-create-api-key.html"
    read_only_sql = """\
# In Kibana's Dev Tools: an API key that can read every index and its mappings.
POST /_security/api_key
{
  "name": "datadock-reader",
  "role_descriptors": {
    "datadock_reader": {
      "cluster": ["monitor"],
      "indices": [{ "names": ["*"], "privileges": ["read", "view_index_metadata"] }]
    }
  }
}"""
    product = "Elasticsearch"
    extra = "elasticsearch"
    driver_modules = ("elasticsearch",)
    errors = _failures("Elasticsearch", "OpenSearch")
    fields = (
        FieldSpec(
            name="serverType",
            label="Deployment",
            kind="select",
            default="self-managed",
            choices=(("self-managed", "Self-managed"), ("elastic-cloud", "Elastic Cloud")),
        ),
        FieldSpec(
            name="cloudId",
            label="Cloud ID",
            max_length=1024,
            help="Elastic Cloud only: from the deployment's page (name:…).",
            docs="https://www.elastic.co/guide/en/cloud/current/ec-cloud-id.html",
        ),
        *_FIELDS_HEAD,
        *_FIELDS_AUTH,
        password_field(
            name="apiKey",
            label="API key",
            required=False,
            max_length=2048,
            help="An API key (the encoded form) instead of a username and password.",
            docs="https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-create-api-key.html",
        ),
        *_FIELDS_TLS,
        *ssh_fields(),
    )

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """Elastic Cloud needs its Cloud ID or host; an API key or a username, not both."""
        errors = super().check_local(values)
        if values.get("apiKey") and values.get("username"):
            errors["apiKey"] = "Use an API key or a username and password, not both"
        return errors

    def client(self, target: Target, url: str) -> Any:
        """elasticsearch-py, without retries or sniffing; the deadline on every request."""
        from elasticsearch import Elasticsearch as Client

        v = target.values
        options: dict[str, Any] = dict(
            request_timeout=target.timeout,
            max_retries=0,
            retry_on_timeout=False,
            ssl_show_warn=False,
        )
        context = self._ssl_context(v)
        if context is not None:
            options["ssl_context"] = context
        if v.get("apiKey"):
            options["api_key"] = v["apiKey"]
        elif v.get("username"):
            options["basic_auth"] = (v["username"], v.get("password") or "")
        return Client(url, **options)


class OpenSearch(SearchEngine):
    """OpenSearch: self-managed or a hosted (open-cloud) domain, with basic authentication."""

    key = "OPENSEARCH"
    label = "OpenSearch"
    category = "Search"
    docs_url = "https://opensearch.org/docs/latest/security/access-control/users-roles/"
    read_only_sql = """\
# In Dashboards' Dev Tools (security plugin): a user with the built-in readall role.
PUT _plugins/_security/api/internalusers/datadock_reader
{
  "password": "choose-a-long-password",
  "opendistro_security_roles": ["readall"]
}"""
    product = "OpenSearch"
    extra = "opensearch"
    driver_modules = ("opensearchpy",)
    errors = _failures("OpenSearch", "Elasticsearch")
    fields = (
        FieldSpec(
            name="serverType",
            label="Deployment",
            kind="select",
            default="self-managed",
            choices=(
                ("self-managed", "Self-managed"),
                ("open-cloud", "Hosted (e.g. Amazon OpenSearch Service)"),
            ),
        ),
        *_FIELDS_HEAD,
        *_FIELDS_AUTH,
        *_FIELDS_TLS,
        *ssh_fields(),
    )

    def client(self, target: Target, url: str) -> Any:
        """opensearch-py, without retries or sniffing; the deadline on every request."""
        from opensearchpy import OpenSearch as Client

        v = target.values
        options: dict[str, Any] = dict(
            timeout=target.timeout, max_retries=0, retry_on_timeout=False
        )
        context = self._ssl_context(v)
        if context is not None:  # the context decides verification (no other TLS options)
            options.update(ssl_context=context, use_ssl=True)
        if v.get("username"):
            options["http_auth"] = (v["username"], v.get("password") or "")
        return Client(hosts=[url], **options)

    def connect(self, target: Target) -> SearchConnection:
        """GET /, and refuse an Elasticsearch answer (opensearch-py does not check)."""
        connection = super().connect(target)
        if (connection.info.get("version") or {}).get("distribution") != "opensearch":
            connection.close()
            raise _NotProduct("not OpenSearch")
        return connection


class _NotProduct(Exception):
    """The server answered, but is the other product."""


REGISTER = (Elasticsearch(), OpenSearch())
