"""Saved sources whose address is refused after they were saved: their sync and health check
fail with the same message verify gives, and send nothing.

A PostgreSQL source is saved for real (verified, first sync) through a counting proxy on the
loopback alias 127.0.0.9 in front of the throwaway PostgreSQL, spelled `::ffff:127.0.0.9`;
then EGRESS_BLOCK=127.0.0.9/32 is added. Every other spelling (most cannot be routed, so they
cannot be verified) and a PostHog source with its API key are written to the store as they
would have been saved before the rule, and checked against a counting listener."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.integration.egress_helpers import ALIAS, NOT_ALLOWED, counting_listener, spellings
from tests.integration.jobs_helpers import org
from tests.integration.test_verify_postgres import values
from webapp import sources as uc
from webapp.connect.errors import ConnectionFailed
from webapp.extensions import db
from webapp.jobs.claims import HEALTH, SYNC, claim_due
from webapp.jobs.health import run_health
from webapp.jobs.sync import run_sync
from webapp.models import Source, utcnow
from webapp.records import vault

POSTHOG_KEY = "phx_saved_personal_api_key_0123456789"


@contextmanager
def blocked_after(app):
    app.config.update(EGRESS_BLOCK=[f"{ALIAS}/32"])
    try:
        yield
    finally:
        app.config.update(EGRESS_BLOCK=[])


def run_due(kind, runner) -> list[int]:
    """Claim every due job of `kind` and run it, the way a scheduler tick does."""
    ids = claim_due(kind, "egress-test", utcnow(), 60, 1000)
    for source_id in ids:
        runner(source_id, "egress-test")
    db.session.expire_all()
    return ids


def verify_detail(raw: dict) -> str:
    with pytest.raises(ConnectionFailed) as caught:
        uc.verify_input(raw)
    assert caught.value.field_errors == {"host": NOT_ALLOWED}
    return caught.value.detail


def saved(dialect: str, host: str, port: int, secrets: dict, **columns) -> Source:
    """A row as a save before the block rule would have left it."""
    source = Source(
        organization_id=org().id,
        display_name=f"{dialect} {host}",
        dialect=dialect,
        host=host,
        port=port,
        secrets_blob=vault().encrypt(secrets),
        **columns,
    )
    db.session.add(source)
    db.session.commit()
    return source


def test_a_verified_postgres_source_fails_sync_and_health_once_blocked(app, admin, pg):
    with app.app_context(), counting_listener(upstream=pg.port) as proxy:
        raw = values(pg, host="::ffff:127.0.0.9", port=proxy.port, sslEnabled=False)
        source = uc.create_source(org(), raw)
        assert source.host == "::ffff:127.0.0.9"
        assert run_due(SYNC, run_sync) == [source.id]
        assert run_due(HEALTH, run_health) == [source.id]
        db.session.refresh(source)
        assert (source.last_sync_status, source.last_health_status) == ("SUCCESS", "HEALTHY")
        reached = len(proxy.accepted)
        assert reached >= 3  # verify, sync, health all went through the proxy

        with blocked_after(app):
            detail = verify_detail(raw)
            uc.request_sync(source)
            uc.request_health_check(source)
            assert run_due(SYNC, run_sync) == [source.id]
            assert run_due(HEALTH, run_health) == [source.id]
            source = db.session.get(Source, source.id)
            assert source.last_sync_status == "FAILED"
            assert source.sync_error_message == detail
            assert source.last_health_status == "UNHEALTHY"
            assert uc.health_history(source)[-1].error_message == detail
            assert source.current_snapshot_id is not None  # the last good snapshot is kept
        assert len(proxy.accepted) == reached


def test_every_saved_spelling_fails_sync_and_health_and_sends_nothing(app, admin):
    with app.app_context(), counting_listener() as listener:
        rows = [
            saved(
                "POSTGRES",
                spelling,
                listener.port,
                {"password": "pw"},
                database_name="app",
                username="reader",
                ssl_enabled=False,
            )
            for spelling in spellings(ALIAS)
        ]
        with blocked_after(app):
            for source in rows:
                uc.request_sync(source)
            assert sorted(run_due(SYNC, run_sync)) == sorted(s.id for s in rows)
            assert sorted(run_due(HEALTH, run_health)) == sorted(s.id for s in rows)
            for source in rows:
                source = db.session.get(Source, source.id)
                assert source.last_sync_status == "FAILED", source.host
                assert "DATADOCK_EGRESS_BLOCK" in source.sync_error_message
                assert source.last_health_status == "UNHEALTHY", source.host
                assert uc.health_history(source)[-1].error_message == source.sync_error_message
        assert listener.accepted == []


def test_a_saved_posthog_source_sends_its_key_nowhere_once_blocked(app, admin):
    """The issue's case: a PostHog source sent its API key to the address on every check."""
    with app.app_context(), counting_listener() as listener:
        source = saved(
            "POSTHOG",
            "::ffff:127.0.0.9",
            listener.port,
            {"password": POSTHOG_KEY},
            ssl_enabled=False,
            settings={"posthogProjectId": "12345"},
        )
        # Unblocked, the health check does connect to it (the control).
        assert run_due(HEALTH, run_health) == [source.id]
        assert listener.wait_for(1)
        reached = len(listener.accepted)
        with blocked_after(app):
            uc.request_health_check(source)
            assert run_due(HEALTH, run_health) == [source.id]
            latest = uc.health_history(db.session.get(Source, source.id))[-1]
            assert not latest.healthy
            assert "an address Datadock does not connect to" in latest.error_message
            assert POSTHOG_KEY not in latest.error_message
        assert len(listener.accepted) == reached
