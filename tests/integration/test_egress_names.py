"""Host names that resolve to refused addresses, and DNS rebinding after the check, through the
real system resolver (glibc's getaddrinfo): resolver_names.py runs in a private mount namespace
(`unshare --mount`) where /etc/hosts maps test names to every spelling of the blocked alias and
of the metadata address, and /etc/resolv.conf points at a loopback DNS server that answers a
harmless address first and the blocked one after. Nothing of the machine's own resolver
configuration is changed, and no query leaves the machine (every name is under .test)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.egress_helpers import hosts_lines

INNER = Path(__file__).with_name("resolver_names.py")
MOUNT = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'


def test_names_and_rebinding_through_the_system_resolver(tmp_path):
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.fail("needs unshare(1) and root for a private mount namespace")
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n" + hosts_lines())
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.153\noptions timeout:1 attempts:1\n")
    command = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        MOUNT,
        "sh",
        str(hosts),
        str(resolv),
        sys.executable,
        "-m",
        "pytest",
        "-q",
        str(INNER),
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "DATADOCK_TEST_RESOLVER": "1"},
        cwd=Path(__file__).parents[2],
    )
    print(result.stdout[-4000:], result.stderr[-2000:])
    assert result.returncode == 0, "the tests in the private namespace failed (output above)"
    assert " passed" in result.stdout and "failed" not in result.stdout
