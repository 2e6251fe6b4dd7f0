"""PostHog: its HogQL query API over HTTPS with a personal API key (standard library only, so
no extra), pinned to the checked address; one DatabaseSchemaQuery lists every table."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
from collections.abc import Iterator
from typing import Any

from ..core.steps import HOST_STEPS, without
from ..safe_parse import load_json
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure, column
from .errors_table import PORT_REFUSED, ErrorRule, Failure, timed_out
from .fields import FieldInvalid, FieldSpec, host_field, password_field, port_field, ssl_field

SYNC_SECONDS = 300.0
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
SCHEMA_NAMES = {
    "posthog": "posthog",
    "data_warehouse": "data_warehouse",
    "view": "views",
    "materialized_view": "views",
    "batch_export": "batch_exports",
}
BAD_KEY = "Incorrect API key"


class PostHogError(Exception):
    """A non-2xx answer from the PostHog API: its status and PostHog's error code, if any."""

    def __init__(self, status: int, code: str | None = None) -> None:
        super().__init__(f"HTTP {status} {code or ''}".strip())
        self.status = status
        self.code = code


def check_project_id(value: str) -> None:
    """PostHog project IDs are numbers (Project settings → Project ID)."""
    if not re.fullmatch(r"\d{1,12}", value):
        raise FieldInvalid("Use the numeric project ID from Project settings")


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI, certificate check and Host header use the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]  # private in typeshed
            sock, server_hostname=self.host
        )


class _PinnedHTTP(http.client.HTTPConnection):
    """Plain HTTP to a checked address (self-hosted PostHog without TLS)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class PostHogClient:
    """The few PostHog API calls Datadock makes, each with a timeout; the key never leaves
    the Authorization header."""

    def __init__(
        self, host: str, address: str, port: int, tls: bool, key: str, project: str, timeout: float
    ) -> None:
        self.host, self.address, self.port, self.tls = host, address, port, tls
        self._key = key
        self.project = project
        self.timeout = timeout
        self.name = ""

    def call(
        self, method: str, path: str, body: dict | None = None, timeout: float | None = None
    ) -> Any:
        """One request; returns the decoded JSON or raises PostHogError / OSError."""
        kind = _PinnedHTTPS if self.tls else _PinnedHTTP
        connection = kind(self.host, self.port, self.address, timeout or self.timeout)
        try:
            payload = json.dumps(body).encode() if body is not None else None
            headers = {
                "Authorization": f"Bearer {self._key}",
                "Accept": "application/json",
                "User-Agent": "datadock",
            }
            if payload is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            data = response.read(MAX_RESPONSE_BYTES + 1)
        finally:
            connection.close()
        if len(data) > MAX_RESPONSE_BYTES:
            raise PostHogError(response.status, "response_too_large")
        try:
            decoded = load_json(data) if data else None
        except ValueError:  # also InputRefused: nested too deeply
            raise PostHogError(response.status, "not_json") from None
        if not 200 <= response.status < 300:
            code = decoded.get("code") if isinstance(decoded, dict) else None
            raise PostHogError(response.status, code)
        return decoded

    def project_info(self) -> dict:
        """The project's record (checks the key and the project in one call)."""
        return self.call("GET", f"/api/projects/{self.project}/")

    def query(self, query: dict, timeout: float | None = None) -> dict:
        """Run a query node (HogQLQuery, DatabaseSchemaQuery, …)."""
        return self.call("POST", f"/api/projects/{self.project}/query/", {"query": query}, timeout)

    def close(self) -> None:
        """Nothing stays open between calls."""


# The API's HTTP status (PostHogError), then socket and TLS errors.
ERRORS = (
    ErrorRule(
        Failure("auth", "PostHog rejected the personal API key.", {"password": BAD_KEY}), code=401
    ),
    ErrorRule(
        Failure(
            "auth",
            "This key may not read this project: give it the project:read and "
            "query:read scopes, and access to this project.",
            {"password": "This key has no access to this project"},
        ),
        code=403,
    ),
    ErrorRule(
        Failure(
            "database",
            "PostHog has no project {posthogProjectId} here.",
            {"posthogProjectId": "Project not found"},
        ),
        code=404,
    ),
    ErrorRule(
        Failure(
            "connect",
            "{host} answered HTTP {code}: it may not be a PostHog API.",
            {"host": "Not a PostHog API"},
        ),
        types=(PostHogError,),
    ),
    ErrorRule(timed_out, chain=(TimeoutError, socket.timeout)),
    ErrorRule(
        Failure(
            "tls",
            "The certificate of {host} is not trusted or not issued for this name.",
            {"host": "Certificate not trusted"},
        ),
        types=(ssl.SSLCertVerificationError,),
    ),
    ErrorRule(
        Failure(
            "tls",
            "The HTTPS handshake failed: the port may serve plain HTTP.",
            {"sslEnabled": "TLS handshake failed"},
        ),
        types=(ssl.SSLError,),
    ),
    ErrorRule(PORT_REFUSED, types=(ConnectionRefusedError,)),
    ErrorRule(
        Failure(
            "connect",
            "{host}:{port} closed the connection or did not answer HTTP.",
            {"port": "No PostHog API on this port"},
        ),
        types=(http.client.HTTPException, ConnectionError),
    ),
)


class PostHog(Dialect):
    """PostHog Cloud (US or EU) or self-hosted, through the HogQL query API."""

    key = "POSTHOG"
    label = "PostHog"
    category = "Analytics"
    docs_url = "https://posthog.com/docs/api/personal-api-keys"
    read_only_note = (
        "PostHog has no SQL logins: create a personal API key with only the "
        "query:read and project:read scopes."
    )
    steps = without(HOST_STEPS, "ssh")
    errors = ERRORS
    fields = (
        host_field(
            default="us.posthog.com",
            placeholder="us.posthog.com",
            help="us.posthog.com or eu.posthog.com for PostHog Cloud, or your own host.",
        ),
        port_field(443),
        FieldSpec(
            name="posthogProjectId",
            label="Project ID",
            required=True,
            max_length=12,
            placeholder="12345",
            checks=(check_project_id,),
            help="Project settings → Project ID.",
        ),
        password_field(
            label="Personal API key",
            max_length=512,
            help="A personal API key (phx_…) with the query:read and project:read "
            "scopes. Project API keys (phc_…) cannot read data.",
            docs="https://posthog.com/docs/api/personal-api-keys",
        ),
        ssl_field(help="HTTPS (PostHog Cloud requires it)."),
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """Host and project: where the key is sent."""
        return (*super().identity_names, "posthogProjectId")

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """A project API key (phc_) only sends events: say so before any request."""
        errors = super().check_local(values)
        key = values.get("password") or ""
        if key.startswith("phc_"):
            errors.update(
                {
                    "password": "This is a project API key (phc_…): create a personal "
                    "API key (phx_…) with the query:read scope"
                }
            )
        elif re.search(r"\s", key):
            errors.update({"password": "The key must not contain spaces"})
        return errors

    def connect(self, target: Target) -> PostHogClient:
        """Read the project's record: checks TLS, the key and the project ID at once."""
        v = target.values
        client = PostHogClient(
            v["host"],
            target.address or v["host"],
            int(target.port or v["port"]),
            bool(v.get("sslEnabled")),
            v["password"],
            v["posthogProjectId"],
            target.timeout,
        )
        client.name = str((client.project_info() or {}).get("name") or "")
        return client

    def check_catalog(self, connection: PostHogClient) -> None:
        """A trivial HogQL query: the key has query:read."""
        try:
            connection.query({"kind": "HogQLQuery", "query": "SELECT 1"})
        except PostHogError as exc:
            raise catalog_failure(None, "password", "This key lacks the query:read scope") from exc

    def server_version(self, connection: PostHogClient) -> str:
        """ "PostHog (project Web app)"."""
        name = connection.name
        return f"PostHog (project {name})" if name else "PostHog"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The HTTP status of an API answer."""
        return (exc.status,) if isinstance(exc, PostHogError) else ()

    def introspect(
        self, connection: PostHogClient, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """One DatabaseSchemaQuery: every table with its fields."""
        schemas = schemas or SchemaFilter()
        answer = connection.query({"kind": "DatabaseSchemaQuery"}, SYNC_SECONDS)
        tables = (answer or {}).get("tables") or {}
        for name in sorted(tables):
            table = tables[name] or {}
            kind = str(table.get("type") or "posthog")
            schema = SCHEMA_NAMES.get(kind, kind)
            if not schemas.allows(schema):
                continue
            info = TableInfo(
                schema, str(table.get("name") or name), "view" if "view" in kind else "table"
            )
            fields = table.get("fields") or {}
            for ordinal, field_name in enumerate(fields, start=1):
                spec = fields[field_name] or {}
                info.columns.append(
                    column(
                        spec.get("name") or field_name,
                        spec.get("type") or "unknown",
                        True,
                        None,
                        False,
                        ordinal,
                    )
                )
            yield info


REGISTER = (PostHog(),)
