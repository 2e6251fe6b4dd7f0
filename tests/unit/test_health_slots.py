"""The health sweep's per-server check slots and start gate (jobs/health.py), with real
threads: at most PER_SERVER checks of one answering server at once, every waiter going ahead
once the server stalls, and checks read together starting together. Conditions are polled;
nothing asserts a duration."""

from __future__ import annotations

import threading
import time

from webapp.jobs import health


def poll(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


class Checks:
    """Threads that hold a slot of one server until told to finish."""

    def __init__(self, values: dict, count: int, gate: health.Gate = health.NO_GATE) -> None:
        self.inside = 0
        self.most = 0
        self.lock = threading.Lock()
        self.finish = threading.Event()
        self.threads = [
            threading.Thread(target=self._one, args=(values, gate), daemon=True)
            for _ in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _one(self, values: dict, gate: health.Gate) -> None:
        with health.server_slot(values, gate):
            with self.lock:
                self.inside += 1
                self.most = max(self.most, self.inside)
            self.finish.wait(30)
            with self.lock:
                self.inside -= 1


def test_an_answering_server_gets_at_most_per_server_checks_at_once(monkeypatch):
    monkeypatch.setattr(health, "STALL", 30.0)  # the server keeps "answering" in this test
    checks = Checks({"host": "db.example.com", "port": 5432}, health.PER_SERVER + 8)
    poll(lambda: checks.inside == health.PER_SERVER)
    assert sum(t.is_alive() for t in checks.threads) == health.PER_SERVER + 8  # 8 wait
    checks.finish.set()  # finishing lets waiters in: the count never goes above the cap
    for thread in checks.threads:
        thread.join(30)
    assert checks.most == health.PER_SERVER and checks.inside == 0


def test_waiters_go_ahead_once_the_server_stalls(monkeypatch):
    monkeypatch.setattr(health, "STALL", 0.2)
    count = health.PER_SERVER + 30
    checks = Checks({"host": "silent.example.com", "port": 5433}, count)
    # No check finishes (the host never answers): after STALL every check is inside at once.
    poll(lambda: checks.inside == count)
    checks.finish.set()
    for thread in checks.threads:
        thread.join(30)


def test_servers_have_their_own_slots_and_a_tunnel_counts_for_its_ssh_host(monkeypatch):
    monkeypatch.setattr(health, "STALL", 30.0)
    one = Checks({"host": "a.example.com", "port": 5432}, health.PER_SERVER)
    other = Checks({"host": "A.example.com", "port": 5433}, health.PER_SERVER)
    tunnel = Checks(
        {
            "host": "a.example.com",
            "port": 5432,
            "sshEnabled": True,
            "sshHost": "bastion.example.com",
            "sshPort": 22,
        },
        health.PER_SERVER,
    )
    files = Checks({"databaseName": "shop.sqlite"}, 40)  # no host: no slot needed
    poll(
        lambda: (
            one.inside == other.inside == tunnel.inside == health.PER_SERVER and files.inside == 40
        )
    )
    for checks in (one, other, tunnel, files):
        checks.finish.set()


def test_checks_read_together_start_together():
    gate = health.Gate(5)
    started: list[int] = []

    def check(n: int) -> None:
        gate.arrive()
        started.append(n)

    threads = [threading.Thread(target=check, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    poll(lambda: gate.arrived == 4)
    assert started == []  # the fifth has not arrived: the four wait (GATE at most)
    check(4)
    for thread in threads:
        thread.join(10)
    assert sorted(started) == [0, 1, 2, 3, 4]
