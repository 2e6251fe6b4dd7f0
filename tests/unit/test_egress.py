"""Address policy: resolve once, refuse metadata/link-local/multicast, no query for .invalid."""

import pytest

from webapp.connect.egress import resolve
from webapp.connect.errors import ConnectionFailed


def test_loopback_literals_and_localhost_resolve_without_the_network():
    assert resolve("127.0.0.1", 5432, 1) == "127.0.0.1"
    assert resolve("[::1]", 5432, 1) == "::1"
    assert resolve("localhost", 5432, 1) in {"127.0.0.1", "::1"}


@pytest.mark.parametrize(
    "host", ["169.254.169.254", "0.0.0.0", "224.0.0.1", "fd00:ec2::254", "fe80::1"]
)
def test_metadata_link_local_unspecified_and_multicast_are_refused(host):
    with pytest.raises(ConnectionFailed) as caught:
        resolve(host, 5432, 1)
    assert caught.value.field_errors == {"host": "This address is not allowed"}


def test_reserved_invalid_names_are_not_found_without_a_query():
    with pytest.raises(ConnectionFailed) as caught:
        resolve("db.nowhere.invalid", 5432, 1)
    assert caught.value.field_errors == {"host": "Host not found"}
    assert caught.value.step == "dns"


def test_operator_blocked_networks_are_refused_and_allowed_ones_win(app):
    with app.app_context():
        app.config.update(EGRESS_BLOCK=["127.0.0.0/8"], EGRESS_ALLOW=[])
        with pytest.raises(ConnectionFailed) as caught:
            resolve("127.0.0.1", 5432, 1)
        assert caught.value.field_errors == {"host": "This address is not allowed"}
        assert "DATADOCK_EGRESS_BLOCK" in caught.value.detail
        # An allowed network wins over a blocked one, even over the built-in metadata block.
        app.config.update(
            EGRESS_BLOCK=["127.0.0.0/8"], EGRESS_ALLOW=["127.0.0.1/32", "169.254.169.254/32"]
        )
        assert resolve("127.0.0.1", 5432, 1) == "127.0.0.1"
        assert resolve("169.254.169.254", 80, 1) == "169.254.169.254"


def test_a_blocked_address_stops_verify_before_any_connection(app):
    from webapp import sources

    app.config.update(EGRESS_BLOCK=["127.0.0.0/8"])
    values = {
        "displayName": "x",
        "dialect": "POSTGRES",
        "host": "127.0.0.1",
        "port": 1,
        "databaseName": "d",
        "username": "u",
        "password": "p",
        "sslEnabled": False,
    }
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        sources.verify_input(values)
    steps = {s["name"]: s["status"] for s in caught.value.steps}
    assert steps["dns"] == "failed" and steps["tcp"] == "not_run"


def test_malformed_operator_networks_stop_the_start(monkeypatch, tmp_path):
    from webapp.config import ConfigError, load_config

    monkeypatch.setenv("DATADOCK_EGRESS_BLOCK", "10.0.0.0/8, not-a-network")
    with pytest.raises(ConfigError, match="not-a-network"):
        load_config(str(tmp_path))


def test_timeouts_name_the_outbound_address_when_configured(app, silent_port):
    from webapp import sources

    app.config.update(OUTBOUND_ADDRESS="203.0.113.7", VERIFY_TIMEOUT=1.0)
    values = {
        "displayName": "x",
        "dialect": "POSTGRES",
        "host": "127.0.0.1",
        "port": silent_port,
        "databaseName": "d",
        "username": "u",
        "password": "p",
        "sslEnabled": False,
    }
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        sources.verify_input(values)
    assert "203.0.113.7" in caught.value.detail and "firewall" in caught.value.detail
