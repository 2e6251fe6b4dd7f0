"""The sources list: server-side pages of 50, search by name key, filters by dialect, health
and sync status, sorts, counts, relative times; a plain GET form, and htmx's partial swap."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.fixtures_app import page_text
from webapp.extensions import db
from webapp.models import Organization, Source, utcnow


def add_sources(app, count: int) -> None:
    """`count` PostgreSQL sources named "Source 000", "Source 001", … (after any there are)."""
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        start = db.session.scalar(db.select(db.func.count()).select_from(Source))
        db.session.add_all(
            Source(
                organization_id=org.id,
                display_name=f"Source {i:03d}",
                dialect="POSTGRES",
                host="db.example.com",
                port=5432,
                database_name="app",
                username="reader",
                settings={},
            )
            for i in range(start, start + count)
        )
        db.session.commit()


def names(html: str) -> list[str]:
    return re.findall(r'<a href="/sources/\d+">([^<]+)</a>', html)


def test_pages_of_50_with_links_that_keep_the_filters(app, admin):
    add_sources(app, 120)
    first = admin.get("/sources").get_data(as_text=True)
    assert names(first) == [f"Source {i:03d}" for i in range(50)]
    assert "120 data sources · page 1 of 3" in first
    assert 'href="/sources?page=2" hx-get="/sources?page=2"' in first and 'rel="prev"' not in first
    last = page_text(admin, "/sources?page=3")
    assert names(last) == [f"Source {i:03d}" for i in range(100, 120)]
    assert 'rel="next"' not in last
    assert page_text(admin, "/sources?page=99") == last  # clamped
    assert names(admin.get("/sources?page=x").get_data(as_text=True))[0] == "Source 000"
    newest = admin.get("/sources?sort=newest&page=2").get_data(as_text=True)
    assert names(newest)[0] == "Source 069"
    assert 'href="/sources?sort=newest"' in newest  # the previous page keeps the sort


def test_search_by_name_key_ignores_case_and_width(app, admin):
    add_sources(app, 30)
    with app.app_context():
        org = db.session.scalar(db.select(Organization))
        db.session.add(
            Source(
                organization_id=org.id,
                display_name="Ｗａｒｅｈｏｕｓｅ 100%",
                dialect="MYSQL",
                host="h",
                port=3306,
                settings={},
            )
        )
        db.session.commit()
    html = admin.get("/sources?q=warehouse").get_data(as_text=True)
    assert names(html) == ["Ｗａｒｅｈｏｕｓｅ 100%"]
    assert "1 of 31 data sources match" in html and "Clear filters" in html
    assert names(admin.get("/sources?q=SOURCE+02").get_data(as_text=True)) == [
        f"Source {i:03d}" for i in range(20, 30)
    ]
    # LIKE's wildcards are plain characters in a search.
    assert names(admin.get("/sources?q=%25").get_data(as_text=True)) == ["Ｗａｒｅｈｏｕｓｅ 100%"]
    nothing = admin.get("/sources?q=nope").get_data(as_text=True)
    assert "No data sources match “nope”." in nothing and "<table" not in nothing
    assert 'name="q" value="nope"' in nothing  # the form keeps what was typed


def test_filters_by_dialect_health_and_sync_with_counts(app, admin):
    add_sources(app, 4)
    with app.app_context():
        rows = db.session.scalars(db.select(Source).order_by(Source.id)).all()
        rows[0].last_health_status, rows[1].last_health_status = "UNHEALTHY", "HEALTHY"
        rows[2].dialect, rows[3].last_sync_status = "MYSQL", "FAILED"
        db.session.commit()
    html = admin.get("/sources").get_data(as_text=True)
    assert ">Unhealthy (1)<" in html and ">Healthy (1)<" in html and ">Not checked (2)<" in html
    assert ">Failed (1)<" in html and ">Never synced (3)<" in html
    assert names(admin.get("/sources?health=UNHEALTHY").get_data(as_text=True)) == ["Source 000"]
    assert names(admin.get("/sources?health=NONE").get_data(as_text=True)) == [
        "Source 002",
        "Source 003",
    ]
    assert names(admin.get("/sources?dialect=MYSQL").get_data(as_text=True)) == ["Source 002"]
    assert names(admin.get("/sources?sync=FAILED").get_data(as_text=True)) == ["Source 003"]
    assert names(admin.get("/sources?sort=unhealthy").get_data(as_text=True))[0] == "Source 000"
    assert (
        len(names(admin.get("/sources?health=bogus&sort=bogus").get_data(as_text=True))) == 4
    )  # unknown values show everything


def test_htmx_gets_only_the_results_and_times_are_relative(app, admin):
    add_sources(app, 3)
    with app.app_context():
        source = db.session.scalar(db.select(Source).order_by(Source.id))
        source.last_sync_attempt_at = utcnow() - timedelta(minutes=3, seconds=5)
        db.session.commit()
        exact = source.last_sync_attempt_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    page = admin.get("/sources").get_data(as_text=True)
    assert '<form class="list-filters" method="get" action="/sources" role="search"' in page
    assert '<div id="sources-results">' in page
    assert re.search(rf'<time datetime="[^"]+" title="{exact}">3 min ago</time>', page)
    assert page.count("never") >= 2
    partial = admin.get(
        "/sources?q=source", headers={"HX-Request": "true", "HX-Target": "sources-results"}
    ).get_data(as_text=True)
    assert "<table" in partial and "<form" not in partial and "<html" not in partial
    assert names(partial) == ["Source 000", "Source 001", "Source 002"]
