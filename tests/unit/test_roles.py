"""Every route and API operation declares the role or key scope it needs, and each role and
scope gets exactly that: the test walks Flask's URL map (pages and API) and the OpenAPI
document, and calls each route as a viewer, an editor, an admin and with read, write and
admin keys."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.fixtures_app import csrf_token
from tests.teams_helpers import invite_and_accept, key_of, logged_in
from tests.unit.test_hardening import PUBLIC
from webapp.members.roles import at_least, scope_allows

ROLES = ("viewer", "editor", "admin")
SCOPES = ("read", "write", "admin")
FAKE_ID = "987654"


def _web_url(rule) -> str:
    values = {
        name: (int(FAKE_ID) if type(conv).__name__ == "IntegerConverter" else "x" * 20)
        for name, conv in rule._converters.items()
    }
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def team(app: Flask, admin):
    """Clients of an admin (from setup), an editor and a viewer (from invitations)."""
    invite_and_accept(app, "ed@corp.local", "editor")
    invite_and_accept(app, "vi@example.test", "viewer")
    return {
        "admin": admin,
        "editor": logged_in(app, "ed@corp.local"),
        "viewer": logged_in(app, "vi@example.test"),
    }


def test_every_page_route_declares_a_role_and_each_role_gets_exactly_it(app, team):
    tokens = {role: csrf_token(client, "/sources") for role, client in team.items()}
    seen = dict.fromkeys(ROLES, 0)
    for rule in app.url_map.iter_rules():
        if (
            rule.endpoint == "static"
            or rule.endpoint in PUBLIC
            or rule.endpoint == "web.accept_invitation"
            or not rule.endpoint.startswith("web.")
        ):
            continue
        if rule.rule.startswith(("/hooks/", "/metrics")):
            continue
        needed = getattr(app.view_functions[rule.endpoint], "access", None)
        assert needed in ROLES, f"{rule.endpoint} ({rule.rule}) declares no role"
        seen[needed] += 1
        url = _web_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role, client in team.items():
                allowed = at_least(role, needed)
                if allowed and method != "GET":
                    continue  # an allowed action would act: only refusals are walked
                data = {"csrf_token": tokens[role]} if method != "GET" else None
                status = client.open(url, method=method, data=data).status_code
                if allowed:
                    assert status not in (302, 401, 403), (role, method, url, status)
                else:
                    assert status == 403, (role, method, url, status)
    assert seen["admin"] >= 6 and seen["editor"] >= 8 and seen["viewer"] >= 3, seen


def _openapi_path(rule: str) -> str:
    return re.sub(r"<[^>]+>", "{}", rule)


def test_every_api_operation_declares_a_scope_that_openapi_states_and_the_guard_applies(app, admin):
    keys = {scope: key_of(app, scope) for scope in SCOPES}
    client = app.test_client()
    document = client.get("/api/public/openapi.json").get_json()
    documented = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            documented[(re.sub(r"\{[^}]+\}", "{}", path), method.upper())] = operation
    assert (
        client.get(
            "/api/public/organizations/1/data-sources",
            headers={"Authorization": f"Bearer {keys['admin']}"},
        ).status_code
        == 200
    )
    walked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi_document":
            continue
        view = app.view_functions[rule.endpoint]
        needed = getattr(view, "scope", None)
        assert needed in SCOPES, f"{rule.endpoint} ({rule.rule}) declares no key scope"
        values = {name: ("1" if name == "org_id" else FAKE_ID) for name in rule.arguments}
        url = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = documented.get((_openapi_path(rule.rule), method))
            assert operation is not None, f"{method} {rule.rule} is not in the OpenAPI document"
            assert operation.get("x-required-scope") == needed, (method, rule.rule)
            assert "403" in operation["responses"], (method, rule.rule)
            for scope, key in keys.items():
                response = client.open(
                    url, method=method, json={}, headers={"Authorization": f"Bearer {key}"}
                )
                if scope_allows(scope, needed):
                    assert response.status_code != 403, (scope, method, url)
                else:
                    assert response.status_code == 403, (scope, method, url)
                    error = response.get_json()["error"]
                    assert error["title"] == "Forbidden" and needed in error["detail"]
            walked += 1
    assert walked >= 17, walked
    # Every documented operation (the document itself aside) is a route that was walked.
    routes = {
        (_openapi_path(r.rule), m)
        for r in app.url_map.iter_rules()
        if r.endpoint.startswith(("api.", "supermetrics.", "databrain.", "credible."))
        for m in r.methods
    }
    assert set(documented) <= routes, set(documented) - routes


def test_viewers_get_no_form_with_secrets_and_no_action_buttons(app, team):
    from tests.api.conftest import add_source

    source_id = add_source(app, 1)
    viewer = team["viewer"]
    listing = viewer.get("/sources").get_data(as_text=True)
    assert "Stored" in listing and "Add data source" not in listing
    page = viewer.get(f"/sources/{source_id}").get_data(as_text=True)
    assert 'type="password"' not in page and "<textarea" not in page
    for word in ("Edit", "Delete", "Sync now", "Check now"):
        assert f">{word}<" not in page, word
    assert viewer.get("/sources/new").status_code == 403
    assert viewer.get(f"/sources/{source_id}/edit").status_code == 403
    editor_page = team["editor"].get(f"/sources/{source_id}").get_data(as_text=True)
    assert "Edit" in editor_page
    assert "Members" not in editor_page  # the admins' links
    assert "Members" in team["admin"].get("/sources").get_data(as_text=True)


def test_admin_email_and_reserved_domains_are_accepted_everywhere(app, admin):
    from webapp.accounts import AccountError, clean_email

    assert clean_email(" Admin@Corp.Local ") == "admin@corp.local"
    assert clean_email("ops@example.test") == "ops@example.test"
    assert clean_email("x@y") == "x@y"
    with pytest.raises(AccountError, match="@-sign"):
        clean_email("no-at-sign")
    with pytest.raises(AccountError, match="period"):
        clean_email("a..b@corp.local")
    # Login names the reason instead of a bare "Invalid email address."
    client = app.test_client()
    token = csrf_token(client, "/login")
    page = client.post(
        "/login", data={"csrf_token": token, "email": "ops@@x", "password": "whatever it is"}
    )
    assert page.status_code == 422
    assert "Invalid email address." not in page.get_data(as_text=True)
    assert "@" in page.get_data(as_text=True)
