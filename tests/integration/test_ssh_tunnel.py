"""Verify, save and sync through a real OpenSSH server (the `sshd` fixture) to a real PostgreSQL.

Every address is on loopback; the database host is given as the SSH server sees it
(127.0.0.1:pg.port), and the sshd only permits tunnels to this machine.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time

import paramiko
import psycopg
import pytest
from sshtunnel import SSHTunnelForwarder

from tests.integration.test_sources_postgres import org, sync_once, tables_of
from tests.integration.test_verify_postgres import BAD_LOGIN, failure, values
from tests.servers import KEY_PASSPHRASE, free_port, silent_listener
from webapp import sources as uc
from webapp.connect.tunnel import UNREADABLE_KEY, open_tunnel
from webapp.extensions import db
from webapp.models import Source

REJECTED_PASSWORD = "SSH server rejected this username or password"
REJECTED_KEY = "SSH server rejected this username or key"
LATER = ("response", "tls", "auth", "database", "catalog")


def ssh_values(pg, sshd, **changes):
    """Form-style input: the throwaway PostgreSQL behind the throwaway sshd, password login."""
    raw = values(
        pg,
        sshEnabled=True,
        sshHost=sshd.host,
        sshPort=sshd.port,
        sshUsername=sshd.user,
        sshPassword=sshd.password,
    )
    raw.update(changes)
    return raw


def key_values(pg, sshd, name, **changes):
    """Input that logs in with the client key `name` (and its passphrase, if it has one)."""
    key = sshd.keys[name]
    login = {
        "sshPassword": "",
        "sshPrivateKey": key.private,
        "sshPrivateKeyPassphrase": key.passphrase or "",
    }
    return ssh_values(pg, sshd, **{**login, **changes})


def statuses(steps):
    return {s["name"]: s["status"] for s in steps}


def assert_failed_at_ssh(error):
    steps = statuses(error.steps)
    assert steps["dns"] == "ok" and steps["tcp"] == "ok" and steps["ssh"] == "failed", steps
    assert all(steps[name] == "not_run" for name in LATER), steps
    assert error.step == "ssh"


def accepted_logins(sshd) -> int:
    """Logins sshd accepted so far ("Accepted password for …", "Accepted publickey for …")."""
    return len(re.findall(r"Accepted \w+ for ", sshd.log_path.read_text()))


def tunnel_threads() -> set[threading.Thread]:
    """Threads a tunnel starts: paramiko's transport, sshtunnel's server and its handlers
    (told apart from other tests' threads by the object whose method they run)."""
    found = set()
    for thread in threading.enumerate():
        owner = getattr(getattr(thread, "_target", None), "__self__", None)
        if (
            isinstance(thread, paramiko.Transport)
            or isinstance(owner, SSHTunnelForwarder)
            or type(owner).__module__ == "sshtunnel"
        ):
            found.add(thread)
    return found


def settled_tunnel_threads(seconds: float = 5.0) -> set[threading.Thread]:
    """Tunnel threads still alive after giving closing ones a moment to finish."""
    deadline = time.monotonic() + seconds
    while (alive := tunnel_threads()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


# --- Success -----------------------------------------------------------------------------------


def test_password_login_verifies_through_the_tunnel(app, pg, sshd):
    before = accepted_logins(sshd)
    with app.app_context():
        result = uc.verify_input(ssh_values(pg, sshd))
    assert result.server_version.startswith("PostgreSQL")
    steps = statuses(result.steps)
    assert steps == {
        "fields": "ok",
        "dns": "ok",
        "tcp": "ok",
        "ssh": "ok",
        "response": "ok",
        "tls": "ok",
        "auth": "ok",
        "database": "ok",
        "catalog": "ok",
    }
    assert accepted_logins(sshd) == before + 1  # the connection really went through sshd
    assert f"Accepted password for {sshd.user}" in sshd.log_path.read_text()
    assert settled_tunnel_threads() == set()


def test_a_tunnels_threads_end_when_it_closes(pg, sshd):
    assert settled_tunnel_threads() == set()
    raw = {
        "sshHost": sshd.host,
        "sshPort": sshd.port,
        "sshUsername": sshd.user,
        "sshPassword": sshd.password,
    }
    tunnel = open_tunnel(raw, "127.0.0.1", pg.host, pg.port, 5.0)
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=tunnel.local_port,
            dbname=pg.database,
            user=pg.user,
            password=pg.password,
            connect_timeout=5,
        ) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            running = tunnel_threads()
            assert any(isinstance(t, paramiko.Transport) for t in running)  # the session
            assert any(t.name.startswith("Srv-") for t in running)  # the forwarder
            assert len(running) >= 3  # and the handler of this connection
    finally:
        tunnel.close()
    assert settled_tunnel_threads() == set()


@pytest.mark.parametrize(
    "name",
    [
        "rsa-openssh",
        "rsa-pem",
        "rsa-pkcs8",
        "ed25519-openssh",
        "ed25519-pkcs8",
        "ecdsa-openssh",
        "ecdsa-pem",
        "ecdsa-pkcs8",
        "rsa-openssh-passphrase",
        "ed25519-openssh-passphrase",
        "ecdsa-pem-passphrase",
        "rsa-pkcs8-passphrase",
    ],
)
def test_each_key_type_and_format_logs_in(app, pg, sshd, name):
    before = accepted_logins(sshd)
    with app.app_context():
        result = uc.verify_input(key_values(pg, sshd, name))
    assert statuses(result.steps)["ssh"] == "ok"
    assert statuses(result.steps)["catalog"] == "ok"
    assert accepted_logins(sshd) == before + 1
    assert "Accepted publickey" in sshd.log_path.read_text()


def test_a_key_pasted_with_windows_line_endings_and_indent_still_reads(app, pg, sshd):
    key = sshd.keys["ed25519-openssh"].private
    mangled = "\r\n".join("  " + line for line in key.splitlines()) + "\r\n"
    with app.app_context():
        result = uc.verify_input(ssh_values(pg, sshd, sshPassword="", sshPrivateKey=mangled))
    assert statuses(result.steps)["ssh"] == "ok"


def test_a_refused_key_falls_back_to_the_password(app, pg, sshd):
    raw = ssh_values(pg, sshd, sshPrivateKey=sshd.unauthorized_key.private)
    with app.app_context():
        result = uc.verify_input(raw)
    assert statuses(result.steps)["ssh"] == "ok"


@pytest.mark.parametrize(
    "pin",
    [
        "known_hosts ed25519",
        "known_hosts rsa",
        "bare line ed25519",
        "fingerprint ed25519",
        "keygen line rsa",
    ],
)
def test_a_matching_host_key_pin_verifies(app, pg, sshd, pin):
    form, kind = pin.rsplit(" ", 1)
    line = sshd.known_hosts[kind]
    text = {
        "known_hosts": line,
        "bare line": " ".join(line.split()[1:]),
        "fingerprint": sshd.fingerprints[kind],
        # What `ssh-keygen -lf host_rsa.pub` prints.
        "keygen line": f"2048 {sshd.fingerprints[kind]} root@bastion (RSA)",
    }[form]
    with app.app_context():
        result = uc.verify_input(ssh_values(pg, sshd, sshHostKey=text))
    assert statuses(result.steps)["ssh"] == "ok"


# --- Failures before the SSH session -----------------------------------------------------------


def test_ssh_host_not_found(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, sshHost="bastion.nowhere.invalid"))
    assert error.field_errors == {"sshHost": "Host not found"}
    steps = statuses(error.steps)
    assert steps["dns"] == "failed" and steps["tcp"] == "not_run" and steps["ssh"] == "not_run"


def test_ssh_port_refused(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, sshPort=free_port()))
    assert error.field_errors == {"sshPort": "Incorrect port"}
    steps = statuses(error.steps)
    assert steps["tcp"] == "failed" and steps["ssh"] == "not_run"


def test_unresponsive_ssh_host_costs_one_deadline(app, pg, sshd):
    app.config["VERIFY_TIMEOUT"] = 2.0
    with silent_listener() as (_, port):
        started = time.monotonic()
        error = failure(app, ssh_values(pg, sshd, sshPort=port))
        elapsed = time.monotonic() - started
    assert_failed_at_ssh(error)
    assert error.field_errors == {"sshHost": "127.0.0.1 did not answer within 2 s"}
    assert "SSH server's firewall" in error.detail and "outbound address" in error.detail
    # The deadline contract (not a speed measurement): one deadline, never the library's 15 s.
    assert elapsed < 2.0 + 1.5, elapsed
    assert settled_tunnel_threads() == set()


def test_a_port_that_is_not_ssh(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, sshPort=pg.port))  # PostgreSQL, not sshd
    assert_failed_at_ssh(error)
    assert error.field_errors == {"sshPort": "No SSH server answers on this port"}


# --- Failures of the SSH session ---------------------------------------------------------------


def test_wrong_ssh_password(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, sshPassword="not-the-ssh-password"))
    assert_failed_at_ssh(error)
    assert error.field_errors == {
        "sshUsername": REJECTED_PASSWORD,
        "sshPassword": REJECTED_PASSWORD,
    }
    assert "not-the-ssh-password" not in error.detail


def test_unknown_ssh_user_looks_like_a_wrong_password(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, sshUsername="nobody-here"))
    assert_failed_at_ssh(error)
    assert error.field_errors == {
        "sshUsername": REJECTED_PASSWORD,
        "sshPassword": REJECTED_PASSWORD,
    }


def test_key_not_authorized(app, pg, sshd):
    raw = ssh_values(pg, sshd, sshPassword="", sshPrivateKey=sshd.unauthorized_key.private)
    error = failure(app, raw)
    assert_failed_at_ssh(error)
    assert error.field_errors == {"sshUsername": REJECTED_KEY, "sshPrivateKey": REJECTED_KEY}


@pytest.mark.parametrize(
    "name", ["ed25519-openssh-passphrase", "ecdsa-pem-passphrase", "rsa-pkcs8-passphrase"]
)
def test_wrong_passphrase(app, pg, sshd, name):
    error = failure(app, key_values(pg, sshd, name, sshPrivateKeyPassphrase="not it"))
    assert error.field_errors == {"sshPrivateKeyPassphrase": "Incorrect passphrase"}
    assert statuses(error.steps)["ssh"] == "failed"


@pytest.mark.parametrize("name", ["rsa-openssh-passphrase", "ecdsa-pem-passphrase"])
def test_missing_passphrase(app, pg, sshd, name):
    error = failure(app, key_values(pg, sshd, name, sshPrivateKeyPassphrase=""))
    assert error.field_errors == {
        "sshPrivateKeyPassphrase": "This key is encrypted: enter its passphrase"
    }


@pytest.mark.parametrize(
    "text",
    [
        "just some text",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n",
    ],
)
def test_garbage_key(app, pg, sshd, text):
    error = failure(app, ssh_values(pg, sshd, sshPassword="", sshPrivateKey=text))
    assert error.field_errors == {"sshPrivateKey": UNREADABLE_KEY}
    assert statuses(error.steps)["ssh"] == "failed"


def test_a_pasted_public_key_is_named_as_such(app, pg, sshd):
    public = sshd.keys["ed25519-openssh"].public
    error = failure(app, ssh_values(pg, sshd, sshPassword="", sshPrivateKey=public))
    assert error.field_errors == {"sshPrivateKey": "This is a public key: paste the private key"}


@pytest.mark.parametrize("form", ["known_hosts", "fingerprint"])
def test_host_key_pin_mismatch_names_the_presented_key(app, pg, sshd, form):
    stranger = sshd.unauthorized_key.public.split()  # a real Ed25519 key, not the server's
    pin = (
        f"[{sshd.host}]:{sshd.port} {stranger[0]} {stranger[1]}"
        if form == "known_hosts"
        else "SHA256:" + "A" * 43
    )
    before = sshd.log_path.read_text()
    error = failure(app, ssh_values(pg, sshd, sshHostKey=pin))
    assert_failed_at_ssh(error)
    presented = sshd.fingerprints["ed25519"]
    assert error.field_errors == {
        "sshHostKey": f"Host key mismatch: the server presented {presented}"
    }
    # Nothing was sent to log in: the password never reached the impostor.
    assert "password for" not in sshd.log_path.read_text()[len(before) :]


def test_a_pin_of_a_type_the_server_lacks(app, pg, sshd):
    ecdsa = sshd.keys["ecdsa-openssh"].public.split()  # the server has Ed25519 and RSA keys only
    error = failure(app, ssh_values(pg, sshd, sshHostKey=f"{ecdsa[0]} {ecdsa[1]}"))
    assert_failed_at_ssh(error)
    assert error.field_errors == {"sshHostKey": "The server has no ecdsa-sha2-nistp256 host key"}


def test_a_malformed_pin_is_refused_before_connecting(app, pg, sshd):
    before = sshd.log_path.read_text()
    with app.app_context(), pytest.raises(uc.ValidationFailed) as caught:
        uc.verify_input(ssh_values(pg, sshd, sshHostKey="ssh-ed25519 not-base64!"))
    assert set(caught.value.field_errors) == {"sshHostKey"}
    assert sshd.log_path.read_text() == before


# --- Behind the tunnel -------------------------------------------------------------------------


def test_database_port_wrong_behind_the_tunnel(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, port=free_port()))
    assert_failed_at_ssh(error)
    message = "The SSH server could not connect to this host and port"
    assert error.field_errors == {"host": message, "port": message}
    assert "SSH server could not reach" in error.detail


def test_a_destination_the_ssh_server_forbids(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, host="127.0.0.2"))  # outside sshd's PermitOpen
    assert_failed_at_ssh(error)
    assert error.field_errors == {
        "host": "The SSH server does not allow tunnels to this host and port"
    }


def test_wrong_database_password_through_the_tunnel_is_an_auth_failure(app, pg, sshd):
    error = failure(app, ssh_values(pg, sshd, password="not-the-db-password"))
    assert error.field_errors == {"username": BAD_LOGIN, "password": BAD_LOGIN}
    steps = statuses(error.steps)
    assert steps["ssh"] == "ok" and steps["auth"] == "failed"
    assert steps["database"] == "not_run" and steps["catalog"] == "not_run"
    assert settled_tunnel_threads() == set()


def test_unresponsive_database_behind_the_tunnel(app, pg, sshd):
    app.config["VERIFY_TIMEOUT"] = 2.0
    with silent_listener() as (_, port):
        error = failure(app, ssh_values(pg, sshd, port=port, sslEnabled=False))
    steps = statuses(error.steps)
    assert steps["ssh"] == "ok" and steps["response"] == "failed", steps
    assert steps["auth"] == "not_run", steps
    assert "did not answer" in error.field_errors["host"]
    assert settled_tunnel_threads() == set()


# --- Secrets -----------------------------------------------------------------------------------


def test_no_secret_reaches_the_log(app, pg, sshd, caplog):
    caplog.set_level(logging.DEBUG)  # paramiko's and sshtunnel's chatter included
    key = sshd.keys["rsa-openssh-passphrase"]
    key_line = key.private.splitlines()[3]  # a line from the middle of the key's body
    cases = [
        ssh_values(pg, sshd, sshPassword="wrong-ssh-secret-1"),
        ssh_values(pg, sshd),  # success
        key_values(pg, sshd, key.name, sshPrivateKeyPassphrase="wrong-passphrase-2"),
        key_values(pg, sshd, key.name),
        ssh_values(pg, sshd, password="wrong-db-secret-3"),
        ssh_values(pg, sshd, sshPrivateKey="garbage-key-text-4"),
    ]
    with app.app_context():
        for raw in cases:
            with contextlib.suppress(uc.ConnectionFailed):
                uc.verify_input(raw)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SSH tunnel via" in text  # the failures were logged, without their secrets
    for secret in (
        "wrong-ssh-secret-1",
        sshd.password,
        "wrong-passphrase-2",
        KEY_PASSPHRASE,
        "wrong-db-secret-3",
        pg.password,
        key_line,
        "garbage-key-text-4",
    ):
        assert secret not in text, secret


# --- Save, sync, edit --------------------------------------------------------------------------


def test_save_and_sync_through_the_tunnel(app, admin, pg, sshd):
    with app.app_context():
        source = uc.create_source(
            org(app),
            key_values(
                pg, sshd, "ed25519-openssh-passphrase", sshHostKey=sshd.known_hosts["ed25519"]
            ),
        )
        assert source.settings["sshHost"] == sshd.host
        assert sshd.keys["ed25519-openssh-passphrase"].private not in str(source.settings)
        logins = accepted_logins(sshd)
        source = sync_once(source.id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        assert {"public.customers", "public.orders", "analytics.events"} <= set(tables_of(source))
        assert accepted_logins(sshd) == logins + 1  # the sync went through the tunnel too
    assert settled_tunnel_threads() == set()


def test_editing_the_ssh_host_asks_for_the_ssh_secrets_again(app, admin, pg, sshd):
    with app.app_context():
        source = uc.create_source(org(app), ssh_values(pg, sshd))
        source_id = source.id
        # Same SSH host: a blank password keeps the saved one.
        uc.update_source(source, {"displayName": "Renamed", "sshPassword": "", "password": ""})
        # Another SSH host: the saved secrets are not sent there.
        with pytest.raises(uc.ValidationFailed) as caught:
            uc.update_source(source, {"sshHost": "localhost", "sshPassword": "", "password": ""})
        errors = caught.value.field_errors
        assert errors["sshPassword"].startswith("Enter the ssh password again")
        assert errors["password"].startswith("Enter the password again")
        db.session.rollback()
        stored = db.session.get(Source, source_id)
        assert stored.display_name == "Renamed" and stored.settings["sshHost"] == sshd.host
