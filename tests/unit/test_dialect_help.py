"""The add form's help is declared once per dialect (issue 14): every registered dialect names
its engine's docs (https), a tile category, and either the statements that create a read-only
login or a note saying why there are none; the form renders them, with required marks, field
docs links and the outbound address."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from webapp.dialects import DIALECTS

CATEGORIES = {"Database", "Warehouse", "Query engine", "Files", "Search", "Documents", "Analytics"}


def is_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and "." in parts.netloc and " " not in url


@pytest.mark.parametrize("key", list(DIALECTS))
def test_every_dialect_declares_docs_a_category_and_read_only_sql_or_a_reason(key):
    dialect = DIALECTS[key]
    assert is_https(dialect.docs_url), dialect.docs_url
    assert dialect.category in CATEGORIES
    if dialect.read_only_sql is None:
        assert len(dialect.read_only_note) > 20, f"{key}: no SQL and no reason why"
    else:
        assert "datadock" in dialect.read_only_sql.lower()  # the placeholder login
        sql = dialect.read_only_sql.lower()
        # A password to choose, never a real-looking one (IAM-style grants have none).
        assert "choose-a-long-passw" in sql or "password" not in sql
    for spec in dialect.fields:
        assert spec.docs == "" or is_https(spec.docs), (key, spec.name, spec.docs)


def test_files_and_key_only_engines_explain_instead_of_sql():
    for key in ("SQLITE", "DUCKDB", "POSTHOG", "PLANETSCALE", "S3"):
        assert DIALECTS[key].read_only_sql is None
    assert DIALECTS["MARIADB"].read_only_sql != DIALECTS["POSTGRES"].read_only_sql


def test_the_fieldset_of_each_dialect_carries_its_help(admin):
    for key, dialect in DIALECTS.items():
        html = admin.get(f"/sources/fieldset?dialect={key}").get_data(as_text=True)
        assert f'href="{dialect.docs_url}" target="_blank" rel="noopener"' in html, key
        assert ('id="read-only-sql"' in html) == (dialect.read_only_sql is not None), key
        for spec in dialect.fields:
            if spec.docs:
                assert f'<a class="docs-link" href="{spec.docs}" target="_blank"' in html
            row = html.split(f'id="{spec.name}-row"', 1)[1].split('id="', 1)[0]
            marked = '<span class="req">' in row
            assert marked == (spec.required and spec.kind != "boolean"), (key, spec.name)
        assert ('id="outbound"' in html) == ("file" not in dialect.steps), key


def test_the_add_form_shows_the_outbound_address_with_copy_and_the_tiles(app, admin):
    html = admin.get("/sources/new").get_data(as_text=True)
    assert "DATADOCK_OUTBOUND_ADDRESS" in html  # not configured: says how
    assert 'id="outbound-address"' not in html
    assert html.count('role="radio"') == len(DIALECTS)
    assert 'id="tile-POSTGRES"' in html
    assert "marks a required field" in html
    app.config["OUTBOUND_ADDRESS"] = "203.0.113.7"
    html = admin.get("/sources/new").get_data(as_text=True)
    assert 'id="outbound-address" class="key-value" value="203.0.113.7" readonly' in html
    assert 'data-copy="outbound-address"' in html
    assert 'data-copy="read-only-sql"' in html
