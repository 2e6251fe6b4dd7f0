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
from collections.abc import Callable, Iterator
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
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4])
    )
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
            host=self.host,
            port=self.port,
            user=self.superuser,
            password=self.superpassword,
            dbname=dbname,
            sslmode="prefer",
        )

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
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
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
def throwaway_postgres(base_dir: Path, *, ssl: bool, ssl_only: bool = False) -> Iterator[PgServer]:
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
    initdb = subprocess.run(
        [
            _pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        **_as_postgres(),
    )
    if initdb.returncode:
        raise RuntimeError(f"initdb failed: {initdb.stderr[-2000:]}")
    hba = ["local all all trust"]
    if ssl_only:
        hba += ["hostssl all all 127.0.0.1/32 scram-sha-256", "hostnossl all all 0.0.0.0/0 reject"]
    else:
        hba += ["host all all 127.0.0.1/32 scram-sha-256"]
    (data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
    ca_path = None
    args = [
        _pg_bin("postgres"),
        "-D",
        str(data),
        "-p",
        str(port := free_port()),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        f"unix_socket_directories={sockets}",
        "-c",
        "fsync=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "max_connections=200",
        "-c",
        "max_locks_per_transaction=256",
    ]
    if ssl:
        ca_path, cert, key = _certificates(base_dir)
        args += ["-c", "ssl=on", "-c", f"ssl_cert_file={cert}", "-c", f"ssl_key_file={key}"]
    log = (base_dir / "postgres.log").open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **_as_postgres())
    server = PgServer(
        "127.0.0.1",
        port,
        "postgres",
        superpassword,
        "datadock_test",
        "correct-horse-battery",
        "appdb",
        data,
        ca_path,
        process,
    )
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
                    "PostgreSQL did not start:\n" + log.read_text()[-3000:]
                ) from None
            time.sleep(0.05)


class SilentAddress(tuple[str, int]):
    """A silent listener's (host, port); `hang_up()` closes the connections it accepted so far
    (their clients see the connection end, so a verify held on one ends at once)."""

    hang_up: Callable[[], None]


@contextlib.contextmanager
def silent_listener() -> Iterator[SilentAddress]:
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

    def hang_up() -> None:
        for conn in list(accepted):
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    address = SilentAddress(listener.getsockname())
    address.hang_up = hang_up
    try:
        yield address
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        listener.close()


# --- A throwaway sshd (OpenSSH) on loopback, with password and key logins -----------------------

SSHD = "/usr/sbin/sshd"


@dataclass
class SshKey:
    """A client key as a user would paste it: the private text, its passphrase, its public line."""

    name: str  # e.g. "ed25519-openssh" or "rsa-pkcs8-passphrase"
    private: str
    passphrase: str | None
    public: str  # the authorized_keys line


@dataclass
class SshServer:
    """A running throwaway sshd, the login user it accepts and the keys it knows."""

    host: str
    port: int
    user: str
    password: str
    # Host keys: known_hosts lines ("[127.0.0.1]:port ssh-ed25519 AAAA…") and fingerprints
    # ("SHA256:…", as `ssh-keygen -lf` prints them), by key type ("ed25519", "rsa").
    known_hosts: dict[str, str]
    fingerprints: dict[str, str]
    keys: dict[str, SshKey]  # authorized client keys, by name
    unauthorized_key: SshKey  # a valid key that is not in authorized_keys
    log_path: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Stop sshd (and with it every session it still serves)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _keygen(path: Path, kind: str, fmt: str, passphrase: str | None) -> None:
    bits = ["-b", "2048"] if kind == "rsa" else []
    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            *bits,
            "-m",
            fmt,
            "-N",
            passphrase or "",
            "-C",
            f"datadock-test-{path.name}",
            "-f",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _ed25519_pkcs8(path: Path, passphrase: str | None) -> None:
    """An Ed25519 key in PKCS#8 PEM, as `openssl genpkey` writes it (ssh-keygen cannot)."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    Path(f"{path}.pub").write_text(public.decode() + " datadock-test\n")


# name: (ssh-keygen type, format, encrypted). "PEM" is the traditional "BEGIN RSA/EC PRIVATE KEY".
CLIENT_KEYS = {
    "rsa-openssh": ("rsa", "RFC4716", False),
    "rsa-pem": ("rsa", "PEM", False),
    "rsa-pkcs8": ("rsa", "PKCS8", False),
    "ed25519-openssh": ("ed25519", "RFC4716", False),
    "ed25519-pkcs8": ("ed25519", "PKCS8", False),
    "ecdsa-openssh": ("ecdsa", "RFC4716", False),
    "ecdsa-pem": ("ecdsa", "PEM", False),
    "ecdsa-pkcs8": ("ecdsa", "PKCS8", False),
    "rsa-openssh-passphrase": ("rsa", "RFC4716", True),
    "ed25519-openssh-passphrase": ("ed25519", "RFC4716", True),
    "ecdsa-pem-passphrase": ("ecdsa", "PEM", True),
    "rsa-pkcs8-passphrase": ("rsa", "PKCS8", True),
}
KEY_PASSPHRASE = "open sesame 42"


def _client_key(folder: Path, name: str, kind: str, fmt: str, encrypted: bool) -> SshKey:
    path = folder / name
    passphrase = KEY_PASSPHRASE if encrypted else None
    if kind == "ed25519" and fmt == "PKCS8":
        _ed25519_pkcs8(path, passphrase)
    else:
        _keygen(path, kind, fmt, passphrase)
    return SshKey(name, path.read_text(), passphrase, Path(f"{path}.pub").read_text().strip())


def _fingerprint(public_line: str) -> str:
    """SHA256:… of an OpenSSH public key line, as `ssh-keygen -lf` prints it."""
    import base64
    import hashlib

    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _tunnel_user() -> tuple[str, str]:
    """A login user for this session only: its own name, a random password, expiring tomorrow.

    sshd running as root with UsePAM no checks the password in /etc/shadow, so the user must be
    real. A name per session keeps concurrent test runs from changing each other's password;
    the account expires by itself should a run die before removing it.
    """
    if os.geteuid() != 0:
        raise RuntimeError("the sshd fixture creates a login user: run the tests as root")
    user = f"datadock-tunnel-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    expires = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            "--expiredate",
            expires,
            user,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    subprocess.run(
        ["chpasswd"],
        input=f"{user}:{password}\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=30,
    )
    return user, password


def _remove_user(user: str) -> None:
    subprocess.run(["userdel", "--force", user], capture_output=True, timeout=30)


SSHD_CONFIG = """\
ListenAddress 127.0.0.1
HostKey {folder}/host_ed25519
HostKey {folder}/host_rsa
PidFile {folder}/sshd.pid
AuthorizedKeysFile {folder}/authorized_keys
AllowUsers {user}
PermitRootLogin no
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowTcpForwarding yes
# Tunnels may only reach this machine: no test can send traffic anywhere else through it.
PermitOpen 127.0.0.1:* localhost:*
X11Forwarding no
AllowAgentForwarding no
PermitTTY no
StrictModes no
PrintMotd no
LogLevel VERBOSE
"""


@contextlib.contextmanager
def throwaway_sshd(base_dir: Path) -> Iterator[SshServer]:
    """Start sshd on a free loopback port with a per-session login user and client keys."""
    folder = base_dir
    folder.mkdir(parents=True, exist_ok=True)
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege separation folder
    for kind in ("ed25519", "rsa"):
        _keygen(folder / f"host_{kind}", kind, "RFC4716", None)
    keys = {name: _client_key(folder, name, *spec) for name, spec in CLIENT_KEYS.items()}
    stranger = _client_key(folder, "stranger-ed25519", "ed25519", "RFC4716", False)
    (folder / "authorized_keys").write_text("".join(k.public + "\n" for k in keys.values()))
    user, password = _tunnel_user()
    try:
        config = folder / "sshd_config"
        config.write_text(SSHD_CONFIG.format(folder=folder, user=user))
        port = free_port()
        log_path = folder / "sshd.log"
        process = subprocess.Popen(
            [SSHD, "-D", "-f", str(config), "-p", str(port), "-E", str(log_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        publics = {
            kind: (folder / f"host_{kind}.pub").read_text().split()[:2]
            for kind in ("ed25519", "rsa")
        }
        server = SshServer(
            "127.0.0.1",
            port,
            user,
            password,
            known_hosts={k: f"[127.0.0.1]:{port} {t} {b}" for k, (t, b) in publics.items()},
            fingerprints={k: _fingerprint(f"{t} {b}") for k, (t, b) in publics.items()},
            keys=keys,
            unauthorized_key=stranger,
            log_path=log_path,
            process=process,
        )
        try:
            _wait_sshd(server, folder / "sshd.pid")
            yield server
        finally:
            server.stop()
    finally:
        _remove_user(user)


def _wait_sshd(server: SshServer, pid_file: Path) -> None:
    """Until sshd has written its PID and answers with its SSH banner."""
    deadline = time.monotonic() + 20
    while True:
        try:
            if pid_file.exists() and int(pid_file.read_text()) == server.process.pid:
                with socket.create_connection((server.host, server.port), timeout=2) as s:
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return
        except (OSError, ValueError):
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            log = server.log_path.read_text() if server.log_path.exists() else ""
            raise RuntimeError(f"sshd did not start:\n{log[-3000:]}")
        time.sleep(0.05)


# --- A throwaway MariaDB on loopback, with password logins ------------------------------------

MARIADB_SCHEMA = [
    "CREATE DATABASE appdb CHARACTER SET utf8mb4",
    "CREATE DATABASE analytics CHARACTER SET utf8mb4",
    "CREATE DATABASE scratch",
    "CREATE DATABASE secretdb",
    """CREATE TABLE appdb.customers (id INT AUTO_INCREMENT PRIMARY KEY,
         name VARCHAR(100) NOT NULL, email VARCHAR(255) NULL,
         status VARCHAR(10) NOT NULL DEFAULT 'active')""",
    """CREATE TABLE appdb.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT,
         total DECIMAL(10,2), created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
         CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES appdb.customers(id))""",
    """CREATE TABLE appdb.order_lines (order_id BIGINT NOT NULL, line_no INT NOT NULL,
         product VARCHAR(50), PRIMARY KEY (order_id, line_no),
         CONSTRAINT fk_lines_order FOREIGN KEY (order_id) REFERENCES appdb.orders(id))""",
    """CREATE TABLE appdb.line_notes (id INT PRIMARY KEY, order_id BIGINT NOT NULL,
         line_no INT NOT NULL, note TEXT,
         CONSTRAINT fk_notes_line FOREIGN KEY (order_id, line_no)
           REFERENCES appdb.order_lines(order_id, line_no))""",
    "CREATE VIEW appdb.big_orders AS SELECT id, total FROM appdb.orders WHERE total > 100",
    """CREATE TABLE appdb.`we"ird 'tåble``s` (`spa ced col` INT PRIMARY KEY,
         `ünï"cödé` VARCHAR(10) DEFAULT 'x')""",
    "CREATE TABLE appdb.infile_target (line TEXT)",
    "INSERT INTO appdb.customers (name) VALUES ('ann'), ('bob'), ('cy')",
    "ANALYZE TABLE appdb.customers",
    """CREATE TABLE analytics.events (id BIGINT PRIMARY KEY, customer_id INT, payload JSON,
         CONSTRAINT fk_events_customer FOREIGN KEY (customer_id) REFERENCES appdb.customers(id))""",
    "CREATE TABLE scratch.tmp (x INT)",
    "CREATE TABLE secretdb.hidden (x INT)",
]


@dataclass
class MariaDbServer:
    """A running throwaway MariaDB and its logins: `user` may use appdb, analytics and scratch
    (not secretdb); `wide_user` may read every database (so an unknown one is error 1049)."""

    host: str
    port: int
    user: str
    password: str
    database: str
    wide_user: str
    wide_password: str
    socket_path: Path
    ca_cert_path: Path | None
    log_path: Path
    process: subprocess.Popen
    # With TLS: `x509_user` (password `password`) must also present a client certificate signed
    # by the client CA; its PEM certificate and key, and a key that does not belong to it.
    x509_user: str = "datadock_x509"
    client_cert: str = ""
    client_key: str = ""
    stranger_key: str = ""

    def admin(self, database: str | None = None):
        """A root connection over the Unix socket (autocommit)."""
        import pymysql

        return pymysql.connect(
            unix_socket=str(self.socket_path),
            user="root",
            password="",
            database=database,
            autocommit=True,
            connect_timeout=5,
            read_timeout=30,
            write_timeout=30,
        )

    def stop(self) -> None:
        """Shut the server down and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextlib.contextmanager
def throwaway_mariadb(base_dir: Path, *, tls: bool = False) -> Iterator[MariaDbServer]:
    """Start MariaDB on a free loopback port with password logins and the test schema.

    `tls`: a server certificate from the test CA, and require_secure_transport=ON.
    """
    data, sock = base_dir / "data", base_dir / "mysqld.sock"
    install = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if install.returncode:
        raise RuntimeError(f"mariadb-install-db failed: {install.stderr[-2000:]}")
    log_path, port = base_dir / "mariadb.log", free_port()
    args = [
        "mariadbd",
        "--no-defaults",
        f"--datadir={data}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={sock}",
        f"--pid-file={base_dir}/mysqld.pid",
        f"--log-error={log_path}",
        "--user=root",
        "--skip-name-resolve",
        "--innodb-buffer-pool-size=32M",
        "--innodb-flush-log-at-trx-commit=0",
        "--max-connections=200",
    ]
    ca_path = None
    client: dict[str, str] = {}
    if tls:
        ca_path, cert, key = _certificates(base_dir)
        client_ca, client = _client_certificates(base_dir)
        args += [
            f"--ssl-cert={cert}",
            f"--ssl-key={key}",
            f"--ssl-ca={client_ca}",
            "--require-secure-transport=ON",
        ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = MariaDbServer(
        "127.0.0.1",
        port,
        "datadock_test",
        "correct-horse-battery",
        "appdb",
        "datadock_wide",
        "wide-open-sesame",
        sock,
        ca_path,
        log_path,
        process,
        **client,
    )
    try:
        _wait_mariadb(server)
        with contextlib.closing(server.admin()) as conn, conn.cursor() as cur:
            # mariadb-install-db may create anonymous users that shadow 'user'@'%'.
            cur.execute("SELECT user, host FROM mysql.user WHERE user = ''")
            for _, host in cur.fetchall():
                cur.execute("DROP USER ''@%s", (host,))
            for statement in MARIADB_SCHEMA:
                cur.execute(statement)
            cur.execute(f"CREATE USER '{server.user}'@'%' IDENTIFIED BY '{server.password}'")
            for database in ("appdb", "analytics", "scratch"):
                cur.execute(f"GRANT ALL ON {database}.* TO '{server.user}'@'%'")
            cur.execute(
                f"CREATE USER '{server.wide_user}'@'%' IDENTIFIED BY '{server.wide_password}'"
            )
            cur.execute(f"GRANT SELECT ON *.* TO '{server.wide_user}'@'%'")
            if tls:
                cur.execute(
                    f"CREATE USER '{server.x509_user}'@'%' IDENTIFIED BY "
                    f"'{server.password}' REQUIRE X509"
                )
                cur.execute(f"GRANT ALL ON appdb.* TO '{server.x509_user}'@'%'")
        yield server
    finally:
        server.stop()


def _client_certificates(folder: Path) -> tuple[Path, dict[str, str]]:
    """A client CA (its certificate is written to `folder`), a client certificate and key it
    signed, and a stray key, as PEM texts a user would paste."""
    now = dt.datetime.now(dt.UTC)

    def pem_key(key: ec.EllipticCurvePrivateKey) -> str:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Datadock test client CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "datadock")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = folder / "client-ca.crt"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_path, {
        "client_cert": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "client_key": pem_key(key),
        "stranger_key": pem_key(ec.generate_private_key(ec.SECP256R1())),
    }


def _wait_mariadb(server: MariaDbServer) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            server.admin().close()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                log = server.log_path.read_text() if server.log_path.exists() else ""
                raise RuntimeError(f"MariaDB did not start:\n{log[-3000:]}") from None
            time.sleep(0.05)
