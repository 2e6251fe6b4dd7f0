"""Verify timings: through HTTP against a bare psycopg connect, and the time to fail per error.

Run with `make bench`. Prints figures and ratios measured in the same run; asserts nothing about
speed (speed is reported, never asserted).
"""

from __future__ import annotations

import statistics
import time

import psycopg

from tests.fixtures_app import csrf_token
from tests.servers import free_port

ROUNDS = 15


def _median_ms(fn, rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def test_bench_verify(admin, app, pg, silent_port):
    app.config["VERIFY_TIMEOUT"] = 10.0
    token = csrf_token(admin, "/sources/new")
    base = {"csrf_token": token, "displayName": "Bench", "dialect": "POSTGRES", "host": pg.host,
            "port": str(pg.port), "databaseName": pg.database, "username": pg.user,
            "password": pg.password, "sslEnabled": "y"}

    def bare() -> None:
        with psycopg.connect(host=pg.host, port=pg.port, dbname=pg.database, user=pg.user,
                             password=pg.password, sslmode="require", connect_timeout=10) as c:
            c.execute("SELECT 1").fetchone()

    def through_http(**changes: str) -> str:
        response = admin.post("/sources/verify", headers={"HX-Request": "true"},
                              data={**base, **changes})
        return response.get_data(as_text=True)

    assert "Connection verified." in through_http()
    baseline = _median_ms(bare)
    ours = _median_ms(through_http)
    print(f"\nverify, success: bare psycopg.connect+SELECT 1 {baseline:.1f} ms; "
          f"Datadock verify through HTTP {ours:.1f} ms; ratio {ours / baseline:.2f}x "
          f"(goal <= 1.3x + 5 ms = {baseline * 1.3 + 5:.1f} ms)")

    cases = {
        "wrong password": {"password": "wrong-password"},
        "unknown database": {"databaseName": "nope"},
        "refused port": {"port": str(free_port())},
        "host not found (.invalid)": {"host": "db.nowhere.invalid"},
        "unknown user (SSL off)": {"username": "nobody", "sslEnabled": ""},
    }
    for name, changes in cases.items():
        html = through_http(**changes)
        assert "Could not connect." in html, name
        print(f"verify, {name}: {_median_ms(lambda c=changes: through_http(**c), 5):.1f} ms")

    app.config["VERIFY_TIMEOUT"] = 3.0
    started = time.perf_counter()
    html = through_http(host="127.0.0.1", port=str(silent_port))
    print(f"verify, unresponsive host (timeout 3 s): {time.perf_counter() - started:.2f} s")
    assert "did not answer" in html
