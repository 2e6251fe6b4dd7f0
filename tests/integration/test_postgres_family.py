"""SUPABASE and REDSHIFT speak the PostgreSQL wire protocol: verified and synced against the
throwaway PostgreSQL (a real Redshift cluster cannot be reached from here; its information_schema
catalog query is the one exercised below)."""

from __future__ import annotations

import pytest

from tests.integration.test_sources_postgres import org, sync_once, tables_of
from tests.integration.test_verify_postgres import failure, values
from webapp import sources as uc
from webapp.dialects import get_dialect


@pytest.mark.parametrize("dialect", ["SUPABASE", "REDSHIFT"])
def test_verify_and_sync_over_the_postgres_wire(app, admin, pg, dialect):
    raw = values(pg, dialect=dialect, displayName=f"{dialect} db")
    with app.app_context():
        assert uc.verify_input(raw).server_version.startswith("PostgreSQL")
        source = sync_once(uc.create_source(org(app), raw).id)
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        assert tables["public.big_orders"].kind == "view"
        columns = {c["name"]: c for c in tables["public.orders"].columns}
        assert columns["id"]["primaryKey"] and not columns["id"]["nullable"]
        assert not columns["customer_id"]["primaryKey"]
        assert [c["name"] for c in tables["analytics.events"].columns] == ["id", "payload"]


@pytest.mark.parametrize("dialect", ["SUPABASE", "REDSHIFT"])
def test_wrong_password_maps_like_postgres(app, pg, dialect):
    error = failure(app, values(pg, dialect=dialect, password="nope-nope"))
    assert set(error.field_errors) == {"username", "password"}


def test_defaults():
    assert get_dialect("REDSHIFT").field("port").default == 5439
    assert get_dialect("SUPABASE").field("databaseName").default == "postgres"
