"""Verify timings (issue 11): a verify through a real HTTP server (gunicorn, the Procfile's
command, on a PostgreSQL store) against the bare driver (`psycopg.connect` + `SELECT 1`) in
interleaved rounds; the time each kind of failure takes; and how precisely the deadline is
kept against a host that accepts and never answers (10 s and 2.5 s, PostgreSQL and MariaDB),
against libpq's own `connect_timeout`, which floors to whole seconds.

The clients keep their connection open between requests (a browser does, and so does an API
client with a session). The figures against the goal use the standard library's `http.client`
(the leanest Python client: ~0.2 ms of CPU a request); the same verifies through `requests`
(~1.5–3 ms of its own CPU a request on the 2-core machine, counted against Datadock's figure)
and the API with a new connection per request (`requests.post`) are printed beside them.

Run with `make bench`. Prints figures and adds rows to the summary table; asserts only that
each verify had the right outcome, never how fast it was.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import statistics
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
import requests

from tests.bench.figures import Figure
from tests.integration.gunicorn_helpers import gunicorn, login, prepared_store
from tests.servers import PgServer, free_port, server_dir, throwaway_postgres
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed

ROUNDS = 40
GOAL_RATIO, GOAL_EXTRA_MS = 1.3, 3.0
PRECISION = 0.2  # seconds either side of the configured deadline


class KeptOpen:
    """One HTTP/1.1 connection kept open (`http.client`), sending the same headers each time."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self._headers = headers

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, str]:
        """(status, text) of a POST."""
        self._connection.request(
            "POST", path, body=body, headers={**self._headers, "Content-Type": content_type}
        )
        response = self._connection.getresponse()
        return response.status, response.read().decode()

    def close(self) -> None:
        self._connection.close()


@pytest.fixture(scope="module")
def store_pg() -> Iterator[PgServer]:
    """The store's PostgreSQL: a server of its own (Datadock refuses to verify its store)."""
    with server_dir("pgstore") as base, throwaway_postgres(base, ssl=False) as server:
        yield server


def test_bench_verify_through_http(pg, store_pg, tmp_path, figures):
    with (
        prepared_store(
            # three API kinds × ROUNDS verifies within a minute: above the default 120/minute
            store_pg,
            tmp_path / "instance",
            ["Acme"],
            {"DATADOCK_API_RATE_LIMIT": "1000/minute"},
        ) as store,
        gunicorn(store, tmp_path / "gunicorn.log") as url,
    ):
        browser = login(url, store.orgs[0].email)
        org = store.orgs[0]
        form = {
            "csrf_token": browser.csrf,
            "displayName": "Bench",
            "dialect": "POSTGRES",
            "host": pg.host,
            "port": str(pg.port),
            "databaseName": pg.database,
            "username": pg.user,
            "password": pg.password,
            "sslEnabled": "y",
        }
        api_body = {
            "dialect": "POSTGRES",
            "type": "direct",
            "host": pg.host,
            "port": pg.port,
            "databaseName": pg.database,
            "username": pg.user,
            "password": pg.password,
            "sslEnabled": True,
        }

        def bare() -> None:
            with psycopg.connect(
                host=pg.host,
                port=pg.port,
                dbname=pg.database,
                user=pg.user,
                password=pg.password,
                sslmode="require",
                connect_timeout=10,
            ) as conn:
                conn.execute("SELECT 1").fetchone()

        cookies = "; ".join(f"{c.name}={c.value}" for c in browser.session.cookies)
        agent = str(browser.session.headers["User-Agent"])  # the session is bound to it
        lean_browser = KeptOpen(url, {"Cookie": cookies, "HX-Request": "true", "User-Agent": agent})
        lean_api = KeptOpen(url, {"Authorization": f"Bearer {org.key}"})
        api_path = f"/api/public/organizations/{org.id}/data-sources/verify"
        form_body, api_json = urlencode(form).encode(), json.dumps(api_body).encode()

        def htmx_lean() -> None:
            status, text = lean_browser.post(
                "/sources/verify", form_body, "application/x-www-form-urlencoded"
            )
            assert status == 200 and "Connection verified." in text, text[:300]

        def api_lean() -> None:
            status, text = lean_api.post(api_path, api_json, "application/json")
            assert status == 200, text[:300]

        def htmx(**changes: str) -> str:
            response = browser.session.post(
                url + "/sources/verify",
                timeout=60,
                headers={"HX-Request": "true"},
                data={**form, **changes},
            )
            return response.text

        api_client = requests.Session()

        def api(client: Any = api_client) -> None:
            response = client.post(
                f"{url}/api/public/organizations/{org.id}/data-sources/verify",
                json=api_body,
                headers={"Authorization": f"Bearer {org.key}"},
                timeout=60,
            )
            assert response.status_code == 200, response.text[:300]

        def api_new_connection() -> None:
            api(requests)  # requests.post: a new HTTP connection for each request

        first = htmx()
        assert "Connection verified." in first, re.sub(r"<[^>]+>", " ", first)[:600]
        api()
        kinds = {
            "bare": bare,
            "htmx_lean": htmx_lean,
            "api_lean": api_lean,
            "htmx": htmx,
            "api": api,
            "api_new": api_new_connection,
        }
        samples: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(ROUNDS):  # interleaved, so load on the shared machine hits all alike
            for name, fn in kinds.items():
                started = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - started)
        base = statistics.median(samples["bare"])
        print(
            f"\nverify, success, median of {ROUNDS} interleaved rounds: bare psycopg.connect"
            f" + SELECT 1 {base * 1000:.1f} ms"
        )
        lean_browser.close()
        lean_api.close()
        for name, label in (
            ("htmx_lean", "the form's htmx verify (http.client)"),
            ("api_lean", "the API's verify (http.client)"),
            ("htmx", "the form's htmx verify (requests)"),
            ("api", "the API's verify (requests)"),
            ("api_new", "the API's verify, a new HTTP connection each (requests)"),
        ):
            ours = statistics.median(samples[name])
            goal = base * GOAL_RATIO + GOAL_EXTRA_MS / 1000
            print(
                f"  {label} through gunicorn: {ours * 1000:.1f} ms = {ours / base:.2f}× "
                f"(+{(ours - base) * 1000:.1f} ms; goal ≤ {goal * 1000:.1f} ms)"
            )
            figures.append(
                Figure(
                    f"verify, success, {label} (gunicorn), median",
                    ours,
                    base,
                    "bare psycopg + SELECT 1",
                    "≤ 1.3× + 3 ms" if name.endswith("_lean") else "(reference)",
                    ours <= goal if name.endswith("_lean") else None,
                )
            )

        cases = {
            "wrong password": {"password": "wrong-password"},
            "unknown database": {"databaseName": "nope"},
            "refused port": {"port": str(free_port())},
            "host not found (.invalid)": {"host": "db.nowhere.invalid"},
        }
        for name, changes in cases.items():
            took = []
            for _ in range(5):
                started = time.perf_counter()
                assert "Could not connect." in htmx(**changes), name
                took.append(time.perf_counter() - started)
            print(f"  verify, {name}: {statistics.median(took) * 1000:.1f} ms")


def _silent_verify(app, dialect: str, port: int, seconds: float) -> float:
    app.config["VERIFY_TIMEOUT"] = seconds
    raw = {
        "displayName": "x",
        "dialect": dialect,
        "host": "127.0.0.1",
        "port": port,
        "databaseName": "d",
        "username": "u",
        "password": "secret",
        "sslEnabled": False,
    }
    with app.app_context():
        started = time.monotonic()
        try:
            uc.verify_input(raw)
        except ConnectionFailed as failure:
            assert f"never answered within {seconds:g} s" in failure.detail, failure.detail
        else:
            raise AssertionError("the silent host verified")
        return time.monotonic() - started


def _libpq_alone(port: int, seconds: float) -> float:
    """libpq's connect_timeout given the same deadline (it takes whole seconds)."""
    started = time.monotonic()
    with contextlib.suppress(psycopg.OperationalError):
        psycopg.connect(
            host="127.0.0.1",
            port=port,
            dbname="d",
            user="u",
            password="secret",
            sslmode="disable",
            connect_timeout=seconds,
        )
    return time.monotonic() - started


def test_bench_verify_deadline(app, silent_port, figures):
    for seconds in (10.0, 2.5):
        baseline = _libpq_alone(silent_port, seconds)
        for dialect in ("POSTGRES", "MARIADB"):
            took = _silent_verify(app, dialect, silent_port, seconds)
            print(
                f"\nverify deadline {seconds:g} s, {dialect}, silent host: ended after "
                f"{took:.2f} s (libpq's connect_timeout={seconds:g}: {baseline:.2f} s)"
            )
            figures.append(
                Figure(
                    f"verify deadline {seconds:g} s, {dialect}, silent host",
                    took,
                    baseline if dialect == "POSTGRES" else None,
                    "libpq connect_timeout" if dialect == "POSTGRES" else "",
                    f"{seconds:g} ± {PRECISION:g} s",
                    abs(took - seconds) <= PRECISION,
                )
            )
