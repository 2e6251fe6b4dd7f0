"""connect/targets.check_address: what engines that connect by themselves (DuckDB's
extensions) are handed. DNS is a stand-in here (a name with two answers cannot be made on
this machine without test_egress_names.py's namespace); the policy and store checks are real."""

from __future__ import annotations

import ipaddress

import pytest

from webapp.connect import egress, targets
from webapp.core.refusal import ConnectionFailed

ANSWERS = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("169.254.169.254")]


@pytest.fixture
def two_answers(monkeypatch):
    def lookup(host, port, timeout, host_field="host"):
        literal = egress.literal(host)
        return [literal] if literal is not None else list(ANSWERS)

    monkeypatch.setattr(egress, "lookup", lookup)
    monkeypatch.setattr(targets, "lookup", lookup)


def test_the_first_allowed_address_is_handed_over(app, two_answers):
    with app.app_context():
        assert targets.check_address("store.test", 443, 1.0, "s3Endpoint") == "127.0.0.1"


def test_an_engine_given_the_name_needs_every_address_allowed(app, two_answers):
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        targets.check_address("store.test", 443, 1.0, "s3Endpoint", "s3Endpoint", every=True)
    assert caught.value.field_errors == {"s3Endpoint": "This address is not allowed"}
    assert caught.value.step == "dns"


def test_the_store_is_refused_by_its_address(app):
    # Only the configured URL is read (parsed and resolved, never connected to).
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://u:p@127.0.0.1:5999/store"
    with app.app_context(), pytest.raises(ConnectionFailed) as caught:
        targets.check_address("127.0.0.1", 5999, 1.0, "attachedDatabases", "attachedDatabases")
    assert caught.value.field_errors == {"attachedDatabases": "This is Datadock's own database"}
    with app.app_context():
        assert targets.check_address("127.0.0.1", 5998, 1.0) == "127.0.0.1"
