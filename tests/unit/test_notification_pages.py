"""The notification channel pages (admins) and the Activity page (every member): create with
CSRF, the signing secret shown once, the URL never again, field errors next to the field, Send
test and Redeliver through the delivery job to a real loopback receiver, roles."""

from __future__ import annotations

import re

from tests.fixtures_app import csrf_token
from tests.integration.notify_helpers import webhook_receiver
from webapp.accounts import create_admin
from webapp.extensions import db
from webapp.jobs import deliveries
from webapp.models import Membership, Role

PAGE = "/settings/notifications"


def test_an_admin_adds_a_webhook_and_sees_its_deliveries(admin, app):
    with webhook_receiver() as receiver:
        url = receiver.url("/hook?token=page-secret-token")
        token = csrf_token(admin, PAGE)
        created = admin.post(
            PAGE,
            data={
                "csrf_token": token,
                "type": "webhook",
                "url": url,
                "events": ["source.unhealthy", "schema.changed"],
            },
        )
        html = created.get_data(as_text=True)
        assert created.status_code == 201, html
        secret = re.search(r'id="signing-secret"[^>]*value="(whsec_[^"]+)"', html).group(1)
        assert created.headers["Cache-Control"] == "no-store"
        listing = admin.get(PAGE).get_data(as_text=True)
        assert secret not in listing and "page-secret-token" not in listing
        channel = re.search(r'/settings/notifications/(\d+)"', listing).group(1)
        detail = admin.get(f"{PAGE}/{channel}").get_data(as_text=True)
        assert "127.0.0.1" in detail and "page-secret-token" not in detail
        assert "A source becomes unhealthy, The schema changes" in detail

        token = csrf_token(admin, f"{PAGE}/{channel}")
        assert admin.post(f"{PAGE}/{channel}/test").status_code == 400  # no CSRF token
        assert admin.post(f"{PAGE}/{channel}/test", data={"csrf_token": token}).status_code == 302
        with app.app_context():
            assert deliveries.run_due("page-test") == 1
        detail = admin.get(f"{PAGE}/{channel}").get_data(as_text=True)
        assert 'data-status="delivered"' in detail and "<td>200" in detail
        delivery = re.search(r'data-delivery-id="([0-9a-f-]{36})"', detail).group(1)
        assert (
            admin.post(
                f"{PAGE}/{channel}/deliveries/{delivery}/redeliver", data={"csrf_token": token}
            ).status_code
            == 302
        )
        with app.app_context():
            assert deliveries.run_due("page-test") == 1
        assert len(receiver.requests) == 2

        activity = admin.get("/activity").get_data(as_text=True)
        assert activity.count('data-type="test"') == 1
        assert admin.post(f"{PAGE}/{channel}/delete", data={"csrf_token": token}).status_code == 302
        assert admin.get(f"{PAGE}/{channel}").status_code == 404


def test_refused_input_shows_next_to_its_field(admin, app):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:9"  # configured; no mail is sent here
    token = csrf_token(admin, PAGE)
    blocked = admin.post(
        PAGE,
        data={
            "csrf_token": token,
            "type": "webhook",
            "url": "http://169.254.169.254/latest",
            "events": ["sync.failed"],
        },
    )
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 422
    assert re.search(r'id="url-error">[^<]+<', html), html
    email = admin.post(
        PAGE,
        data={
            "csrf_token": token,
            "type": "email",
            "addresses": "not-an-address",
            "events": ["sync.failed"],
        },
    )
    assert email.status_code == 422
    assert 'id="addresses-error">Use email addresses' in email.get_data(as_text=True)
    none = admin.post(
        PAGE, data={"csrf_token": token, "type": "email", "addresses": "ops@example.com"}
    )
    assert none.status_code == 422 and 'id="events-error">Choose from' in none.get_data(
        as_text=True
    )
    ok = admin.post(
        PAGE,
        data={
            "csrf_token": token,
            "type": "email",
            "addresses": "ops@example.com, db@example.com",
            "events": ["sync.failed"],
        },
    )
    assert ok.status_code == 302
    assert "ops@example.com, db@example.com" in admin.get(ok.headers["Location"]).get_data(
        as_text=True
    )


def test_channels_are_for_admins_and_activity_for_everyone(admin, app):
    with app.app_context():
        member = create_admin("Acme", "viewer@example.com", "viewer password 123")
        membership = db.session.scalar(db.select(Membership).filter_by(user_id=member.id))
        membership.role = getattr(Role, "VIEWER", None) or Role.MEMBER  # before/after teams
        db.session.commit()
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "viewer@example.com",
            "password": "viewer password 123",
        },
    )
    assert other.get("/activity").status_code == 200
    assert other.get(PAGE).status_code == 403
    token = csrf_token(other, "/activity")
    assert (
        other.post(
            PAGE, data={"csrf_token": token, "type": "email", "addresses": "a@example.com"}
        ).status_code
        == 403
    )
    assert "Notifications" not in other.get("/activity").get_data(as_text=True).split("<main>")[0]
