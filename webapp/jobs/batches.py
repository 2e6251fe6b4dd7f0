"""Read ahead: a thread pulls batches from an iterator (a dialect's catalog stream) while the
caller stores the previous batch, so the source's catalog query and the store's inserts overlap.
At most `depth` batches wait in between, so memory stays bounded."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


@contextlib.contextmanager
def read_ahead(items: Iterable[T], size: int, depth: int = 2) -> Iterator[Iterator[list[T]]]:
    """Yield an iterator of lists of up to `size` items, filled by a reader thread.

    The reader's exceptions are raised in the caller. Leaving the block early stops the reader
    and closes `items` (in the reader's thread, which is the only one that ever touched it).
    """
    items = iter(items)  # a dialect may hand back a list
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: object) -> bool:
        while not stop.is_set():
            try:
                waiting.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            while batch := list(islice(items, size)):
                if not put(batch):
                    break
            else:
                put(_DONE)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
            put(_Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def batches() -> Iterator[list[T]]:
        while True:
            entry = waiting.get()
            if entry is _DONE:
                return
            if isinstance(entry, _Failed):
                raise entry.error
            yield entry

    thread = threading.Thread(target=reader, name="datadock-read-ahead", daemon=True)
    thread.start()
    try:
        yield batches()
    finally:
        stop.set()
        thread.join()
