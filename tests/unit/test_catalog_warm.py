"""Opening the catalog search with no text builds the organization's indexes in the background,
so the first typed search of a new process finds them ready."""

from __future__ import annotations

from tests.catalog_helpers import add_schema, column
from tests.polling import wait_until
from webapp.extensions import db
from webapp.models import Organization
from webapp.sources import catalog_search


def test_the_blank_page_warms_the_indexes_then_the_search_uses_them(app, admin):
    add_schema(app, 1, "Shop", [("public", "orders", None, [column("id")])])
    add_schema(app, 1, "Crm", [("sales", "leads", "warm leads", [column("id")])])
    cache = app.extensions.setdefault("datadock_catalog_index", catalog_search._IndexCache())
    assert not cache._items

    assert admin.get("/catalog").status_code == 200
    wait_until(lambda: len(cache._items) == 2, 20, 0.05, what="both indexes built")

    def no_build(snapshots):
        raise AssertionError(f"built again: {snapshots}")

    original = catalog_search._read_indexes
    catalog_search._read_indexes = no_build
    try:
        with app.app_context():
            org = db.session.get(Organization, 1)
            found = catalog_search.search(org, "lead")
        assert [g.display_name for g in found.groups] == ["Crm"] and found.total == 1
    finally:
        catalog_search._read_indexes = original


def test_one_warm_up_at_a_time_per_organization(app, admin):
    add_schema(app, 1, "Shop", [("public", "orders", None, [column("id")])])
    with app.app_context():
        org = db.session.get(Organization, 1)
        catalog_search._warming.add(org.id)  # as while a thread builds
        try:
            assert catalog_search.warm_in_background(org) is None
        finally:
            catalog_search._warming.discard(org.id)
        thread = catalog_search.warm_in_background(org)
        assert thread is not None
        thread.join(20)
        assert not thread.is_alive() and org.id not in catalog_search._warming
