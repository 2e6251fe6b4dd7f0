"""Host names that resolve to refused addresses, and names that answer differently the second
time (DNS rebinding). Not collected on its own: test_egress_names.py runs this file in a
private mount namespace whose /etc/hosts maps the names below and whose /etc/resolv.conf
points at the loopback DNS server this file starts (127.0.0.153:53). Every name is under
.test (RFC 6761) and every query stays on this machine: the real resolver is never asked."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.api.conftest import Api, make_org
from tests.extras import needs_driver
from tests.fixtures_app import csrf_token
from tests.integration.egress_helpers import (
    ALIAS,
    BLOCKED_NAMES,
    METADATA_NAMES,
    NOT_ALLOWED,
    SUFFIX,
    counting_listener,
)
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.extensions import db
from webapp.jobs.claims import HEALTH, claim_due
from webapp.jobs.health import run_health
from webapp.models import Organization, Source, utcnow
from webapp.records import vault

if os.environ.get("DATADOCK_TEST_RESOLVER") != "1":
    pytest.skip("runs inside test_egress_names.py's mount namespace only", allow_module_level=True)

DNS_ADDRESS = "127.0.0.153"


class RebindingDns:
    """A DNS server for `rebind-*.datadock.test`: the first A query for a name is answered
    127.0.0.1, every later one 127.0.0.9 (TTL 0); AAAA queries get no answer."""

    def __init__(self) -> None:
        self.queries: Counter[str] = Counter()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((DNS_ADDRESS, 53))
        self.sock.settimeout(0.1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            self.sock.sendto(self._answer(data), peer)

    def _answer(self, query: bytes) -> bytes:
        ident = struct.unpack(">H", query[:2])[0]
        at, labels = 12, []
        while query[at]:
            labels.append(query[at + 1 : at + 1 + query[at]].decode())
            at += 1 + query[at]
        qtype = struct.unpack(">H", query[at + 1 : at + 3])[0]
        question = query[12 : at + 5]
        name = ".".join(labels).lower()
        answers = b""
        if qtype == 1 and name.startswith("rebind-") and name.endswith(SUFFIX):
            self.queries[name] += 1
            address = "127.0.0.1" if self.queries[name] == 1 else ALIAS
            answers = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + socket.inet_aton(address)
        rcode = 0 if name.endswith(SUFFIX) else 3  # NXDOMAIN for anything else
        header = struct.pack(">HHHHHH", ident, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
        return header + question + answers

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture(scope="module")
def dns() -> Iterator[RebindingDns]:
    server = RebindingDns()
    yield server
    server.close()


@pytest.fixture
def blocked(app):
    with counting_listener() as listener:
        app.config.update(EGRESS_BLOCK=[f"{ALIAS}/32"])
        yield listener
        app.config.update(EGRESS_BLOCK=[])


def postgres(host: str, port: int) -> dict:
    return {
        "dialect": "POSTGRES",
        "host": host,
        "port": port,
        "databaseName": "app",
        "username": "reader",
        "password": "pw",
        "sslEnabled": False,
    }


def test_the_private_hosts_file_is_in_force():
    for name, address in BLOCKED_NAMES.items():
        answers = {
            ipaddress.ip_address(i[4][0])
            for i in socket.getaddrinfo(name, 1, type=socket.SOCK_STREAM)
        }
        assert answers == {ipaddress.ip_address(address)}, name


def test_names_resolving_to_a_blocked_spelling_are_refused_everywhere(app, blocked):
    org_id, key = make_org(app, "Acme", "admin@example.com")
    api = Api(app.test_client(), org_id, key)
    for name, address in BLOCKED_NAMES.items():
        error = api.post("/verify", json=postgres(name, blocked.port)).get_json()["error"]
        assert error["fieldErrors"] == {"host": NOT_ALLOWED}, name
        assert f"{name} resolves to {address}" in error["detail"]
        create = api.post(
            json={"type": "direct", "displayName": name, **postgres(name, blocked.port)}
        )
        assert create.get_json()["error"]["fieldErrors"] == {"host": NOT_ALLOWED}
    with app.app_context():  # saved before the rule: the health check sends nothing
        org = db.session.get(Organization, org_id)
        for name in BLOCKED_NAMES:
            db.session.add(
                Source(
                    organization_id=org.id,
                    display_name=f"saved {name}",
                    dialect="POSTGRES",
                    host=name,
                    port=blocked.port,
                    database_name="app",
                    username="reader",
                    ssl_enabled=False,
                    secrets_blob=vault().encrypt({"password": "pw"}),
                )
            )
        db.session.commit()
        for source_id in claim_due(HEALTH, "t", utcnow(), 60, 100):
            run_health(source_id, "t")
        db.session.expire_all()
        statuses = {s.last_health_status for s in db.session.scalars(db.select(Source))}
        assert statuses == {"UNHEALTHY"}
    assert blocked.accepted == []


def test_the_form_refuses_a_name_resolving_to_a_blocked_spelling(app, admin, blocked):
    token = csrf_token(admin, "/sources/new")
    for name in list(BLOCKED_NAMES)[:3]:
        form = {
            "csrf_token": token,
            "displayName": "F",
            **{k: str(v) for k, v in postgres(name, blocked.port).items() if k != "sslEnabled"},
        }
        htmx = admin.post("/sources/verify", data=form, headers={"HX-Request": "true"})
        assert f'id="host-error" hx-swap-oob="true">{NOT_ALLOWED}<' in htmx.get_data(as_text=True)
        plain = admin.post("/sources/new", data=form)
        assert f'id="host-error">{NOT_ALLOWED}<' in plain.get_data(as_text=True)
    assert blocked.accepted == []


def test_names_resolving_to_the_metadata_address_are_refused_by_default(quick_app):
    with quick_app.app_context():
        for name in METADATA_NAMES:
            with pytest.raises(ConnectionFailed) as caught:
                uc.verify_input({"displayName": "x", **postgres(name, 80)})
            assert caught.value.field_errors == {"host": NOT_ALLOWED}, name
            assert "cloud metadata" in caught.value.detail


@contextlib.contextmanager
def harmless_and_blocked() -> Iterator[tuple]:
    """Listeners on 127.0.0.1 and 127.0.0.9 with the same port."""
    with (
        counting_listener("127.0.0.1") as harmless,
        counting_listener(ALIAS, port=harmless.port) as blocked,
    ):
        yield harmless, blocked


ORACLE_TLS = {"databaseName": "FREEPDB1", "username": "app", "password": "pw", "sslEnabled": True}
DATABRICKS = {
    "databricksHttpPath": "/sql/1.0/warehouses/1234567890abcdef",
    "password": "dapi0123456789abcdef0123456789abcdef",
}


def rebind_verify(app, dialect: str, more: dict, harmless) -> ConnectionFailed:
    """Verify a rebinding name with 127.0.0.9 blocked; the name's first answer is harmless."""
    name = f"rebind-{dialect.lower()}{SUFFIX}"
    app.config.update(EGRESS_BLOCK=[f"{ALIAS}/32"], VERIFY_TIMEOUT=2.0)
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        uc.verify_input(
            {"displayName": "x", "dialect": dialect, "host": name, "port": harmless.port, **more}
        )
    steps = {s["name"]: s["status"] for s in caught.value.steps}
    assert steps["dns"] == "ok" and steps["tcp"] == "ok"  # the check saw 127.0.0.1
    # The control: the name does rebind, so any later look-up answers the blocked alias.
    answers = {i[4][0] for i in socket.getaddrinfo(name, 1, type=socket.SOCK_STREAM)}
    assert answers == {ALIAS}
    return caught.value


@needs_driver("ORACLE")
def test_oracle_over_tls_looks_the_name_up_again_and_is_stopped_before_connecting(quick_app, dns):
    """python-oracledb (thin, TCPS) is given the name for its certificate check and resolves
    it again itself: the second answer (127.0.0.9) is checked before any connection."""
    with harmless_and_blocked() as (harmless, blocked):
        failure = rebind_verify(quick_app, "ORACLE", ORACLE_TLS, harmless)
        assert failure.field_errors == {"host": NOT_ALLOWED}
        assert f"stopped the driver from connecting to {ALIAS}:" in failure.detail
        assert dns.queries[f"rebind-oracle{SUFFIX}"] == 3  # check, driver, control
        assert blocked.accepted == []
        assert len(harmless.accepted) == 1  # the TCP probe only


@needs_driver("DATABRICKS")
def test_databricks_connects_to_the_checked_address_without_a_second_look_up(quick_app, dns):
    """The connector is given the name (TLS, Host header); its connections go to the address
    Datadock checked, and it never resolves the name itself."""
    with harmless_and_blocked() as (harmless, blocked):
        failure = rebind_verify(quick_app, "DATABRICKS", DATABRICKS, harmless)
        assert failure.field_errors.get("host") != NOT_ALLOWED
        assert dns.queries[f"rebind-databricks{SUFFIX}"] == 2  # check, control
        assert harmless.wait_for(2)  # the TCP probe, then the connector itself
        assert blocked.accepted == []
