"""The pin that keeps name-taking drivers (Oracle over TCPS, Databricks) on checked addresses:
what each connection a driver asks for becomes, without opening any."""

from __future__ import annotations

import pytest

from webapp.connect.store_guard import connection_guard
from webapp.dialects.pinning import Pin, PinRefused, pin_refusal


def test_the_name_goes_to_the_checked_address_and_other_names_are_refused(quick_app):
    with quick_app.app_context():
        pin = Pin("db.example.com", "127.0.0.1", 1521, any_port=True, guard=connection_guard())
    assert pin.target("DB.example.com.", 1521) == "127.0.0.1"
    assert pin.target("db.example.com", 1600) == "127.0.0.1"  # a dispatcher port
    with pytest.raises(PinRefused, match="did not check"):
        pin.target("elsewhere.example.com", 1521)


def test_an_address_the_driver_resolved_itself_is_checked_again(quick_app):
    quick_app.config.update(EGRESS_BLOCK=["127.0.0.9/32"])
    try:
        with quick_app.app_context():
            pin = Pin("db.example.com", "127.0.0.1", 1521, guard=connection_guard())
    finally:
        quick_app.config.update(EGRESS_BLOCK=[])
    # Another allowed answer (a round-robin name) is fine; a refused one never is.
    assert pin.target("127.0.0.2", 1521) == "127.0.0.2"
    for refused in ("127.0.0.9", "::ffff:127.0.0.9", "169.254.169.254", "::ffff:169.254.169.254"):
        with pytest.raises(PinRefused) as caught:
            pin.target(refused, 1521)
        assert "an address Datadock does not connect to" in caught.value.reason
    # The guard is a snapshot: it still holds once the app context is gone.
    with pytest.raises(PinRefused):
        pin.target("127.0.0.9", 1521)


def test_without_a_guard_only_the_checked_address_and_port_are_reachable():
    tunnel = Pin("127.0.0.1", "127.0.0.1", 40000)
    assert tunnel.target("127.0.0.1", 40000) == "127.0.0.1"
    for host, port in (("127.0.0.1", 40001), ("127.0.0.2", 40000), ("db.internal", 40000)):
        with pytest.raises(PinRefused):
            tunnel.target(host, port)


def test_a_refusal_is_found_inside_a_driver_error():
    refused = PinRefused("127.0.0.9:1521", "blocked")
    try:
        try:
            raise refused
        except PinRefused as exc:
            raise RuntimeError("driver wrapper", ValueError("nested")) from exc
    except RuntimeError as wrapped:
        assert pin_refusal(wrapped) is refused
    assert pin_refusal(RuntimeError("unrelated")) is None
