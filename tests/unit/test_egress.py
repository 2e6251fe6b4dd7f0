"""Address policy: resolve once, refuse metadata/link-local/multicast, no query for .invalid."""

import pytest

from webapp.connect.egress import resolve
from webapp.connect.errors import ConnectionFailed


def test_loopback_literals_and_localhost_resolve_without_the_network():
    assert resolve("127.0.0.1", 5432, 1) == "127.0.0.1"
    assert resolve("[::1]", 5432, 1) == "::1"
    assert resolve("localhost", 5432, 1) in {"127.0.0.1", "::1"}


@pytest.mark.parametrize("host", ["169.254.169.254", "0.0.0.0", "224.0.0.1", "fd00:ec2::254",
                                  "fe80::1"])
def test_metadata_link_local_unspecified_and_multicast_are_refused(host):
    with pytest.raises(ConnectionFailed) as caught:
        resolve(host, 5432, 1)
    assert caught.value.field_errors == {"host": "This address is not allowed"}


def test_reserved_invalid_names_are_not_found_without_a_query():
    with pytest.raises(ConnectionFailed) as caught:
        resolve("db.nowhere.invalid", 5432, 1)
    assert caught.value.field_errors == {"host": "Host not found"}
    assert caught.value.step == "dns"
