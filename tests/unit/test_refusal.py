"""The one refusal type (webapp/core/refusal.py): immutable, yet raised, chained, noted,
copied and pickled like any exception."""

from __future__ import annotations

import contextlib
import copy
import pickle
import traceback

import pytest

from webapp.core.refusal import (
    ConnectionFailed,
    DuplicateName,
    RateLimited,
    Refusal,
    ValidationFailed,
    VerifyBusy,
    WebhookRefused,
    WebhookThrottled,
)


def test_every_kind_is_a_refusal_with_its_title_and_status():
    kinds = {
        ValidationFailed: ("ValidationError", 400),
        DuplicateName: ("DuplicateName", 400),
        ConnectionFailed: ("ConnectionFailed", 400),
        WebhookRefused: ("Unauthorized", 401),
        WebhookThrottled: ("RateLimitExceeded", 429),
        VerifyBusy: ("RateLimitExceeded", 429),
    }
    for kind, (title, status) in kinds.items():
        assert issubclass(kind, Refusal)
        assert (kind.title, kind.status) == (title, status)


def test_fields_cannot_be_changed_or_deleted():
    failure = ConnectionFailed("auth", "Rejected.", {"password": "Wrong"})
    for name, value in (("step", "tcp"), ("detail", "other"), ("steps", []), ("new", 1)):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(failure, name, value)
    with pytest.raises(AttributeError, match="immutable"):
        del failure.detail
    with pytest.raises(TypeError):
        failure.field_errors["password"] = "changed"  # type: ignore[index]
    errors = {"host": "Host not found"}
    refusal = ValidationFailed("Check.", errors)
    errors["host"] = "changed afterwards"
    assert refusal.field_errors == {"host": "Host not found"}


def test_replace_makes_a_changed_copy_of_the_same_kind():
    failure = ConnectionFailed("timeout", "Timed out.", {"host": "No answer"})
    moved = failure.at_step("auth")
    walked = moved.with_steps([{"name": "auth", "status": "failed"}])
    assert (failure.step, moved.step, type(walked)) == ("timeout", "auth", ConnectionFailed)
    assert failure.steps == () and walked.steps[0]["status"] == "failed"
    assert walked.field_errors == {"host": "No answer"} and str(walked) == "Timed out."
    with pytest.raises(TypeError):
        walked.steps[0]["status"] = "ok"  # type: ignore[index]
    with pytest.raises(TypeError, match="no field"):
        failure.replace(colour="red")
    busy = VerifyBusy("All slots taken.", 1500, 4).replace(detail="Still busy.")
    assert (busy.retry_after_ms, busy.retry_after_seconds, busy.in_flight) == (1500, 2, 4)


def test_raise_from_context_notes_and_tracebacks_still_work():
    def fail() -> None:
        try:
            raise OSError("socket")
        except OSError as exc:
            raise ConnectionFailed("tcp", "Refused.", {"port": "Incorrect port"}) from exc

    with pytest.raises(ConnectionFailed) as caught:
        fail()
    assert isinstance(caught.value.__cause__, OSError)
    assert "Refused." in "".join(traceback.format_exception(caught.value))
    caught.value.add_note("seen by the test")
    assert caught.value.__notes__ == ["seen by the test"]
    caught.value.__traceback__ = None  # what contextlib does to an exception it re-raises

    @contextlib.contextmanager
    def passing_through():
        yield

    with pytest.raises(DuplicateName), passing_through():
        raise DuplicateName("Taken.", {"displayName": "This name is already used"})


def test_copy_and_pickle_keep_every_field():
    for refusal in (
        ConnectionFailed(
            "dns", "Not found.", {"host": "Host not found"}, [{"name": "dns", "status": "failed"}]
        ),
        WebhookThrottled("Too often.", 2500),
        VerifyBusy("Busy.", 1000, 2),
    ):
        for clone in (copy.copy(refusal), pickle.loads(pickle.dumps(refusal))):  # noqa: S301
            assert type(clone) is type(refusal)
            assert clone.body() == refusal.body() and clone.step == refusal.step
            assert clone.headers() == refusal.headers()


def test_the_body_is_the_one_error_shape():
    failure = ConnectionFailed(
        "auth", "Rejected.", {"password": "Wrong"}, [{"name": "auth", "status": "failed"}]
    )
    assert failure.body() == {
        "error": {
            "title": "ConnectionFailed",
            "detail": "Rejected.",
            "fieldErrors": {"password": "Wrong"},
            "steps": [{"name": "auth", "status": "failed"}],
        }
    }
    throttled: RateLimited = WebhookThrottled("Too often.", 1200)
    assert throttled.body()["error"]["retryAfterMs"] == 1200
    assert throttled.headers() == {"Retry-After": "2"}
    assert WebhookRefused("Not valid.").body() == {
        "error": {"title": "Unauthorized", "detail": "Not valid.", "fieldErrors": {}}
    }
