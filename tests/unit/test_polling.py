"""The tests' shared poll (tests/polling.py): returns the first truthy value, treats the listed
errors as "not yet", and names what it waited for when the safety deadline passes."""

from __future__ import annotations

import threading

import pytest

from tests.polling import wait_until


def test_returns_the_value_once_the_condition_holds():
    ready = threading.Event()
    threading.Timer(0.05, ready.set).start()
    assert wait_until(lambda: ready.is_set() and "ready", 10, 0.01) == "ready"


def test_listed_errors_mean_not_yet_and_others_propagate():
    calls = []

    def flaky() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("not listening yet")
        return True

    assert wait_until(flaky, 10, 0.01, ignore=(OSError,)) is True
    assert len(calls) == 3
    with pytest.raises(ValueError):
        wait_until(lambda: int("x"), 10, 0.01, ignore=(OSError,))


def test_the_deadline_names_what_was_awaited_and_the_last_error():
    with pytest.raises(AssertionError, match="waiting for the moon"):
        wait_until(lambda: False, 0.05, 0.01, what="the moon")

    def refused() -> bool:
        raise ConnectionRefusedError("port closed")

    with pytest.raises(AssertionError, match="port closed"):
        wait_until(refused, 0.05, 0.01, what="a server", ignore=(OSError,))
