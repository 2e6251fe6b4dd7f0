"""Invitations by email against a real SMTP server on loopback (aiosmtpd) that requires
STARTTLS before AUTH, with a certificate from a test CA the process is told to trust
(SSL_CERT_FILE, read by ssl.create_default_context in webapp/mailer.py). The link in the mail
is the one the page shows once; it works once; the CLI prints one too."""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask_migrate import upgrade

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token
from tests.polling import wait_until
from tests.servers import _certificates, free_port
from webapp import create_app
from webapp.extensions import db
from webapp.models import AuditEvent

SMTP_USER, SMTP_PASSWORD = "inviter", "smtp secret 123"
BASE_URL = "https://datadock.example.test"


@dataclass
class Mailbox:
    port: int
    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, over TLS)


@contextlib.contextmanager
def starttls_server(cert: str, key: str) -> Iterator[Mailbox]:
    """aiosmtpd on 127.0.0.1 that offers STARTTLS and accepts AUTH only over TLS."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox(free_port())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(envelope)
            return "250 OK"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        box.logins.append((auth_data.login.decode(), session.ssl is not None))
        return AuthResult(success=ok)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=box.port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mail_app(tmp_path, monkeypatch):
    ca, cert, key = _certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with starttls_server(str(cert), str(key)) as box:
        app = create_app(
            {
                "TESTING": True,
                "SCHEDULER_ENABLED": False,
                "BASE_URL": BASE_URL,
                "SMTP_URL": f"smtp://{SMTP_USER}:{SMTP_PASSWORD.replace(' ', '%20')}"
                f"@127.0.0.1:{box.port}",
                "SMTP_FROM": "datadock@example.test",
            }
        )
        with app.app_context():
            upgrade()
        yield app, box
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _text(envelope: Any) -> str:
    return email.message_from_bytes(envelope.content, policy=email.policy.default).get_content()


def _admin(app):
    client = app.test_client()
    token = csrf_token(client, "/setup")
    assert (
        client.post(
            "/setup",
            data={
                "csrf_token": token,
                "organization": "Acme",
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
                "confirm": ADMIN_PASSWORD,
            },
        ).status_code
        == 302
    )
    return client


def test_an_invitation_is_mailed_over_starttls_and_its_link_works_once(mail_app):
    app, box = mail_app
    admin = _admin(app)
    token = csrf_token(admin, "/settings/members")
    page = admin.post(
        "/settings/members/invite",
        data={"csrf_token": token, "email": "Ana@Corp.Local", "role": "editor"},
    )
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "We emailed it." in html
    shown = re.search(r'id="invitation-url"[^>]*value="([^"]+)"', html).group(1)
    assert shown.startswith(BASE_URL + "/invitations/")
    wait_until(lambda: box.messages, what="the invitation mail")
    message = box.messages[0]
    assert message.rcpt_tos == ["ana@corp.local"]
    body = _text(message)
    assert shown in body and "Acme" in body and "editor" in body
    assert box.logins == [(SMTP_USER, True)]  # AUTH only after STARTTLS
    assert SMTP_PASSWORD not in html
    # The link works once, in a fresh browser, on this server (BASE_URL only names it).
    path = shown.removeprefix(BASE_URL)
    ana = app.test_client()
    form_token = csrf_token(ana, path)
    accepted = ana.post(
        path,
        data={
            "csrf_token": form_token,
            "name": "Ana",
            "password": "ana's long password",
            "confirm": "ana's long password",
        },
    )
    assert accepted.status_code == 302
    assert ana.get("/sources").status_code == 200
    again = app.test_client().get(path)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    with app.app_context():
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
    assert "invitation.sent" in actions and "invitation.accepted" in actions


def test_the_cli_prints_a_link_and_mails_it(mail_app):
    app, box = mail_app
    _admin(app)
    result = app.test_cli_runner().invoke(
        args=["datadock", "invite", "--org", "Acme", "--email", "x@y", "--role", "editor"]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"https://\S+/invitations/\S+", result.output).group(0)
    assert link.startswith(BASE_URL)
    wait_until(lambda: box.messages, what="the invitation mail")
    assert link in _text(box.messages[0])
    refused = app.test_cli_runner().invoke(
        args=["datadock", "invite", "--org", "Acme", "--email", "not-an-email"]
    )
    assert refused.exit_code != 0 and "@-sign" in refused.output
    created = app.test_cli_runner().invoke(
        args=["datadock", "create-admin", "--org", "Acme", "--email", "ops@example.test"],
        env={"DATADOCK_ADMIN_PASSWORD": "an admin password 1"},
    )
    assert created.exit_code == 0, created.output
    bad = app.test_cli_runner().invoke(
        args=["datadock", "create-admin", "--org", "Acme", "--email", "ops@@example.test"],
        env={"DATADOCK_ADMIN_PASSWORD": "an admin password 1"},
    )
    assert bad.exit_code != 0 and "email:" in bad.output
