"""The schema browser's words and anchors (webapp/web/schema_browser.py)."""

from __future__ import annotations

from webapp.web.schema_browser import kind_counts_text, rows_text, table_anchor


def test_anchors_are_plain_when_they_can_be_and_unique_when_not():
    assert table_anchor("public", "orders") == "t-public.orders"
    odd = {
        table_anchor("Sales Data", 'Customers "VIP"'),
        table_anchor("Sales-Data", "Customers-VIP"),
    }
    assert len(odd) == 2  # the same slug, told apart by the exact name's digest
    assert all(a.startswith("t-Sales-Data.Customers-VIP") and " " not in a for a in odd)
    assert table_anchor("ünï", "x") != table_anchor("___", "x")


def test_counts_and_row_estimates_in_words():
    assert kind_counts_text({"table": 12, "view": 3}) == "12 tables, 3 views"
    assert kind_counts_text({"view": 1, "table": 1, "materialized view": 2}) == (
        "1 table, 1 view, 2 materialized views"
    )
    assert kind_counts_text({"foreign table": 1, "table": 1_200}) == "1,200 tables, 1 foreign table"
    assert rows_text(12_400) == "≈ 12,400 rows" and rows_text(1) == "≈ 1 row"
    assert rows_text(None) is None
