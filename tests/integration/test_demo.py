"""The demo source: generated SQLite shop in the data folder, marked Demo, synced, deletable."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.fixtures_app import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token
from tests.integration.test_sources_postgres import sync_once, tables_of
from webapp.api_keys import create_key
from webapp.demo import DEMO_PATH, write_demo_database
from webapp.extensions import db
from webapp.models import AuditEvent, Organization, Source


def test_the_generated_shop_has_keys_a_view_and_a_few_hundred_rows(tmp_path):
    path = tmp_path / "shop.sqlite"
    write_demo_database(path)
    first = path.read_bytes()
    with sqlite3.connect(path) as conn:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("customers", "products", "orders", "order_items", "order_totals")
        }
        fks = conn.execute(
            'SELECT "table", "from", "to" FROM pragma_foreign_key_list(\'order_items\')'
        ).fetchall()
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # opens read-only
    assert counts["customers"] == 120 and counts["orders"] == 300
    assert counts["order_totals"] == 300 and 300 < counts["order_items"] < 1200
    assert set(fks) == {("orders", "order_id", "id"), ("products", "product_id", "id")}
    write_demo_database(path)  # the same seed: the same shop, every time
    assert path.read_bytes() == first
    assert list(tmp_path.glob(".demo-*")) == []  # no temporary file left behind


def test_setup_with_the_demo_opens_a_synced_demo_source(app, client):
    token = csrf_token(client, "/setup")
    response = client.post(
        "/setup",
        data={
            "csrf_token": token,
            "organization": "Acme",
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
            "confirm": ADMIN_PASSWORD,
            "demo": "y",
        },
    )
    assert response.status_code == 302
    match = re.search(r"/sources/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    source_id = int(match.group(1))
    assert (Path(app.config["DATA_DIR"]) / DEMO_PATH).is_file()

    detail = client.get(f"/sources/{source_id}").get_data(as_text=True)
    assert '<span class="badge demo">Demo</span>' in detail
    assert "A demo database that Datadock generated" in detail
    assert "PENDING" in detail  # the first sync was requested at once
    listing = client.get("/sources").get_data(as_text=True)
    assert re.search(r"Demo shop</a> <span class=\"badge demo\">Demo</span>", listing)

    with app.app_context():
        source = sync_once(source_id)
        assert source.is_demo and source.dialect == "SQLITE"
        assert source.last_sync_status == "SUCCESS", source.sync_error_message
        tables = tables_of(source)
        assert set(tables) == {
            "main.customers",
            "main.products",
            "main.orders",
            "main.order_items",
            "main.order_totals",
        }
        assert tables["main.order_totals"].kind == "view"
        items = {c["name"]: c for c in tables["main.order_items"].columns}
        assert items["order_id"]["primaryKey"] and items["product_id"]["primaryKey"]
        referred = {fk["referredTable"] for fk in tables["main.order_items"].foreign_keys}
        assert referred == {"orders", "products"}
        assert tables["main.customers"].row_estimate == 120
        created = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "source.created")
        )
        assert created.details == {"dialect": "SQLITE", "demo": True}
        org = db.session.scalar(db.select(Organization))
        _, key = create_key(org, "demo check")
        org_id = org.id
    api = client.get(
        f"/api/public/organizations/{org_id}/data-sources/{source_id}",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert api.status_code == 200 and api.get_json()["data"]["isDemo"] is True


def test_one_demo_per_organization_and_it_can_be_deleted_and_added_again(app, admin):
    empty = admin.get("/sources").get_data(as_text=True)
    assert "Explore with a demo database" in empty
    token = csrf_token(admin, "/sources")
    first = admin.post("/sources/demo", data={"csrf_token": token})
    again = admin.post("/sources/demo", data={"csrf_token": token})
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Source)) == 1
        source_id = db.session.scalar(db.select(Source.id))
    deleted = admin.post(f"/sources/{source_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(Source, source_id) is None
    third = admin.post("/sources/demo", data={"csrf_token": token})
    assert third.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                db.select(db.func.count()).select_from(Source).where(Source.is_demo.is_(True))
            )
            == 1
        )
        actions = list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["source.created", "source.deleted", "source.created"]


def test_the_demo_takes_a_free_name(app, admin):
    token = csrf_token(admin, "/sources")
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        db.session.add(
            Source(
                organization_id=org.id,
                display_name="demo shop",
                dialect="POSTGRES",
                host="h",
                port=1,
                database_name="d",
            )
        )
        db.session.commit()
    admin.post("/sources/demo", data={"csrf_token": token})
    with app.app_context():
        demo = db.session.scalar(db.select(Source).where(Source.is_demo.is_(True)))
        assert demo.display_name == "Demo shop (2)"
