"""Shared fixtures: the app (tests/fixtures_app.py) and throwaway servers (below)."""

from collections.abc import Iterator

import pytest

from tests.servers import (
    MariaDbServer,
    PgServer,
    SshServer,
    server_dir,
    silent_listener,
    throwaway_mariadb,
    throwaway_postgres,
    throwaway_sshd,
)

pytest_plugins = ["tests.fixtures_app"]


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """PostgreSQL with SSL available and password auth (the default server)."""
    with server_dir("pg") as base, throwaway_postgres(base, ssl=True) as server:
        yield server


@pytest.fixture(scope="session")
def pg_ssl_only() -> Iterator[PgServer]:
    """PostgreSQL that refuses unencrypted connections."""
    with server_dir("pgssl") as base, throwaway_postgres(base, ssl=True, ssl_only=True) as server:
        yield server


@pytest.fixture(scope="session")
def pg_nossl() -> Iterator[PgServer]:
    """PostgreSQL without SSL."""
    with server_dir("pgplain") as base, throwaway_postgres(base, ssl=False) as server:
        yield server


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """A real OpenSSH server on loopback: a login user with a password for this session only,
    two host keys (Ed25519, RSA) and client keys of every supported type and format."""
    with server_dir("ssh") as base, throwaway_sshd(base) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDbServer]:
    """MariaDB without TLS, password logins, a schema with views, FKs and odd names."""
    with server_dir("mariadb") as base, throwaway_mariadb(base) as server:
        yield server


@pytest.fixture(scope="session")
def mariadb_tls() -> Iterator[MariaDbServer]:
    """MariaDB with a certificate from the test CA that refuses unencrypted connections."""
    with server_dir("mariadbtls") as base, throwaway_mariadb(base, tls=True) as server:
        yield server


@pytest.fixture
def silent_port() -> Iterator[int]:
    """The port of a loopback listener that accepts and never answers."""
    with silent_listener() as (_, port):
        yield port
