"""The Catalog page on the server: a viewer may search, the matched part is marked and every
name is escaped (a table named <script>), htmx gets only the results, the pager and the links
to the source page's schema carry the search, and the empty states say what to do."""

from __future__ import annotations

import re

from markupsafe import Markup

from tests.catalog_helpers import add_schema, column
from tests.teams_helpers import invite_and_accept, logged_in
from webapp.web.catalog_pages import highlight

SCRIPT = "<script>alert(1)</script>"


def test_highlight_escapes_and_marks_every_occurrence():
    assert highlight("<b>Order</b> orders", "ORDER") == Markup(
        "&lt;b&gt;<mark>Order</mark>&lt;/b&gt; <mark>order</mark>s"
    )
    assert highlight("İstanbul_ids", "ids") == Markup("İstanbul_<mark>ids</mark>")
    assert highlight(None, "x") == Markup("") and highlight("a<b", "") == Markup("a&lt;b")


def test_a_viewer_searches_names_escaped_matches_marked_and_htmx_gets_the_results(app, admin):
    add_schema(app, 1, "Shop <b>", [
        ("public", SCRIPT, "<img src=x onerror=alert(2)> script notes", [
            column("id"), column("script_id", "bigint", "Which <script> ran"),
        ]),
        *[("public", f"t{i:03d}", None, [column(f"script_{i}")]) for i in range(60)],
    ])  # fmt: skip
    invite_and_accept(app, "vi@example.test", "viewer")
    viewer = logged_in(app, "vi@example.test")
    assert 'href="/catalog">Catalog</a>' in viewer.get("/sources").get_data(as_text=True)

    page = viewer.get("/catalog?q=script")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert" not in html and "<img src=x" not in html and "Shop <b>" not in html
    assert "Shop &lt;b&gt;" in html
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt; <mark>script</mark> notes" in html
    assert "Which &lt;<mark>script</mark>&gt; ran" in html
    assert "1 table and 61 columns in 1 source match “script” · page 1 of 2" in html
    link = re.search(r'class="table-name" href="([^"]+)"', html)
    assert link and link.group(1) == (
        "/sources/1?q=public.%3Cscript%3Ealert(1)%3C/script%3E#schema"
    )
    assert 'href="/catalog?q=script&amp;page=2"' in html  # the pager, without JavaScript too
    assert 'hx-get="/catalog"' in html and 'action="/catalog"' in html

    partial = viewer.get(
        "/catalog?q=script&page=2", headers={"HX-Request": "true", "HX-Target": "catalog-results"}
    ).get_data(as_text=True)
    assert "<form" not in partial and "page 2 of 2" in partial and "<h1>" not in partial
    assert "<mark>script</mark>_59" in partial and 'rel="prev"' in partial

    assert "No matches" in viewer.get("/catalog?q=zzz").get_data(as_text=True)
    empty = viewer.get("/catalog").get_data(as_text=True)
    assert "61 tables in 1 source: type part of a name or a comment." in empty


def test_before_any_sync_the_page_says_so(app, admin):
    add_schema(app, 1, "Never synced", None)
    html = admin.get("/catalog?q=orders").get_data(as_text=True)
    assert "No schema to search yet" in html and 'href="/sources/new"' in html
