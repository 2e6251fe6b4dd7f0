"""Catalog search (webapp/sources/catalog_search.py) on the SQLite and the PostgreSQL store:
tables by schema.table or comment, columns by name or comment, case-insensitive (also beyond
ASCII), LIKE wildcards taken literally, only the organization's current snapshots, hits in
order and paged, grouped by source; a newer snapshot (even one SQLite gives a deleted one's
id) is what the next search reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete

from tests.catalog_helpers import add_schema, column, snapshot
from tests.integration.jobs_helpers import postgres_store_app
from webapp.extensions import db
from webapp.models import Organization, SchemaSnapshot, SchemaTable
from webapp.sources.catalog_search import CatalogResults, search


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path, monkeypatch) -> Iterator[Flask]:
    """The app on a fresh SQLite store, or on a fresh database of the throwaway PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("app")
        return
    pg = request.getfixturevalue("pg")
    with postgres_store_app(pg, "catalog", tmp_path / "instance", monkeypatch) as application:
        yield application


def _org(app: Flask, name: str) -> int:
    with app.app_context():
        org = Organization(name=name)
        db.session.add(org)
        db.session.commit()
        return org.id


@pytest.fixture
def catalog(store):
    """Acme: Shop and Warehouse synced (Warehouse twice), Archive never; Other Co. apart."""
    acme, other = _org(store, "Acme"), _org(store, "Other Co.")
    shop = add_schema(
        store,
        acme,
        "Shop",
        [
            ("public", "orders", "Customer orders", [
                column("id"), column("customer_id", comment="Who ordered"), column("total")
            ]),
            ("public", "customers", None, [
                column("id"),
                column("email", "text", comment="Where invoices and ORDER mails go"),
                column("name", "text"),
            ]),
            ("public", "pct%_rate", None, [column("id")]),
            ("sales", "Kunden_Übersicht", None, [column("Straße", "text")]),
        ],
    )  # fmt: skip
    warehouse = add_schema(
        store, acme, "Warehouse", [("analytics", "legacy_orders", None, [column("id")])]
    )
    snapshot(
        store,
        warehouse,
        [("analytics", "orders_daily", None, [column("day", "date"), column("order_total")])],
    )
    add_schema(store, acme, "Archive", None)
    add_schema(store, other, "Other", [("public", "orders_elsewhere", None, [column("id")])])
    return {"app": store, "acme": acme, "shop": shop, "warehouse": warehouse}


def _find(app: Flask, org_id: int, text: str, page: int = 1, per_page: int = 50, **kw):
    with app.app_context():
        return search(db.session.get(Organization, org_id), text, page, per_page, **kw)


def _hits(found: CatalogResults) -> list[tuple[str, str, str | None]]:
    """(source, schema.table, column or None for the table's own hit), in page order."""
    out = []
    for group in found.groups:
        for table in group.tables:
            if table.matched:
                out.append((group.display_name, table.qualified, None))
            out += [(group.display_name, table.qualified, c.name) for c in table.columns]
    return out


def test_tables_and_columns_by_name_or_comment_in_order_and_grouped(catalog):
    app, acme = catalog["app"], catalog["acme"]
    found = _find(app, acme, "order")
    assert _hits(found) == [
        ("Shop", "public.customers", "email"),  # its comment says ORDER
        ("Shop", "public.orders", None),
        ("Shop", "public.orders", "customer_id"),  # "Who ordered"
        ("Warehouse", "analytics.orders_daily", None),
        ("Warehouse", "analytics.orders_daily", "order_total"),
    ]  # not Warehouse's earlier analytics.legacy_orders, not Other Co.'s orders_elsewhere
    assert (found.total, found.table_count, found.column_count, found.source_count) == (5, 2, 3, 2)
    assert (found.searched_sources, found.searched_tables) == (2, 5)
    shop, warehouse = found.groups
    assert (shop.display_name, shop.table_count, shop.column_count) == ("Shop", 1, 2)
    assert (warehouse.source_id, warehouse.dialect) == (catalog["warehouse"], "POSTGRES")
    orders = shop.tables[1]
    assert (orders.comment, orders.kind, orders.columns[0].comment) == (
        "Customer orders",
        "table",
        "Who ordered",
    )
    assert orders.columns[0].type == "integer"
    assert _hits(_find(app, acme, "ORDER")) == _hits(found)
    assert _hits(_find(app, acme, "  Customer ORDERS ")) == [("Shop", "public.orders", None)]
    assert _hits(_find(app, acme, "invoices")) == [("Shop", "public.customers", "email")]
    assert _hits(_find(app, acme, "public.cust")) == [("Shop", "public.customers", None)]


def test_wildcards_json_keys_other_snapshots_and_blank_text_find_nothing_more(catalog):
    app, acme = catalog["app"], catalog["acme"]
    assert _hits(_find(app, acme, "%")) == [("Shop", "public.pct%_rate", None)]
    assert _hits(_find(app, acme, "t%_r")) == [("Shop", "public.pct%_rate", None)]
    assert _hits(_find(app, acme, "ÜBERSICHT")) == [("Shop", "sales.Kunden_Übersicht", None)]
    assert _hits(_find(app, acme, "STRAßE")) == [("Shop", "sales.Kunden_Übersicht", "Straße")]
    for nothing in ("nullable", "primaryKey", "integer", "legacy", "elsewhere", '"name"'):
        found = _find(app, acme, nothing)
        assert (found.total, found.groups, found.pages) == (0, [], 1), nothing
    blank = _find(app, acme, " \x00 ")
    assert (blank.text, blank.total, blank.searched_sources, blank.searched_tables) == (
        "",
        0,
        2,
        5,
    )


def test_pages_split_a_tables_hits_and_a_page_past_the_end(catalog):
    app, acme = catalog["app"], catalog["acme"]
    pages = [_find(app, acme, "order", page, per_page=2) for page in (1, 2, 3)]
    assert [(p.page, p.pages, p.total) for p in pages] == [(1, 3, 5), (2, 3, 5), (3, 3, 5)]
    assert [_hits(p) for p in pages] == [
        [("Shop", "public.customers", "email"), ("Shop", "public.orders", None)],
        [("Shop", "public.orders", "customer_id"), ("Warehouse", "analytics.orders_daily", None)],
        [("Warehouse", "analytics.orders_daily", "order_total")],
    ]
    second = pages[1].groups[0].tables[0]
    assert (second.qualified, second.matched) == ("public.orders", False)  # its columns only
    assert [p.has_more for p in pages] == [True, True, False]
    assert _hits(_find(app, acme, "order", 9, per_page=2)) == _hits(pages[2])  # the last one
    past = _find(app, acme, "order", 9, per_page=2, clamp=False)
    assert (past.page, past.groups, past.total) == (9, [], 5)


def test_the_next_search_reads_the_newer_snapshot_even_under_a_reused_id(catalog):
    app, acme, shop = catalog["app"], catalog["acme"], catalog["shop"]
    assert _hits(_find(app, acme, "orders"))[0] == ("Shop", "public.orders", None)
    snapshot(app, shop, [("public", "purchases", "Customer orders", [column("id")])])
    assert _hits(_find(app, acme, "purchase")) == [("Shop", "public.purchases", None)]
    assert [h for h in _hits(_find(app, acme, "orders")) if h[0] == "Shop"] == [
        ("Shop", "public.purchases", None)  # by its comment; public.orders is gone
    ]

    lab = add_schema(app, acme, "Lab", [("public", "lab_one", None, [column("id")])])
    assert _hits(_find(app, acme, "lab_")) == [("Lab", "public.lab_one", None)]
    with app.app_context():  # the newest snapshot goes (as a deleted source's would) …
        newest = db.session.scalar(db.select(db.func.max(SchemaSnapshot.id)))
        db.session.execute(delete(SchemaTable).where(SchemaTable.snapshot_id == newest))
        db.session.execute(delete(SchemaSnapshot).where(SchemaSnapshot.id == newest))
        db.session.commit()
    reused = snapshot(app, lab, [("public", "lab_two", None, [column("id")])])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert reused == newest  # … and SQLite hands its id to the next one
    assert _hits(_find(app, acme, "lab_")) == [("Lab", "public.lab_two", None)]
