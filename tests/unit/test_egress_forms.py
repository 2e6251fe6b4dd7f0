"""Every way of writing a refused address is refused: IPv4-mapped, -compatible, SIIT, NAT64
(well-known and local-use), 6to4 and Teredo spellings are checked as the IPv4 address they
carry; loopback is refused in production unless allowed. No connection is made here: these
are the policy's answers (the entry-point tests prove nothing is sent)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.integration.egress_helpers import spellings
from webapp.connect.egress import Policy, embedded_ipv4, resolve
from webapp.connect.errors import ConnectionFailed

NOT_ALLOWED = {"host": "This address is not allowed"}


METADATA = ["169.254.169.254", *spellings("169.254.169.254"), "fd00:ec2::254"]


@pytest.mark.parametrize("spelling", METADATA)
def test_the_metadata_address_is_refused_by_default_in_every_spelling(quick_app, spelling):
    with quick_app.app_context(), pytest.raises(ConnectionFailed) as caught:
        resolve(spelling, 80, 1)
    assert caught.value.field_errors == NOT_ALLOWED
    assert caught.value.step == "dns"
    assert "link-local or cloud metadata" in caught.value.detail
    if spelling.startswith(("::", "[", "0000", "64:", "2002", "2001")):
        assert "169.254.169.254, carried inside this IPv6 address" in caught.value.detail


# A local-use NAT64 address whose guessed IPv4 parts are all zero is padding, not 0.0.0.0
# (and a translator is another machine): it is left out here on purpose.
@pytest.mark.parametrize(
    "spelling", [s for s in spellings("0.0.0.0") if not s.startswith("64:ff9b:1:")]
)
def test_this_host_is_refused_in_every_spelling(quick_app, spelling):
    """`::ffff:0.0.0.0` reached the server itself."""
    with quick_app.app_context(), pytest.raises(ConnectionFailed) as caught:
        resolve(spelling, 80, 1)
    assert caught.value.field_errors == NOT_ALLOWED


def test_embedded_addresses_are_read_from_each_translation_prefix():
    target = ipaddress.IPv4Address("127.0.0.9")
    for spelling in [s for s in spellings("127.0.0.9") if ":" in s]:
        assert target in embedded_ipv4(ipaddress.ip_address(spelling.strip("[]"))), spelling
    # Plain addresses carry nothing; ::1 and :: are not IPv4-compatible spellings.
    for plain in ("127.0.0.9", "::1", "::", "2001:db8::1", "fe80::1"):
        assert embedded_ipv4(ipaddress.ip_address(plain)) == []


def test_an_operator_block_covers_every_spelling_and_nothing_else(quick_app):
    quick_app.config.update(EGRESS_BLOCK=["127.0.0.9/32"], EGRESS_ALLOW=[])
    try:
        with quick_app.app_context():
            for spelling in ["127.0.0.9", *spellings("127.0.0.9"), "127.0.9"]:
                with pytest.raises(ConnectionFailed) as caught:
                    resolve(spelling, 5432, 1)
                assert caught.value.field_errors == NOT_ALLOWED, spelling
                assert "DATADOCK_EGRESS_BLOCK" in caught.value.detail
            assert resolve("127.0.0.1", 5432, 1) == "127.0.0.1"
            assert resolve("::1", 5432, 1) == "::1"
            # A mapped answer is connected to as the IPv4 address it is.
            assert resolve("::ffff:127.0.0.1", 5432, 1) == "127.0.0.1"
    finally:
        quick_app.config.update(EGRESS_BLOCK=[], EGRESS_ALLOW=[])


def test_an_allow_rule_wins_only_for_the_form_it_names():
    nat64 = Policy(allow=(ipaddress.ip_network("64:ff9b::/96"),))
    # The operator's NAT64 network is allowed, but not as a way to the metadata address.
    assert nat64.refusal(ipaddress.ip_address("64:ff9b::a00:1")) is None
    assert nat64.refusal(ipaddress.ip_address("64:ff9b::a9fe:a9fe")) is not None
    metadata = Policy(allow=(ipaddress.ip_network("169.254.169.254/32"),))
    assert metadata.refusal(ipaddress.ip_address("::ffff:169.254.169.254")) is None


def test_operator_networks_written_ipv4_mapped_cover_the_ipv4_addresses(quick_app):
    quick_app.config.update(EGRESS_BLOCK=["::ffff:127.0.0.0/120"])
    try:
        with quick_app.app_context(), pytest.raises(ConnectionFailed):
            resolve("127.0.0.5", 5432, 1)
    finally:
        quick_app.config.update(EGRESS_BLOCK=[])


LOOPBACK = [
    "127.0.0.1",
    "127.1",
    "localhost",
    "[::1]",
    "::1",
    "::ffff:127.0.0.1",
    "::127.0.0.1",
    "2130706433",
    "127.5.6.7",
]


def test_production_refuses_loopback_unless_the_operator_allows_it(quick_app):
    try:
        quick_app.config.update(DATADOCK_PRODUCTION=True, EGRESS_ALLOW=[])
        with quick_app.app_context():
            for spelling in LOOPBACK:
                with pytest.raises(ConnectionFailed) as caught:
                    resolve(spelling, 5432, 1)
                assert caught.value.field_errors == NOT_ALLOWED, spelling
                assert "loopback, refused in production" in caught.value.detail
        quick_app.config.update(EGRESS_ALLOW=["127.0.0.0/8", "::1/128"])
        with quick_app.app_context():
            assert {resolve(s, 5432, 1) for s in LOOPBACK} == {
                "127.0.0.1",
                "::1",
                "127.5.6.7",
                "::7f00:1",
            }
            # Allowing loopback does not open the metadata address.
            with pytest.raises(ConnectionFailed):
                resolve("::ffff:169.254.169.254", 80, 1)
    finally:
        quick_app.config.update(DATADOCK_PRODUCTION=False, EGRESS_ALLOW=[])
    with quick_app.app_context():  # development: local databases and the demo work
        assert resolve("127.1", 5432, 1) == "127.0.0.1"
        assert resolve("[::1]", 5432, 1) == "::1"
