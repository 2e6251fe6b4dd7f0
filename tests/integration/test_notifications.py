"""Events and their deliveries with real parts: a throwaway PostgreSQL the test stops and
starts again, a loopback webhook receiver (signatures checked), a loopback SMTP server
(aiosmtpd). Health checks, syncs and deliveries run through the job functions, the way the
scheduler's ticks run them, with the clock passed in where back-off is waited for."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.integration.jobs_helpers import (
    add_source,
    fresh_database,
    org,
    postgres_store_app,
    run_sql,
    sync_once,
)
from tests.integration.notify_helpers import smtp_server, wait_for, webhook_receiver
from tests.servers import (
    PgServer,
    _as_postgres,
    _certificates,
    _pg_bin,
    _wait_ready,
    free_port,
    server_dir,
    throwaway_postgres,
)
from webapp import notifications
from webapp import sources as uc
from webapp.accounts import create_admin
from webapp.core.signatures import verify
from webapp.extensions import db
from webapp.jobs import deliveries, events, scheduler
from webapp.jobs.claims import HEALTH, claim_due
from webapp.jobs.health import run_health
from webapp.models import Delivery, Event, Source, utcnow


@pytest.fixture(scope="module")
def pg_stoppable() -> Iterator[tuple[PgServer, object]]:
    """A PostgreSQL of this module's own, which tests stop and start again."""
    with server_dir("pgnotify") as base, throwaway_postgres(base, ssl=False) as server:
        yield server, base


def restart(server: PgServer, base) -> None:
    """Start the stopped cluster again on its port."""
    log = base / "restart.log"
    with log.open("w") as out:
        server.process = subprocess.Popen(
            [
                _pg_bin("postgres"),
                "-D",
                str(server.data_dir),
                "-p",
                str(server.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={base / 'sock'}",
                "-c",
                "fsync=off",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            **_as_postgres(),
        )
    _wait_ready(server, log)


def check_now(source_id: int) -> Source:
    """Make the health check due and run it the way a tick does."""
    source = db.session.get(Source, source_id)
    uc.request_health_check(source)
    assert claim_due(HEALTH, "notify-test", utcnow(), 60, 100) == [source_id]
    run_health(source_id, "notify-test")
    db.session.expire_all()
    return db.session.get(Source, source_id)


def events_of(kind: str) -> list[Event]:
    return list(db.session.scalars(db.select(Event).where(Event.type == kind)))


def webhook(receiver, **extra) -> tuple[object, str]:
    channel, secret = notifications.create_channel(
        org(), {"type": "webhook", "url": receiver.url(), **extra}
    )
    return channel, secret


def payloads(receiver, secret: str) -> list[dict]:
    """Every request's JSON, after checking its signature and headers."""
    found = []
    for request in receiver.requests:
        assert verify(secret, request.headers["X-Datadock-Signature"], request.body)
        payload = json.loads(request.body)
        assert request.headers["X-Datadock-Event"] == payload["type"]
        assert len(request.headers["X-Datadock-Delivery"]) == 36
        found.append(payload)
    return found


def test_a_stopped_server_raises_one_unhealthy_and_one_recovered(app, admin, pg_stoppable):
    server, base = pg_stoppable
    with app.app_context(), webhook_receiver() as receiver:
        _, secret = webhook(receiver)
        source = add_source(server, server.database)
        assert check_now(source.id).last_health_status == "HEALTHY"
        server.stop()
        try:
            assert check_now(source.id).last_health_status == "UNHEALTHY"
            assert events_of("source.unhealthy") == []  # one failure is not an incident yet
            check_now(source.id)
            check_now(source.id)  # still down: no second alert
            [unhealthy] = events_of("source.unhealthy")
            assert deliveries.run_due("notify-test") == 1
            assert deliveries.run_due("notify-test") == 0
        finally:
            restart(server, base)
        assert check_now(source.id).last_health_status == "HEALTHY"
        check_now(source.id)
        [recovered] = events_of("source.recovered")
        assert deliveries.run_due("notify-test") == 1
        sent = payloads(receiver, secret)
        assert [p["type"] for p in sent] == ["source.unhealthy", "source.recovered"]
        first, second = sent
        assert set(first) == {"id", "type", "occurredAt", "organizationId", "source", "data", "url"}
        assert first["id"] == unhealthy.uid and second["id"] == recovered.uid
        assert first["source"] == {
            "id": str(source.id),
            "displayName": "Test DB",
            "dialect": "POSTGRES",
        }
        assert first["data"]["consecutiveFailures"] == 2
        assert "refused" in first["data"]["reason"] or "connect" in first["data"]["reason"]
        assert server.password not in receiver.requests[0].body.decode()
        assert second["data"]["durationSeconds"] >= 0
        assert second["data"]["unhealthySince"] == first["data"]["unhealthySince"]
        assert first["url"].endswith(f"/sources/{source.id}")


def test_flapping_never_alerts(app, admin, pg):
    with app.app_context(), webhook_receiver() as receiver:
        webhook(receiver)
        source = add_source(pg, pg.database)
        port = source.port
        for _ in range(3):  # fail, succeed, fail, succeed …: never two failures in a row
            source.port = free_port()  # nothing listens there: a real refused connection
            db.session.commit()
            assert check_now(source.id).last_health_status == "UNHEALTHY"
            source.port = port
            db.session.commit()
            assert check_now(source.id).last_health_status == "HEALTHY"
        assert events_of("source.unhealthy") == events_of("source.recovered") == []
        assert deliveries.run_due("notify-test") == 0 and receiver.requests == []


def test_a_table_added_raises_one_schema_changed(app, admin, pg):
    database = fresh_database(pg, "notify")
    run_sql(pg, database, "CREATE TABLE orders (id int primary key)")
    with app.app_context(), webhook_receiver() as receiver:
        _, secret = webhook(receiver, events=["schema.changed"])
        source = add_source(pg, database)
        sync_once(source.id)  # the first snapshot: nothing to compare with
        assert events_of("schema.changed") == []
        run_sql(pg, database, "CREATE TABLE invoices (id int primary key, total numeric)")
        uc.request_sync(db.session.get(Source, source.id))
        sync_once(source.id)
        [event] = events_of("schema.changed")
        assert deliveries.run_due("notify-test") == 1
        [payload] = payloads(receiver, secret)
        assert payload["data"]["counts"]["tablesAdded"] == 1
        assert payload["data"]["first"]["tablesAdded"] == ["public.invoices"]
        run_id = payload["data"]["syncId"]
        assert payload["url"].endswith(f"/sources/{source.id}#run-{run_id}")
        assert payload["id"] == event.uid


def test_a_failed_sync_raises_sync_failed_with_the_users_reason(app, admin, pg):
    with app.app_context(), webhook_receiver() as receiver:
        _, secret = webhook(receiver, events=["sync.failed"])
        source = add_source(pg, pg.database)
        source.port = free_port()
        db.session.commit()
        assert sync_once(source.id).last_sync_status == "FAILED"
        uc.request_sync(db.session.get(Source, source.id))
        sync_once(source.id)  # a second failure in a row: no second event
        [_event] = events_of("sync.failed")
        deliveries.run_due("notify-test")
        [payload] = payloads(receiver, secret)
        reason = payload["data"]["reason"]
        assert reason == db.session.get(Source, source.id).sync_error_message
        assert "psycopg" not in reason and "Traceback" not in reason


def test_a_failing_receiver_is_retried_with_back_off_and_logged(app, admin, pg):
    with app.app_context(), webhook_receiver() as receiver:
        receiver.answers = [500, 503]
        channel, secret = webhook(receiver)
        delivery = notifications.send_test(channel)
        now = utcnow()
        assert deliveries.run_due("notify-test", now) == 1
        db.session.expire_all()
        delivery = db.session.get(Delivery, delivery.id)
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
        assert delivery.next_attempt_at - now == timedelta(seconds=60)
        assert deliveries.run_due("notify-test", now + timedelta(seconds=30)) == 0  # not yet
        later = now + timedelta(seconds=60)
        assert deliveries.run_due("notify-test", later) == 1
        db.session.expire_all()
        assert db.session.get(Delivery, delivery.id).next_attempt_at - later == timedelta(
            seconds=120
        )
        assert deliveries.run_due("notify-test", later + timedelta(seconds=120)) == 1
        db.session.expire_all()
        delivery = db.session.get(Delivery, delivery.id)
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 3, 200)
        assert [entry["code"] for entry in delivery.attempt_log] == [500, 503, 200]
        bodies = payloads(receiver, secret)
        assert [p["type"] for p in bodies] == ["test"] * 3
        assert len({r.headers["X-Datadock-Delivery"] for r in receiver.requests}) == 1
        # The log as the API shows it, and Redeliver: a new delivery of the same event.
        [(logged, event)] = notifications.list_deliveries(channel)[0]
        view = notifications.delivery_view(logged, event)
        assert view["attempts"] == 3 and [e["code"] for e in view["log"]] == [500, 503, 200]
        again = notifications.redeliver(channel, logged.uid)
        assert deliveries.run_due("notify-test") == 1
        assert receiver.requests[-1].headers["X-Datadock-Delivery"] == again.uid
        assert json.loads(receiver.requests[-1].body)["id"] == event.uid


def test_retries_stop_after_a_day(app, admin):
    with app.app_context(), webhook_receiver() as receiver:
        receiver.answers = [500] * 100
        channel, _ = webhook(receiver)
        delivery = notifications.send_test(channel)
        moment = utcnow()
        for _ in range(100):
            if not deliveries.run_due("notify-test", moment):
                break
            db.session.expire_all()
            delivery = db.session.get(Delivery, delivery.id)
            if delivery.next_attempt_at is None:
                break
            moment = delivery.next_attempt_at
        assert delivery.status == "failed"
        assert moment - delivery.created_at <= timedelta(hours=24)
        print(
            f"gave up after {delivery.attempts} attempts over "
            f"{(moment - delivery.created_at) / timedelta(hours=1):.1f} h"
        )


def test_a_client_error_fails_at_once(app, admin):
    with app.app_context(), webhook_receiver() as receiver:
        receiver.answers = [410]
        delivery = notifications.send_test(webhook(receiver)[0])
        deliveries.run_due("notify-test")
        db.session.expire_all()
        delivery = db.session.get(Delivery, delivery.id)
        assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 410)


def test_the_egress_policy_applies_at_delivery(app, admin):
    with app.app_context(), webhook_receiver() as receiver:
        delivery = notifications.send_test(webhook(receiver)[0])
        app.config["EGRESS_BLOCK"] = ["127.0.0.0/8"]  # the operator blocks loopback later
        deliveries.run_due("notify-test")
        db.session.expire_all()
        delivery = db.session.get(Delivery, delivery.id)
        assert delivery.status == "failed" and "does not connect to" in delivery.error
        assert receiver.requests == []


def test_an_email_arrives_at_the_smtp_server(app, admin, pg):
    with smtp_server() as box, app.app_context():
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{box.port}"
        app.config["SMTP_FROM"] = "datadock@example.com"
        _channel, secret = notifications.create_channel(
            org(), {"type": "email", "addresses": ["ops@example.com", "db@example.com"]}
        )
        assert secret is None
        source = add_source(pg, pg.database)
        source.port = free_port()
        db.session.commit()
        sync_once(source.id)  # fails: sync.failed
        assert deliveries.run_due("notify-test") == 1
        [mail] = box.messages
        assert sorted(mail.rcpt_tos) == ["db@example.com", "ops@example.com"]
        text = mail.content.decode()
        assert "Subject: [Datadock] Schema sync of Test DB failed" in text
        assert f"/sources/{source.id}#run-" in text
        assert db.session.scalar(db.select(Delivery.status)) == "delivered"


def test_the_running_scheduler_sends_events_on_its_own(app, admin, pg):
    """No job function called by hand: the scheduler's ticks check health (asked for again
    like "Check now" does), open the incident, and its delivery thread sends the alert (a
    closed port stands in for the outage here; the stop/start test uses a stopped server)."""
    app.config.update(SCHEDULER_TICK_SECONDS=0.2)
    with app.app_context(), webhook_receiver() as receiver:
        _, secret = webhook(receiver, events=["source.unhealthy"])
        source = add_source(pg, pg.database)
        source.port = free_port()
        source.next_sync_at = None
        db.session.commit()
        scheduler.start(app)

        def check_again_and_look() -> list:
            """ "Check now" whenever the last check is done (health runs per its interval)."""
            db.session.expire_all()
            current = db.session.get(Source, source.id)
            if (
                current.health_lease_owner is None
                and current.next_health_at is not None
                and current.next_health_at > utcnow()
            ):
                uc.request_health_check(current)
            db.session.commit()
            return receiver.requests

        wait_for(check_again_and_look, timeout=60)
        [payload] = payloads(receiver, secret)
        assert payload["type"] == "source.unhealthy"
        assert payload["source"]["id"] == str(source.id)


def test_the_sources_own_threshold_decides_when_it_is_an_incident(app, admin, pg):
    with app.app_context(), webhook_receiver() as receiver:
        webhook(receiver)
        source = add_source(pg, pg.database)
        source.alert_after_failures = 3
        source.port = free_port()
        db.session.commit()
        check_now(source.id)
        check_now(source.id)
        assert events_of("source.unhealthy") == []
        check_now(source.id)
        [event] = events_of("source.unhealthy")
        assert event.payload["data"]["consecutiveFailures"] == 3


def test_a_slack_channel_gets_a_readable_message(app, admin, pg):
    """A loopback receiver stands in for hooks.slack.com (no traffic leaves the machine)."""
    with app.app_context(), webhook_receiver() as receiver:
        channel, secret = notifications.create_channel(
            org(), {"type": "slack", "url": receiver.url("/services/T0/B0/slack-token")}
        )
        assert secret is None
        assert notifications.channel_view(channel)["host"] == "127.0.0.1"
        source = add_source(pg, pg.database, displayName="Orders <DB>")
        source.port = free_port()
        db.session.commit()
        check_now(source.id)
        check_now(source.id)
        assert deliveries.run_due("notify-test") == 1
        [request] = receiver.requests
        assert "X-Datadock-Signature" not in request.headers
        text = json.loads(request.body)["text"]
        lines = text.splitlines()
        assert lines[0] == "*Orders &lt;DB&gt; is unhealthy (2 failed checks in a row)*"
        assert lines[-1] == f"<http://localhost:5000/sources/{source.id}|Open in Datadock>"


def test_deliveries_are_claimed_once_on_a_postgresql_store(pg, tmp_path, monkeypatch):
    """Two owners claiming at once on PostgreSQL (FOR UPDATE SKIP LOCKED) share the due
    deliveries without overlap; a lease that expires makes a delivery due again."""
    with (
        postgres_store_app(pg, "notifystore", tmp_path / "instance", monkeypatch) as application,
        application.app_context(),
    ):
        create_admin("Acme", "admin@example.com", "a long admin password")
        channel, _ = notifications.create_channel(
            org(), {"type": "webhook", "url": "http://127.0.0.1:9/hook"}
        )
        for _ in range(10):
            notifications.send_test(channel)
        now = utcnow()
        results: dict[str, list[int]] = {}

        def claim_as(owner: str) -> None:
            with application.app_context():
                results[owner] = deliveries.claim(owner, now, 6)
                db.session.remove()

        threads = [threading.Thread(target=claim_as, args=(o,)) for o in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results["a"] + results["b"]) == sorted(
            db.session.scalars(db.select(Delivery.id))
        )
        assert not set(results["a"]) & set(results["b"])
        assert deliveries.claim("c", now, 10) == []
        later = now + timedelta(seconds=deliveries.LEASE_SECONDS + 1)
        assert len(deliveries.claim("c", later, 20)) == 10


def test_events_older_than_the_retention_are_pruned_with_their_deliveries(app, admin):
    with app.app_context(), webhook_receiver() as receiver:
        channel, _ = webhook(receiver)
        old = notifications.send_test(channel)
        old_ids = (old.id, old.event_id)
        new_id = notifications.send_test(channel).id
        event = db.session.get(Event, old.event_id)
        event.occurred_at = utcnow() - timedelta(days=events.EVENT_RETENTION_DAYS + 1)
        db.session.commit()
        runner = scheduler.Runner(app)  # the hourly prune job, run once here
        runner.prune()
        db.session.expire_all()
        assert db.session.get(Delivery, old_ids[0]) is None
        assert db.session.get(Event, old_ids[1]) is None
        assert db.session.get(Delivery, new_id) is not None
        runner.stop()


def test_https_receivers_are_verified_by_the_urls_host_name(app, admin, tmp_path, monkeypatch):
    """The connection goes to the checked address with the URL's name as SNI and as the name
    the certificate must carry: trusted CA → delivered; unknown CA → a TLS error, retried."""
    ca, cert, key = _certificates(tmp_path)
    with app.app_context(), webhook_receiver(tls=(cert, key)) as receiver:
        channel, secret = notifications.create_channel(
            org(), {"type": "webhook", "url": f"https://localhost:{receiver.port}/hook"}
        )
        untrusted = notifications.send_test(channel)
        deliveries.run_due("notify-test")
        db.session.expire_all()
        untrusted = db.session.get(Delivery, untrusted.id)
        assert (untrusted.status, untrusted.response_code) == ("pending", None)
        assert "TLS" in untrusted.error and receiver.requests == []
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # read by ssl.create_default_context()
        assert deliveries.run_due("notify-test", untrusted.next_attempt_at) == 1
        [request] = receiver.requests
        assert request.headers["Host"] == f"localhost:{receiver.port}"
        assert verify(secret, request.headers["X-Datadock-Signature"], request.body)
