"""Elasticsearch and OpenSearch through their official clients, on loopback only.

No Elasticsearch or OpenSearch node can be installed here, so none runs. What is real: the
clients (elasticsearch-py, opensearch-py) with their own request building, product check and
response parsing, urllib3's sockets pinned to the checked address, the ladder's DNS/TCP steps.
The server is a loopback HTTP stand-in (tests/standins.py) answering the documented shapes of
`GET /`, `/_cat/indices`, `/_cat/aliases`, `/_data_stream` and `/_mapping`, or a listener that
never answers / hangs up. Every address is 127.0.0.1, `localhost` or a `.invalid` name.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.extras import dialect_params, needs_driver
from tests.servers import free_port
from tests.standins import http_standin, json_reply
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.dialects import get_dialect
from webapp.dialects.base import SchemaFilter, Target
from webapp.dialects.elasticsearch import decode_cloud_id, mapping_columns

TIMEOUT = 2.0
ENGINES = ("ELASTICSEARCH", "OPENSEARCH")
ES_HEADERS = {"X-Elastic-Product": "Elasticsearch"}

MAPPINGS = {
    "orders": {
        "mappings": {
            "properties": {
                "placed": {"type": "date"},
                "customer": {
                    "properties": {
                        "name": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
                        "address": {"properties": {"city": {"type": "keyword"}}},
                    }
                },
                "lines": {
                    "type": "nested",
                    "properties": {"sku": {"type": "keyword"}, "qty": {"type": "integer"}},
                },
                "total": {"type": "scaled_float", "scaling_factor": 100},
            }
        }
    },
    "orders-2025": {"mappings": {"properties": {"placed": {"type": "date"}}}},
    ".kibana_1": {"mappings": {"properties": {"type": {"type": "keyword"}}}},
    ".ds-logs-web-2026.01.01-000001": {
        "mappings": {
            "properties": {"@timestamp": {"type": "date"}, "message": {"type": "match_only_text"}}
        }
    },
}


def root(engine: str) -> dict:
    if engine == "OPENSEARCH":
        return {
            "name": "node-1",
            "cluster_name": "c",
            "tagline": "The OpenSearch Project",
            "version": {"distribution": "opensearch", "number": "2.17.1"},
        }
    return {
        "name": "node-1",
        "cluster_name": "c",
        "tagline": "You Know, for Search",
        "version": {"number": "8.15.0", "build_flavor": "default"},
    }


def cluster(engine: str, status: int = 200):
    """The documented answers of a small cluster (or `status` for every request)."""
    headers = ES_HEADERS if engine == "ELASTICSEARCH" else {}

    def answer(method, path, body):
        route = urlsplit(path).path
        if status != 200:
            return json_reply(
                status,
                {
                    "error": {"type": "security_exception", "reason": "unable to authenticate"},
                    "status": status,
                },
                headers,
            )
        if route == "/":
            return json_reply(200, root(engine), headers)
        if route == "/_cat/indices":
            return json_reply(
                200,
                [
                    {"index": "orders", "docs.count": "1200"},
                    {"index": "orders-2025", "docs.count": "3"},
                    {"index": ".kibana_1", "docs.count": "9"},
                ],
                headers,
            )
        if route == "/_cat/aliases":
            return json_reply(
                200,
                [
                    {"alias": "all-orders", "index": "orders"},
                    {"alias": "all-orders", "index": "orders-2025"},
                ],
                headers,
            )
        if route in ("/_data_stream/%2A", "/_data_stream/*"):
            return json_reply(
                200,
                {
                    "data_streams": [
                        {
                            "name": "logs-web",
                            "indices": [{"index_name": ".ds-logs-web-2026.01.01-000001"}],
                        }
                    ]
                },
                headers,
            )
        if route in ("/%2A/_mapping", "/*/_mapping"):
            return json_reply(200, MAPPINGS, headers)
        return json_reply(404, {"error": "no handler", "status": 404}, headers)

    return answer


def header(request: dict, name: str) -> str | None:
    return next((v for k, v in request["headers"].items() if k.lower() == name.lower()), None)


def raw(engine: str, **changes) -> dict:
    values = {
        "displayName": "s",
        "dialect": engine,
        "host": "127.0.0.1",
        "port": 9200,
        "username": "elastic",
        "password": "pw-never-shown",
        "sslEnabled": False,
    }
    values.update(changes)
    return values


def failure(app, values) -> tuple[ConnectionFailed, float]:
    app.config["VERIFY_TIMEOUT"] = TIMEOUT
    with app.app_context():
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            uc.verify_input(values)
    error = caught.value
    assert "pw-never-shown" not in error.detail + json.dumps(dict(error.field_errors))
    return error, time.monotonic() - started


def statuses(error: ConnectionFailed) -> dict[str, str]:
    return {s["name"]: s["status"] for s in error.steps}


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_a_name_that_does_not_exist_is_host_not_found(quick_app, engine):
    error, _ = failure(quick_app, raw(engine, host="search.example.invalid"))
    assert error.field_errors == {"host": "Host not found"}


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_a_refused_port_is_incorrect_port(quick_app, engine):
    error, _ = failure(quick_app, raw(engine, port=free_port()))
    assert error.field_errors == {"port": "Incorrect port"}
    assert statuses(error)["tcp"] == "failed"


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_a_silent_host_costs_one_deadline(quick_app, engine, silent_port):
    """request_timeout (and no retries) holds the deadline against a host that never answers."""
    error, elapsed = failure(quick_app, raw(engine, port=silent_port))
    assert statuses(error)["tcp"] == "ok"
    assert list(error.field_errors) == ["host"]
    assert "did not answer" in error.field_errors["host"]
    assert elapsed < 2 * TIMEOUT + 1.5


@contextlib.contextmanager
def hang_up_listener():
    """What an HTTPS-only node does with a plain HTTP request: reads it and closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                conn.recv(4096)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        server.close()


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_a_node_requiring_https_says_turn_ssl_on(quick_app, engine):
    with hang_up_listener() as port:
        error, _ = failure(quick_app, raw(engine, port=port))
    assert error.field_errors == {"sslEnabled": "The server may require SSL"}


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_https_against_a_plain_http_node_is_a_handshake_failure(quick_app, engine):
    with http_standin(cluster(engine)) as standin:
        error, _ = failure(quick_app, raw(engine, port=standin.port, sslEnabled=True))
    assert error.field_errors == {"sslEnabled": "TLS handshake failed"}


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_a_401_is_a_bad_login(quick_app, engine):
    with http_standin(cluster(engine, status=401)) as standin:
        error, _ = failure(quick_app, raw(engine, port=standin.port))
    assert error.field_errors == {
        "username": "Incorrect username or password",
        "password": "Incorrect username or password",
    }
    sent = header(standin.requests[0], "Authorization")
    assert sent == "Basic " + base64.b64encode(b"elastic:pw-never-shown").decode()


@needs_driver("ELASTICSEARCH")
def test_an_api_key_is_sent_as_such_and_a_401_names_it(quick_app):
    with http_standin(cluster("ELASTICSEARCH", status=401)) as standin:
        error, _ = failure(
            quick_app,
            raw(
                "ELASTICSEARCH",
                port=standin.port,
                username="",
                password="",
                apiKey="a2V5OnNlY3JldA==",
            ),
        )
    assert error.field_errors == {"apiKey": "Incorrect API key"}
    assert header(standin.requests[0], "Authorization") == "ApiKey a2V5OnNlY3JldA=="


@pytest.mark.parametrize(
    "engine, other",
    [
        pytest.param("ELASTICSEARCH", "OPENSEARCH", marks=needs_driver("ELASTICSEARCH")),
        pytest.param("OPENSEARCH", "ELASTICSEARCH", marks=needs_driver("OPENSEARCH")),
    ],
)
def test_the_other_product_is_named(quick_app, engine, other):
    with http_standin(cluster(other)) as standin:
        error, _ = failure(quick_app, raw(engine, port=standin.port))
    label = get_dialect(engine).label
    assert error.field_errors == {"host": f"Not an {label} server"}


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_verify_succeeds_pinned_with_the_typed_name(quick_app, engine):
    """`localhost` is resolved and checked by Datadock; the client is sent to that address
    while the Host header keeps the name."""
    quick_app.config["VERIFY_TIMEOUT"] = 5.0
    with http_standin(cluster(engine)) as standin, quick_app.app_context():
        result = uc.verify_input(raw(engine, host="localhost", port=standin.port))
    label = get_dialect(engine).label
    assert result.server_version == f"{label} {root(engine)['version']['number']}"
    assert [r["path"].split("?")[0] for r in standin.requests] == ["/", "/_cat/indices"]
    assert header(standin.requests[0], "Host") == f"localhost:{standin.port}"


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_indices_aliases_and_data_streams_become_tables(engine):
    dialect = get_dialect(engine)
    with http_standin(cluster(engine)) as standin:
        values = dialect.field("port").clean(standin.port)
        target = Target(
            {"host": "127.0.0.1", "port": values, "sslEnabled": False},
            "127.0.0.1",
            5.0,
            standin.port,
        )
        connection = dialect.connect(target)
        try:
            tables = list(dialect.introspect(connection))
            calls = len(standin.requests) - 1  # after GET /
            only_indices = list(dialect.introspect(connection, SchemaFilter(("indices",))))
        finally:
            connection.close()
    assert [(t.schema, t.name, t.kind, t.row_estimate) for t in tables] == [
        ("aliases", "all-orders", "view", None),
        ("data_streams", "logs-web", "table", None),
        ("indices", "orders", "table", 1200),
        ("indices", "orders-2025", "table", 3),
    ]
    stream = {c["name"]: c["type"] for c in tables[1].columns}
    assert stream == {"_id": "keyword", "@timestamp": "date", "message": "match_only_text"}
    assert [t.name for t in only_indices] == ["orders", "orders-2025"]
    # Four catalog calls for the whole cluster, not one per index.
    assert calls == 4


def test_mapping_properties_are_flattened_with_dotted_names():
    columns = mapping_columns(MAPPINGS["orders"]["mappings"])
    assert [(c["name"], c["type"]) for c in columns] == [
        ("_id", "keyword"),
        ("placed", "date"),
        ("customer", "object"),
        ("customer.name", "text"),
        ("customer.name.keyword", "keyword"),
        ("customer.address", "object"),
        ("customer.address.city", "keyword"),
        ("lines", "nested"),
        ("lines.sku", "keyword"),
        ("lines.qty", "integer"),
        ("total", "scaled_float"),
    ]
    assert columns[0]["primaryKey"] and [c["ordinal"] for c in columns] == list(range(1, 12))
    # A 6.x mapping with one type.
    assert [
        c["name"] for c in mapping_columns({"_doc": {"properties": {"a": {"type": "long"}}}})
    ] == ["_id", "a"]


def test_a_cloud_id_names_the_deployment_host():
    encoded = base64.b64encode(b"us-east-1.aws.found.io$abc123$kib456").decode()
    assert decode_cloud_id(f"my-deployment:{encoded}") == ("abc123.us-east-1.aws.found.io", 443)
    with_port = base64.b64encode(b"eu.example.io:9243$es1$kb1").decode()
    assert decode_cloud_id(f"x:{with_port}") == ("es1.eu.example.io", 9243)
    assert decode_cloud_id("not-a-cloud-id") is None


@needs_driver("ELASTICSEARCH")
def test_local_checks_fill_the_host_from_the_cloud_id_and_pair_credentials():
    dialect = get_dialect("ELASTICSEARCH")
    encoded = base64.b64encode(b"found.example.invalid$dep1$kb").decode()
    values = {"cloudId": f"d:{encoded}", "username": "elastic", "password": "x"}
    assert dialect.check_local(values) == {}
    assert (values["host"], values["port"], values["sslEnabled"]) == (
        "dep1.found.example.invalid",
        443,
        True,
    )
    assert dialect.check_local({"cloudId": "d:%%%"}) == {
        "cloudId": "Paste the Cloud ID from the deployment's page (name:…)"
    }
    assert dialect.check_local({"host": "h", "username": "u"}) == {
        "password": "Enter the password too (or neither)"
    }
    assert dialect.check_local({"host": "h", "username": "u", "password": "p", "apiKey": "k"}) == {
        "apiKey": "Use an API key or a username and password, not both"
    }
    assert get_dialect("OPENSEARCH").check_local({}) == {"host": "Enter the host"}


@pytest.mark.parametrize("engine", dialect_params(ENGINES))
def test_https_checks_the_certificate_against_the_typed_name(quick_app, engine):
    """A real TLS handshake with the stand-in: trusted with its CA pasted, refused without."""
    from tests.servers import _certificates, server_dir

    with server_dir("searchtls") as folder:
        ca, cert, key = _certificates(folder)
        with http_standin(cluster(engine), tls=(cert, key)) as standin:
            untrusted, _ = failure(
                quick_app, raw(engine, host="localhost", port=standin.port, sslEnabled=True)
            )
            quick_app.config["VERIFY_TIMEOUT"] = 5.0
            with quick_app.app_context():
                result = uc.verify_input(
                    raw(
                        engine,
                        host="localhost",
                        port=standin.port,
                        sslEnabled=True,
                        sslRootCertificate=ca.read_text(),
                    )
                )
    assert untrusted.field_errors == {"sslRootCertificate": "Certificate not trusted"}
    assert result.server_version.startswith(get_dialect(engine).label)
