"""The sync's read-ahead: batches come in order from a reader thread, its errors reach the
caller, leaving early closes the stream, and at most `depth` batches wait in between."""

from __future__ import annotations

import threading

import pytest

from tests.polling import wait_until
from webapp.jobs.batches import read_ahead


def test_batches_in_order_from_a_generator_or_a_list():
    with read_ahead((i for i in range(2500)), 1000) as batches:
        sizes = [len(b) for b in batches]
    assert sizes == [1000, 1000, 500]
    with read_ahead(list(range(5)), 2) as batches:
        assert list(batches) == [[0, 1], [2, 3], [4]]
    with read_ahead(iter(()), 10) as batches:
        assert list(batches) == []


def test_the_readers_error_is_raised_in_the_caller():
    def catalog():
        yield from range(3)
        raise ValueError("the server ended the query")

    with pytest.raises(ValueError, match="ended the query"), read_ahead(catalog(), 2) as batches:
        assert next(batches) == [0, 1]
        next(batches)


def test_leaving_early_closes_the_stream_in_the_reader_thread():
    closed_in: list[str] = []
    main = threading.current_thread().name

    def catalog():
        try:
            yield from range(10_000)
        finally:
            closed_in.append(threading.current_thread().name)

    with pytest.raises(RuntimeError), read_ahead(catalog(), 10) as batches:
        next(batches)
        raise RuntimeError("the store refused the batch")
    assert closed_in and closed_in[0] != main


def test_memory_is_bounded_by_depth():
    produced = []

    def catalog():
        for i in range(100):
            produced.append(i)
            yield i

    with read_ahead(catalog(), 1, depth=2) as batches:
        first = next(batches)
        # The reader may hold one batch in hand and two in the queue, never the whole stream:
        # wait until it has read that far (it then blocks), and see that it went no further.
        wait_until(lambda: len(produced) >= 1 + 2 + 1, what="the reader to fill the queue")
        assert len(produced) == 1 + 2 + 1
        rest = list(batches)
    assert [first, *rest] == [[i] for i in range(100)]
