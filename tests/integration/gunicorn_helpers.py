"""Datadock under gunicorn, started with the Procfile's own `web:` command (only the bind address
is moved to loopback), on a fresh PostgreSQL store; and the verifies the pool tests fire at it.

Used by tests/integration/test_verify_pool.py and tests/bench/bench_verify_pool.py.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from tests.integration.jobs_helpers import fresh_database
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long admin password"
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def procfile_web_command(port: int, env: dict[str, str]) -> list[str]:
    """The Procfile's `web:` command with its ${VAR:-default}s filled from `env`, bound to
    127.0.0.1:`port` instead of every interface."""
    line = next(
        row for row in (ROOT / "Procfile").read_text().splitlines() if row.startswith("web:")
    )
    text = _DEFAULT.sub(lambda m: env.get(m.group(1)) or m.group(2), line[len("web:") :])
    words = shlex.split(text)
    assert words[0] == "gunicorn", words
    words[words.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", "gunicorn", *words[1:]]


def procfile_option(name: str) -> str:
    """The value of a Procfile `web:` option with its default filled in, e.g. "--threads"."""
    words = procfile_web_command(0, {})
    return words[words.index(name) + 1]


@dataclass
class Org:
    """An organization of the store: its id, admin login and API key."""

    id: int
    email: str
    key: str


@dataclass
class Store:
    """The environment gunicorn runs with and the organizations it holds."""

    env: dict[str, str]
    orgs: list[Org]


@contextlib.contextmanager
def prepared_store(
    pg, instance: Path, org_names: list[str], extra_env: dict[str, str] | None = None
) -> Iterator[Store]:
    """A fresh, migrated PostgreSQL store with one admin and one API key per organization."""
    from webapp import create_app
    from webapp.accounts import create_admin
    from webapp.api_keys import create_key
    from webapp.extensions import db
    from webapp.models import Organization

    env = {k: v for k, v in os.environ.items() if not k.startswith("DATADOCK_")}
    env.pop("DATABASE_URL", None)
    store = fresh_database(pg, "verifypool")
    env.update(
        {
            "DATABASE_URL": f"postgresql://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{store}",
            "SECRET_KEY": "verify-pool-test-secret-key-0123456789",
            "DATADOCK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATADOCK_INSTANCE_PATH": str(instance),
            "DATADOCK_SCHEDULER": "off",
            "DATADOCK_HEALTH_INTERVAL": "0",
            "DATADOCK_LOG_FORMAT": "text",
            **(extra_env or {}),
        }
    )
    orgs = []
    with _environment(env):
        app = create_app({"SCHEDULER_ENABLED": False})
        with app.app_context():
            upgrade()
            for number, name in enumerate(org_names):
                email = f"admin{number}@example.com"
                create_admin(name, email, PASSWORD)
                org = db.session.scalar(db.select(Organization).filter_by(name=name))
                _, key = create_key(org, f"{name} key")
                orgs.append(Org(org.id, email, key))
            db.session.remove()
            db.engine.dispose()
    yield Store(env, orgs)


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def gunicorn(store: Store, log_path: Path) -> Iterator[str]:
    """Serve the app with the Procfile's command until every worker booted; yields the URL."""
    port = free_port()
    command = procfile_web_command(port, store.env)
    workers = int(command[command.index("--workers") + 1])
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=store.env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, url, workers, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen, url: str, workers: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        booted = log_path.read_text().count("Booting worker")
        try:
            if booted >= workers and requests.get(url + "/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.1)


@dataclass
class Browser:
    """A logged-in browser session and the add form's CSRF token."""

    session: requests.Session
    csrf: str


def login(url: str, email: str) -> Browser:
    """A browser-like session logged in as `email`, holding the add form's CSRF token."""
    session = requests.Session()
    response = session.post(
        url + "/login",
        data={
            "csrf_token": csrf_token(session, url + "/login"),
            "email": email,
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return Browser(session, csrf_token(session, url + "/sources/new"))


def csrf_token(session: requests.Session, url: str) -> str:
    """The CSRF token of the form at `url`."""
    html = session.get(url, timeout=30).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def waiting_on(port: int) -> int:
    """Connections to the loopback listener on `port` that are open at both ends: one per
    verify whose driver is waiting for the silent host (read from the kernel's table)."""
    target = f":{port:04X}"
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(target) and parts[3] == "01":  # local port, ESTABLISHED
            count += 1
    return count


@dataclass
class Outcome:
    """One verify request's answer and its place in the order answers came back."""

    kind: str  # "api" or "htmx"
    org: int
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    seq: int = 0
    elapsed_ms: float = 0.0  # from sending the request to its answer's headers

    @property
    def busy(self) -> bool:
        """Refused because no verify slot was free."""
        if self.kind == "api":
            return self.status == 429
        return "Busy." in self.text

    def json(self) -> Any:
        return json.loads(self.text)


class Clock:
    """A counter that orders events across threads (order, not time, is asserted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = itertools.count(1)

    def tick(self) -> int:
        with self._lock:
            return next(self._next)


def fire_verifies(
    url: str,
    silent_port: int,
    plan: list[tuple[str, Org]],
    browsers: dict[int, Browser],
    clock: Clock,
) -> tuple[list[threading.Thread], list[Outcome]]:
    """Start one thread per (kind, org) verify of a PostgreSQL source on the silent host."""
    outcomes = [Outcome(kind, org.id) for kind, org in plan]
    fields = {
        "dialect": "POSTGRES",
        "host": "127.0.0.1",
        "port": silent_port,
        "databaseName": "app",
        "username": "reader",
        "password": "typed-secret",
    }

    def one(outcome: Outcome, org: Org) -> None:
        if outcome.kind == "api":
            response = requests.post(
                f"{url}/api/public/organizations/{org.id}/data-sources/verify",
                json={**fields, "type": "direct", "sslEnabled": False},
                headers={"Authorization": f"Bearer {org.key}"},
                timeout=120,
            )
        else:
            browser = browsers[org.id]
            response = requests.post(
                url + "/sources/verify",
                cookies=browser.session.cookies.get_dict(),
                headers={"HX-Request": "true"},
                timeout=120,
                data={**fields, "displayName": "Warehouse", "csrf_token": browser.csrf},
            )
        outcome.status, outcome.text = response.status_code, response.text
        outcome.headers = dict(response.headers)
        outcome.elapsed_ms = response.elapsed.total_seconds() * 1000
        outcome.seq = clock.tick()

    threads = [
        threading.Thread(target=one, args=(outcome, org), daemon=True)
        for outcome, (_, org) in zip(outcomes, plan, strict=True)
    ]
    for thread in threads:
        thread.start()
    return threads, outcomes


def poll(condition, seconds: float, what: str) -> None:
    """Wait until `condition()` holds (a safety deadline only, nothing is timed)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
