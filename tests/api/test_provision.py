"""`flask --app webapp datadock provision sources.yml` against a real throwaway PostgreSQL:
${ENV} substitution, create-or-update by display name, idempotent, secrets never printed."""

from __future__ import annotations

from textwrap import dedent

import pytest

from tests.api.conftest import make_org
from webapp.extensions import db
from webapp.models import AuditEvent, Source
from webapp.records import connection_values


@pytest.fixture
def org(app):
    org_id, _ = make_org(app, "Acme", "admin@example.com")
    return org_id


def write(tmp_path, text: str):
    path = tmp_path / "sources.yml"
    path.write_text(dedent(text))
    return path


def provision(app, path, *args):
    return app.test_cli_runner().invoke(args=["datadock", "provision", str(path), *args])


def sources_yml(tmp_path, pg, description: str = "Orders and customers"):
    return write(
        tmp_path,
        f"""
        organization: Acme
        sources:
          - displayName: Warehouse
            type: direct
            dialect: POSTGRES
            description: "{description} (not $${{A_VARIABLE}})"
            host: {pg.host}
            port: ${{PG_PORT}}
            databaseName: {pg.database}
            username: {pg.user}
            password: ${{PG_PASSWORD}}
            sslEnabled: true
            includeSchemas: public
    """,
    )


def test_creates_then_leaves_alone_then_updates(app, org, pg, tmp_path, monkeypatch):
    monkeypatch.setenv("PG_PASSWORD", pg.password)
    monkeypatch.setenv("PG_PORT", str(pg.port))
    path = sources_yml(tmp_path, pg)
    first = provision(app, path)
    assert first.exit_code == 0, first.output
    assert first.output.split() == ["created", "Warehouse"]
    with app.app_context():
        source = db.session.scalar(db.select(Source))
        assert source.port == pg.port and source.include_schemas == "public"
        assert source.description == "Orders and customers (not ${A_VARIABLE})"
        assert connection_values(source)["password"] == pg.password
        assert source.last_sync_status == "PENDING"
        updated_at = source.updated_at

    again = provision(app, path)
    assert again.exit_code == 0 and again.output.split() == ["unchanged", "Warehouse"]
    with app.app_context():
        source = db.session.scalar(db.select(Source))
        assert source.updated_at == updated_at
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 1

    changed = provision(app, sources_yml(tmp_path, pg, "Only orders"))
    assert changed.exit_code == 0 and changed.output.split() == ["updated", "Warehouse"]
    with app.app_context():
        assert db.session.scalar(db.select(Source)).description.startswith("Only orders")
        actions = [e.action for e in db.session.scalars(db.select(AuditEvent))]
        assert actions.count("source.created") == 1 and actions.count("source.updated") == 1
    assert pg.password not in first.output + again.output + changed.output


def test_a_missing_variable_is_named_and_nothing_changes(app, org, pg, tmp_path, monkeypatch):
    monkeypatch.delenv("PG_PASSWORD", raising=False)
    monkeypatch.setenv("PG_PORT", str(pg.port))
    result = provision(app, sources_yml(tmp_path, pg))
    assert result.exit_code != 0
    assert "sources[0].password: environment variable PG_PASSWORD is not set" in result.output
    assert "Nothing was changed" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0


def test_a_syntax_error_shows_the_place_not_the_line(app, org, tmp_path):
    path = write(
        tmp_path,
        """
        sources:
          - displayName: Broken
            password: "s3cret-value-here
    """,
    )
    result = provision(app, path)
    assert result.exit_code != 0 and "line" in result.output
    assert "s3cret-value-here" not in result.output


def test_each_entry_succeeds_or_fails_on_its_own(app, org, pg, tmp_path, monkeypatch):
    monkeypatch.setenv("WRONG", "not the password")
    path = write(
        tmp_path,
        f"""
        sources:
          - displayName: Good
            dialect: POSTGRES
            host: {pg.host}
            port: {pg.port}
            databaseName: {pg.database}
            username: {pg.user}
            password: {pg.password}
          - displayName: Bad password
            dialect: POSTGRES
            host: {pg.host}
            port: {pg.port}
            databaseName: {pg.database}
            username: {pg.user}
            password: ${{WRONG}}
          - displayName: Typo
            dialect: POSTGRES
            hots: {pg.host}
    """,
    )
    result = provision(app, path, "--org", "Acme")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["created", "Good"]
    assert lines[1].startswith("failed       Bad password: ConnectionFailed")
    assert "password: Incorrect username or password" in lines[1]
    assert lines[2].startswith("failed       Typo: ValidationError")
    assert "hots: Unknown field" in lines[2]
    assert "not the password" not in result.output
    assert "2 of 3 data sources failed" in result.output


def test_dry_run_connects_to_nothing(app, org, tmp_path):
    path = write(
        tmp_path,
        """
        sources:
          - displayName: Later
            dialect: POSTGRES
            host: db.invalid
            port: 5432
            databaseName: app
            username: reader
            password: pw
    """,
    )
    result = provision(app, path, "--dry-run")
    assert result.exit_code == 0 and result.output.split() == ["would", "create", "Later"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 0


def test_the_organization_must_be_clear(app, org, tmp_path):
    make_org(app, "Globex", "admin@globex.example")
    path = write(tmp_path, "sources: []\n")
    result = provision(app, path)
    assert result.exit_code != 0 and "Name the organization" in result.output
    unknown = provision(app, path, "--org", "Nope")
    assert unknown.output.strip().endswith("No organization named 'Nope'")
