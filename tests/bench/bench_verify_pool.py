"""Page latency under gunicorn (the Procfile's command) while 32 verifies of a host that never
answers are in flight: the login page and the sources list, against the same pages idle.

Run with `make bench`. Prints figures; asserts nothing about speed. For comparison it runs the
same storm again with the verify bound raised above gunicorn's thread count
(DATADOCK_VERIFY_CONCURRENCY=64), which is how the server behaved before the bound existed.
"""

from __future__ import annotations

import statistics
import time

import requests

from tests.integration.gunicorn_helpers import (
    Clock,
    fire_verifies,
    gunicorn,
    login,
    poll,
    prepared_store,
    procfile_option,
    waiting_on,
)

TIMEOUT = 5
SAMPLES = 20


def _ms(get) -> float:
    started = time.perf_counter()
    response = get()
    assert response.status_code == 200
    return (time.perf_counter() - started) * 1000


def _figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, "
        f"max {ordered[-1]:.1f} ms (n={len(ordered)})"
    )


def _storm(pg, silent_port, tmp_path, name: str, bound: int, per_org: int) -> None:
    settings = {
        "DATADOCK_VERIFY_TIMEOUT": str(TIMEOUT),
        "DATADOCK_VERIFY_CONCURRENCY": str(bound),
        "DATADOCK_VERIFY_CONCURRENCY_PER_ORG": str(per_org),
    }
    with (
        prepared_store(pg, tmp_path / f"instance-{name}", ["Acme", "Globex"], settings) as store,
        gunicorn(store, tmp_path / f"gunicorn-{name}.log") as url,
    ):
        acme, globex = store.orgs
        browsers = {acme.id: login(url, acme.email)}
        reader = login(url, acme.email)
        pages = {
            "/login": lambda: requests.get(url + "/login", timeout=60),
            "/sources": lambda: reader.session.get(url + "/sources", timeout=60),
        }
        idle = {path: [_ms(get) for _ in range(SAMPLES)] for path, get in pages.items()}

        plan = [("htmx", acme)] * 8 + [("api", acme)] * 8 + [("api", globex)] * 16
        clock = Clock()
        threads, outcomes = fire_verifies(url, silent_port, plan, browsers, clock)
        if bound < 64:
            poll(
                lambda: (
                    sum(o.seq > 0 and o.busy for o in outcomes) + waiting_on(silent_port)
                    == len(plan)
                ),
                TIMEOUT * 6,
                "storm not in flight",
            )
        else:  # nothing is refused: wait until a process has every thread taken by a verify
            threads_per_process = int(procfile_option("--threads"))
            poll(
                lambda: waiting_on(silent_port) >= threads_per_process,
                TIMEOUT * 6,
                "verifies did not take every thread",
            )
        held = waiting_on(silent_port)
        busy: dict[str, list[float]] = {path: [] for path in pages}
        # Sample while no verify that got a slot has answered (they end at the deadline).
        while len(busy["/sources"]) < SAMPLES and all(o.seq == 0 for o in outcomes if not o.busy):
            for path, get in pages.items():
                busy[path].append(_ms(get))
        for thread in threads:
            thread.join(timeout=TIMEOUT * 12)
        refused = [o.elapsed_ms for o in outcomes if o.busy]

    print(
        f"\n[{name}] VERIFY_CONCURRENCY={bound}, per org {per_org}; gunicorn "
        f"--workers {procfile_option('--workers')} --threads {procfile_option('--threads')}; "
        f"32 verifies of a silent host (deadline {TIMEOUT} s): {held} in flight, "
        f"{len(refused)} refused"
    )
    for path in pages:
        print(f"[{name}] GET {path} idle: {_figures(idle[path])}")
        if busy[path]:
            print(f"[{name}] GET {path} with the verifies in flight: {_figures(busy[path])}")
        else:
            print(f"[{name}] GET {path}: no answer before the verifies' deadline")
    if refused:
        print(f"[{name}] a refused verify answered 429 in: {_figures(refused)}")


def test_bench_pages_while_32_silent_verifies_are_in_flight(pg, silent_port, tmp_path):
    _storm(pg, silent_port, tmp_path, "bounded (defaults)", 4, 2)
    _storm(pg, silent_port, tmp_path, "unbounded (before #6)", 64, 64)
