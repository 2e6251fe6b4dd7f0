"""Simultaneous first-run setups under a real WSGI server: exactly one wins.

Gunicorn serves Datadock with several worker processes (each with threads) on loopback; as
many browsers as there are request slots fetch the setup form, wait at a barrier and post it
at the same moment. On SQLite (a file store) and on PostgreSQL (a fresh database on the
throwaway server) exactly one organization and one account exist afterwards, the winner is
logged in, and every loser lands on a page saying "Datadock is already set up" — none gets a
500."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography.fernet import Fernet

from tests.integration.jobs_helpers import fresh_database
from tests.servers import free_port

BROWSERS = 6
PASSWORD = "a long enough password"
UA = "setup-race-test"


def _env(database_url: str, instance: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DATADOCK_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "setup-race-test-secret-key",
            "DATADOCK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DATADOCK_INSTANCE_PATH": str(instance),
            "DATADOCK_SCHEDULER": "off",
            "DATADOCK_LOG_FORMAT": "text",
        }
    )
    return env


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> tuple[str, object]:
    """A migrated, empty store: its URL and a function counting rows of a table in it."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        url = f"sqlite:///{path}"

        def count(table: str) -> int:
            import sqlite3

            with sqlite3.connect(path) as conn:
                return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    else:
        pg = request.getfixturevalue("pg")
        name = fresh_database(pg, "setup")
        url = f"postgresql://{pg.user}:{pg.password}@{pg.host}:{pg.port}/{name}"

        def count(table: str) -> int:
            with psycopg.connect(
                host=pg.host, port=pg.port, user=pg.user, password=pg.password, dbname=name
            ) as conn:
                return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    env = _env(url, tmp_path / "instance")
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return url, count


@pytest.fixture
def served(store, tmp_path) -> Iterator[str]:
    """Gunicorn (3 processes x 2 threads) serving the app on the store; yields its base URL."""
    url, _ = store
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "webapp:create_app()",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--threads",
            "2",
            "--timeout",
            "60",
        ],
        env=_env(url, tmp_path / "instance"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if requests.get(base + "/setup", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or its workers are still importing the app
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    text = (tmp_path / "gunicorn.log").read_text()
    assert "Traceback" not in text, text


def _browser(base: str) -> tuple[requests.Session, str]:
    """A browser with the setup form open: its session and the form's CSRF token."""
    browser = requests.Session()
    browser.headers["User-Agent"] = UA
    html = browser.get(base + "/setup", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert token, html
    return browser, token.group(1)


def test_simultaneous_setups_create_exactly_one_organization(store, served):
    _, count = store
    browsers = [_browser(served) for _ in range(BROWSERS)]
    barrier = threading.Barrier(BROWSERS)
    results: list[tuple[int, list[int], str, str] | BaseException] = [None] * BROWSERS

    def post(i: int) -> None:
        browser, token = browsers[i]
        try:
            barrier.wait(timeout=30)
            response = browser.post(
                served + "/setup",
                timeout=60,
                data={
                    "csrf_token": token,
                    "organization": f"Org {i}",
                    "email": f"admin{i}@example.com",
                    "password": PASSWORD,
                    "confirm": PASSWORD,
                },
            )
            results[i] = (
                response.status_code,
                [r.status_code for r in response.history],
                response.url,
                response.text,
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(BROWSERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, tuple) for r in results), results

    assert (count("organizations"), count("users"), count("memberships")) == (1, 1, 1)
    assert count("installation") == 1
    winners = [i for i, r in enumerate(results) if r[2].endswith("/sources")]
    losers = [i for i in range(BROWSERS) if i not in winners]
    assert len(winners) == 1, [(r[0], r[1], r[2]) for r in results]
    for i in losers:
        status, history, final_url, text = results[i]
        assert status == 200 and history == [303] and final_url.endswith("/login"), (
            status,
            history,
            final_url,
        )
        assert "Datadock is already set up" in text
    # The winner is the one account there is, and it is logged in.
    browser, _ = browsers[winners[0]]
    assert browser.get(served + "/sources", timeout=30, allow_redirects=False).status_code == 200
    # A late setup after the race gets the same answer.
    late = browsers[losers[0]][0]
    page = late.get(served + "/setup", timeout=30)
    assert page.url.endswith("/login") and "Datadock is already set up" in page.text
