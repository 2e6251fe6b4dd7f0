"""Wait for a condition, never for a fixed time: the tests' shared poll.

A test that needs something to have happened (a server answering, a sync finished, a thread
blocked) asks for it with `wait_until` instead of sleeping and hoping. The timeout is a safety
deadline only: it is generous, nothing is timed, and a loaded machine merely takes longer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.05,
    *,
    what: str = "the condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `predicate` until it returns something truthy, and return that.

    Exceptions of the `ignore` types count as "not yet" (e.g. OSError while a server starts);
    any other exception propagates at once. After `timeout` seconds, AssertionError naming
    `what` (and the last ignored error, if any).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            if value := predicate():
                return value
        except ignore as error:
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)
