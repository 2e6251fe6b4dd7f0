"""Schemathesis against the running app (WSGI) with its own OpenAPI document: no 5xx, and every
response matches the document (status, content type, headers, body schema).

The create, verify and update bodies are one schema per dialect (oneOf/anyOf); the document
served is narrowed to the PostgreSQL family's schemas before generating (`fuzzed_document`), so
every generated body is one of theirs. No traffic leaves the machine: before each call, every
host-like field is pointed at a name under .invalid (refused as "Host not found" without a DNS
query), a pasted connection string becomes a postgresql:// URL to such a host, and any other
dialect (invalid data may name one) becomes POSTGRES: the PostgreSQL family's connections go
through Datadock's egress check first, other dialects would reach a vendor's host or open a
file. The egress policy also refuses every non-loopback address, and a guard on Python's
sockets fails the test if anything tries to connect off the machine.
"""

from __future__ import annotations

import copy
import ipaddress
import socket
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import add_source, make_org
from webapp.extensions import db
from webapp.models import Source
from webapp.openapi import build_document

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SAFE_DIALECTS = ("POSTGRES", "SUPABASE", "REDSHIFT")
HOST_FIELDS = ("host", "sshHost")
SAFE_URL = "postgresql://reader:pw@unreachable.invalid:5432/app"


@pytest.fixture
def fuzz_env(app, monkeypatch):
    """An organization with a key and a stored source; egress limited to loopback; a socket
    guard that records any attempt to reach another machine."""
    app.config.update(
        API_RATE_LIMIT=(1_000_000, 60),
        EGRESS_BLOCK=["0.0.0.0/0", "::/0"],
        EGRESS_ALLOW=["127.0.0.0/8", "::1/128"],
        VERIFY_TIMEOUT=1.0,
    )
    org_id, key = make_org(app, "Acme", "admin@example.com")
    state = {
        "app": app,
        "org_id": org_id,
        "key": key,
        "source_id": add_source(app, org_id),
        "off_machine": [],
    }
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def is_loopback(host: object) -> bool:
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return str(host) in ("localhost", "")

    def guarded_connect(sock, address):  # type: ignore[no-untyped-def]
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            state["off_machine"].append(address)
            raise ConnectionRefusedError("test guard: off-machine connection refused")
        return real_connect(sock, address)

    def guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host is not None and not is_loopback(host):
            state["off_machine"].append(("dns", host))
            raise socket.gaierror(socket.EAI_NONAME, "test guard: no DNS look-ups")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield state
    assert state["off_machine"] == [], "something tried to leave the machine"


_DOCUMENT = build_document()
BODIES = ("CreateDataSource", "VerifyDataSource", "UpdateDataSource")


def fuzzed_document(served: dict[str, Any]) -> dict[str, Any]:
    """The served document with its request bodies narrowed to SAFE_DIALECTS' schemas (every
    response schema unchanged, so a response that fits it fits the served one)."""
    document = copy.deepcopy(served)
    schemas = document["components"]["schemas"]
    refs = {f"#/components/schemas/{body}_{key}" for body in BODIES for key in SAFE_DIALECTS}
    for body in BODIES:
        union = schemas[body]
        for keyword in ("oneOf", "anyOf"):
            if keyword in union:
                union[keyword] = [ref for ref in union[keyword] if ref["$ref"] in refs]
                assert len(union[keyword]) == len(SAFE_DIALECTS), body
        if "discriminator" in union:
            mapping = union["discriminator"]["mapping"]
            union["discriminator"]["mapping"] = {k: mapping[k] for k in SAFE_DIALECTS}
    return document


# Every operation with valid data; with invalid data, those that take any input at all.
CASES = [
    (method.upper(), path, mode)
    for path, item in _DOCUMENT["paths"].items()
    for method, op in item.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")
]


def keep_on_the_machine(case, state) -> None:
    """Point the generated case at safe values and, mostly, at the real organization/source."""
    body = case.body
    if isinstance(body, dict):
        for name in HOST_FIELDS:
            if name in body and body[name] is not None:
                body[name] = "unreachable.invalid"
        if body.get("connectionString") is not None:  # the URL path, to a .invalid host
            body["connectionString"] = SAFE_URL
        if isinstance(body.get("dialect"), str) and body["dialect"].upper() not in SAFE_DIALECTS:
            body["dialect"] = "POSTGRES"
        # The DataBrain and Credible Data faces: PostgreSQL, their nested hosts made safe too.
        if "datasourceType" in body:
            body["datasourceType"] = "postgres"
        if body.get("type") not in (None, "direct"):
            body["type"] = "postgres"
        for nested in (v for v in body.values() if isinstance(v, dict)):
            for name in (*HOST_FIELDS, "server", "serverHostname"):
                if nested.get(name) is not None:
                    nested[name] = "unreachable.invalid"
            if nested.get("connectionString") is not None:
                nested["connectionString"] = SAFE_URL
    params = case.path_parameters or {}
    if "orgId" in params and len(str(params["orgId"])) % 4 != 0:
        params["orgId"] = str(state["org_id"])
    if "id" in params and len(str(params["id"])) % 4 != 0:
        with state["app"].app_context():
            if db.session.get(Source, state["source_id"]) is None:  # deleted by an earlier case
                state["source_id"] = add_source(state["app"], state["org_id"])
        params["id"] = str(state["source_id"])


@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES]
)
def test_every_response_matches_the_document(app, fuzz_env, method, path, mode):
    """(The pytest loader of schemathesis 4.32 does not run under pytest 9, so each operation's
    strategy is driven by Hypothesis here.)"""
    served = app.test_client().get("/api/public/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(fuzzed_document(served))
    schema.app = app
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {fuzz_env['key']}"}
    calls = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        keep_on_the_machine(case, fuzz_env)
        calls.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    run()
    assert calls, "no request was made"
