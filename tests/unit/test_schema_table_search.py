"""The source page's table search takes the user's text literally (LIKE's % and _ escaped)."""

from __future__ import annotations

from tests.unit.test_hardening import add_source
from webapp.extensions import db
from webapp.models import SchemaSnapshot, SchemaTable, Source
from webapp.sources.queries import snapshot_tables


def test_underscore_percent_and_backslash_are_literal(app, admin):
    source_id = add_source(app)
    names = ["pct_rate", "pctxrate", "p%ct", "pxct", "a\\b", "ab"]
    with app.app_context():
        snapshot = SchemaSnapshot(source_id=source_id, complete=True)
        db.session.add(snapshot)
        db.session.flush()
        db.session.add_all(
            SchemaTable(snapshot_id=snapshot.id, schema_name="public", name=n, kind="table")
            for n in names
        )
        db.session.get(Source, source_id).current_snapshot_id = snapshot.id
        db.session.commit()
        source = db.session.get(Source, source_id)
        for text, expected in (
            ("pct_rate", ["pct_rate"]),
            ("p%ct", ["p%ct"]),
            ("a\\b", ["a\\b"]),
            ("PUBLIC.PCT", ["pct_rate", "pctxrate"]),
        ):
            tables, total = snapshot_tables(source, text)
            assert [t.name for t in tables] == expected, text
            assert total == len(expected)
