"""Throwaway servers for tests: PostgreSQL clusters and a silent listener, loopback only."""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SCHEMA_SQL = """
CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id),
                            total numeric(10,2), created_at timestamptz DEFAULT now());
CREATE VIEW public.big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE SCHEMA analytics;
CREATE TABLE analytics.events (id bigint PRIMARY KEY, payload jsonb);
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError(f"PostgreSQL binary {name} not found under /usr/lib/postgresql")
    return found[-1]


def _as_postgres() -> dict:
    """initdb and postgres refuse to run as root: as root, run them as the postgres user."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class PgServer:
    """A running throwaway cluster and the test login it holds."""

    host: str
    port: int
    superuser: str
    superpassword: str
    user: str
    password: str
    database: str
    data_dir: Path
    ca_cert_path: Path | None
    process: subprocess.Popen

    def superuser_dsn(self, dbname: str = "postgres") -> str:
        """A conninfo for the superuser over TCP."""
        return psycopg.conninfo.make_conninfo(
            host=self.host, port=self.port, user=self.superuser, password=self.superpassword,
            dbname=dbname, sslmode="prefer")

    def stop(self) -> None:
        """Stop the server at once and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends open sessions
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A self-signed CA and a server certificate for localhost / 127.0.0.1."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Datadock test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    for path in (ca_path, cert_path, key_path):
        _chown(path)
    return ca_path, cert_path, key_path


@contextlib.contextmanager
def server_dir(prefix: str) -> Iterator[Path]:
    """A folder the postgres user can reach (pytest's own temp folders are private to root)."""
    path = Path(tempfile.mkdtemp(prefix=f"datadock-{prefix}-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def throwaway_postgres(base_dir: Path, *, ssl: bool, ssl_only: bool = False
                       ) -> Iterator[PgServer]:
    """Start a cluster with scram-sha-256 password auth on a free loopback port."""
    base_dir.mkdir(parents=True, exist_ok=True)
    _chown(base_dir)
    base_dir.chmod(0o755)
    data, sockets = base_dir / "data", base_dir / "sock"
    sockets.mkdir(exist_ok=True)
    _chown(sockets)
    superpassword = secrets.token_urlsafe(16)
    pwfile = base_dir / "pwfile"
    pwfile.write_text(superpassword + "\n")
    _chown(pwfile)
    initdb = subprocess.run([
        _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth-host=scram-sha-256",
        "--auth-local=trust", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8",
        "--no-sync"], capture_output=True, text=True, timeout=120, **_as_postgres())
    if initdb.returncode:
        raise RuntimeError(f"initdb failed: {initdb.stderr[-2000:]}")
    hba = ["local all all trust"]
    if ssl_only:
        hba += ["hostssl all all 127.0.0.1/32 scram-sha-256",
                "hostnossl all all 0.0.0.0/0 reject"]
    else:
        hba += ["host all all 127.0.0.1/32 scram-sha-256"]
    (data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
    ca_path = None
    args = [_pg_bin("postgres"), "-D", str(data), "-p", str(port := free_port()),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={sockets}",
            "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
            "-c", "max_connections=200", "-c", "max_locks_per_transaction=256"]
    if ssl:
        ca_path, cert, key = _certificates(base_dir)
        args += ["-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}"]
    log = (base_dir / "postgres.log").open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **_as_postgres())
    server = PgServer("127.0.0.1", port, "postgres", superpassword, "datadock_test",
                      "correct-horse-battery", "appdb", data, ca_path, process)
    try:
        _wait_ready(server, base_dir / "postgres.log")
        with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {server.user} LOGIN PASSWORD '{server.password}'")
            conn.execute(f"CREATE DATABASE {server.database} OWNER {server.user}")
        with psycopg.connect(server.superuser_dsn(server.database), autocommit=True) as conn:
            conn.execute(f"SET ROLE {server.user}")
            conn.execute(SCHEMA_SQL)
        yield server
    finally:
        server.stop()
        log.close()


def _wait_ready(server: PgServer, log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(server.superuser_dsn(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    "PostgreSQL did not start:\n" + log.read_text()[-3000:]) from None
            time.sleep(0.05)


@contextlib.contextmanager
def silent_listener() -> Iterator[tuple[str, int]]:
    """A loopback listener that accepts connections and never answers: an unresponsive host."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        listener.close()
