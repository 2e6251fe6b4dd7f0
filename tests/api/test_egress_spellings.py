"""Every spelling of a blocked address is refused at every entry point that takes a host, and
nothing is sent: a real listener on the loopback alias 127.0.0.9 (blocked with
EGRESS_BLOCK=127.0.0.9/32) counts the connections that reach it.

Entry points: the API's verify and create (host field, pasted connection string, SSH host),
the HTML form (htmx verify and the no-JS post), and a provisioning file. The metadata
address's spellings are refused with no configuration at all (nothing can listen there
without a network namespace; tests/integration/test_egress_names.py uses one)."""

from __future__ import annotations

import re
from textwrap import dedent

import pytest

from tests.api.conftest import Api, make_org
from tests.fixtures_app import csrf_token
from tests.integration.egress_helpers import (
    ALIAS,
    NOT_ALLOWED,
    counting_listener,
    spellings,
    url_host,
)
from webapp.extensions import db
from webapp.models import Source

SPELLINGS = [ALIAS, *spellings(ALIAS)]
METADATA = ["169.254.169.254", *spellings("169.254.169.254")]


@pytest.fixture
def blocked(app):
    """The listener on 127.0.0.9, and the app told to refuse that address."""
    with counting_listener() as listener:
        app.config.update(EGRESS_BLOCK=[f"{ALIAS}/32"], EGRESS_ALLOW=[])
        yield listener
        app.config.update(EGRESS_BLOCK=[])


def postgres(host: str, port: int, **more) -> dict:
    return {
        "dialect": "POSTGRES",
        "host": host,
        "port": port,
        "databaseName": "app",
        "username": "reader",
        "password": "pw",
        "sslEnabled": False,
        **more,
    }


def sources_count(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Source))


def test_the_listener_sees_a_verify_when_nothing_blocks_it(app, api: Api):
    """The control: unblocked, a mapped spelling reaches the listener (as 127.0.0.9), so the
    zero counts below mean something."""
    with counting_listener() as listener:
        response = api.post("/verify", json=postgres("::ffff:127.0.0.9", listener.port))
        assert response.status_code == 400  # the listener closes at once: not PostgreSQL
        assert response.get_json()["error"]["fieldErrors"].get("host") != NOT_ALLOWED
        assert listener.wait_for(1)
        assert {peer for peer, _ in listener.accepted} == {"127.0.0.1"}


def test_api_verify_and_create_refuse_every_spelling_and_send_nothing(app, api: Api, blocked):
    for index, spelling in enumerate(SPELLINGS):
        verify = api.post("/verify", json=postgres(spelling, blocked.port))
        error = verify.get_json()["error"]
        assert verify.status_code == 400, spelling
        assert error["title"] == "ConnectionFailed"
        assert error["fieldErrors"] == {"host": NOT_ALLOWED}, spelling
        assert "DATADOCK_EGRESS_BLOCK" in error["detail"]
        assert {s["name"]: s["status"] for s in error["steps"]}["tcp"] == "not_run"
        create = api.post(
            json={"type": "direct", "displayName": f"S{index}", **postgres(spelling, blocked.port)}
        )
        assert create.status_code == 400, spelling
        assert create.get_json()["error"]["fieldErrors"] == {"host": NOT_ALLOWED}
    assert blocked.accepted == []
    assert sources_count(app) == 0


def test_a_pasted_connection_string_is_refused_in_every_spelling(app, api: Api, blocked):
    for index, spelling in enumerate(SPELLINGS):
        url = f"postgresql://reader:pw@{url_host(spelling)}:{blocked.port}/app?sslmode=disable"
        response = api.post(
            json={"type": "direct", "displayName": f"U{index}", "connectionString": url}
        )
        assert response.status_code == 400, spelling
        assert response.get_json()["error"]["fieldErrors"] == {"host": NOT_ALLOWED}, spelling
    assert blocked.accepted == []


def test_the_ssh_host_is_refused_in_every_spelling(app, api: Api, blocked):
    for spelling in SPELLINGS:
        response = api.post(
            "/verify",
            json=postgres(
                "db.internal",
                5432,
                sshEnabled=True,
                sshHost=spelling,
                sshPort=blocked.port,
                sshUsername="tunnel",
                sshPassword="ssh-pw",
            ),
        )
        assert response.status_code == 400, spelling
        assert response.get_json()["error"]["fieldErrors"] == {"sshHost": NOT_ALLOWED}
    assert blocked.accepted == []


def test_an_update_to_a_blocked_spelling_is_refused(app, api: Api, blocked):
    from tests.api.conftest import add_source

    source_id = add_source(app, api.org_id, "Warehouse")
    for spelling in SPELLINGS:
        response = api.patch(
            f"/{source_id}", json={"host": spelling, "port": blocked.port, "password": "pw"}
        )
        assert response.status_code == 400, spelling
        assert response.get_json()["error"]["fieldErrors"] == {"host": NOT_ALLOWED}
    assert blocked.accepted == []
    with app.app_context():
        assert db.session.get(Source, source_id).host == "db.invalid"


def test_the_metadata_address_is_refused_by_default_through_the_api(app, api: Api):
    assert app.config["EGRESS_BLOCK"] == [] and app.config["EGRESS_ALLOW"] == []
    for spelling in METADATA:
        response = api.post("/verify", json=postgres(spelling, 80))
        error = response.get_json()["error"]
        assert error["fieldErrors"] == {"host": NOT_ALLOWED}, spelling
        assert "cloud metadata" in error["detail"]


def _slots(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="field-error" id="(\w+)-error"[^>]*>([^<]*)</p>', html))


def test_the_form_refuses_every_spelling_with_htmx_and_without(app, admin, blocked):
    token = csrf_token(admin, "/sources/new")
    for index, spelling in enumerate(SPELLINGS):
        form = {
            "csrf_token": token,
            "displayName": f"F{index}",
            **{
                k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in postgres(spelling, blocked.port).items()
            },
        }
        form.pop("sslEnabled")
        htmx = admin.post("/sources/verify", data=form, headers={"HX-Request": "true"})
        assert _slots(htmx.get_data(as_text=True))["host"] == NOT_ALLOWED, spelling
        plain = admin.post("/sources/new", data=form)
        html = plain.get_data(as_text=True)
        assert plain.status_code == 422, spelling
        assert f'<p class="field-error" id="host-error">{NOT_ALLOWED}</p>' in html, spelling
        assert "DATADOCK_EGRESS_BLOCK" in html
    assert blocked.accepted == []
    assert sources_count(app) == 0


def test_a_provisioning_file_refuses_every_spelling(app, blocked, tmp_path):
    make_org(app, "Acme", "admin@example.com")
    entries = "".join(
        f"""
          - displayName: P{index}
            dialect: POSTGRES
            host: "{spelling}"
            port: {blocked.port}
            databaseName: app
            username: reader
            password: pw
            sslEnabled: false
        """
        for index, spelling in enumerate(SPELLINGS)
    )
    path = tmp_path / "sources.yml"
    path.write_text(
        dedent("""
        organization: Acme
        sources:
        """)
        + dedent(entries)
    )
    result = app.test_cli_runner().invoke(args=["datadock", "provision", str(path)])
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("failed")]
    assert len(failed) == len(SPELLINGS), result.output
    assert all(f"host: {NOT_ALLOWED}" in line for line in failed), result.output
    assert blocked.accepted == []
    assert sources_count(app) == 0


def test_production_refuses_loopback_unless_the_operator_allows_it(app, api: Api):
    with counting_listener() as listener:
        app.config.update(DATADOCK_PRODUCTION=True, EGRESS_ALLOW=[])
        try:
            for spelling in [ALIAS, "::ffff:127.0.0.9", "127.9", "localhost", "127.1", "[::1]"]:
                response = api.post("/verify", json=postgres(spelling, listener.port))
                error = response.get_json()["error"]
                assert error["fieldErrors"] == {"host": NOT_ALLOWED}, spelling
                assert "loopback, refused in production" in error["detail"]
            assert listener.accepted == []
            app.config.update(EGRESS_ALLOW=["127.0.0.0/8", "::1/128"])
            allowed = api.post("/verify", json=postgres("::ffff:127.0.0.9", listener.port))
            assert allowed.get_json()["error"]["fieldErrors"].get("host") != NOT_ALLOWED
            assert listener.wait_for(1)
        finally:
            app.config.update(DATADOCK_PRODUCTION=False, EGRESS_ALLOW=[])
