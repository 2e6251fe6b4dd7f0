"""The schema answer (GET …/data-sources/{id}/schema) shows what the schema browser shows: each
table's kind, comment, row estimate and foreign keys, and per column its default and comment
(null when none), each item valid against the document's `Table` schema. The snapshot is
written to the store the way a sync writes it (no server needed for the answer's shape)."""

from __future__ import annotations

from tests.api.conftest import Api, add_source
from tests.api.test_api_openapi import validator
from webapp.extensions import db
from webapp.models import SchemaSnapshot, SchemaTable, Source


def _column(name: str, ordinal: int, **extra: object) -> dict[str, object]:
    return {"name": name, "type": "integer", "nullable": False, "primaryKey": ordinal == 1,
            "ordinal": ordinal, "default": None, **extra}  # fmt: skip


def test_schema_answer_has_comments_defaults_keys_estimates_and_kinds(app, api: Api):
    source_id = add_source(app, api.org_id)
    with app.app_context():
        snapshot = SchemaSnapshot(source_id=source_id, complete=True, table_count=3)
        db.session.add(snapshot)
        db.session.flush()
        key = {
            "name": "orders_customer_fkey",
            "columns": ["customer_id"],
            "referredSchema": "crm",
            "referredTable": "customers",
            "referredColumns": ["id"],
        }
        db.session.add_all(
            [
                SchemaTable(
                    snapshot_id=snapshot.id,
                    schema_name="crm",
                    name="customers",
                    kind="table",
                    comment="One row per paying customer",
                    row_estimate=12_400,
                    columns=[_column("id", 1, comment="Surrogate key")],
                ),
                SchemaTable(
                    snapshot_id=snapshot.id,
                    schema_name="sales",
                    name="orders",
                    kind="table",
                    columns=[_column("id", 1), _column("customer_id", 2, default="0")],
                    foreign_keys=[key],
                ),
                SchemaTable(
                    snapshot_id=snapshot.id,
                    schema_name="sales",
                    name="big_orders",
                    kind="materialized view",
                    columns=[_column("id", 1)],
                ),
            ]
        )
        db.session.get(Source, source_id).current_snapshot_id = snapshot.id
        db.session.commit()

    answer = api.get(f"/{source_id}/schema").get_json()
    tables = {f"{t['schema']}.{t['name']}": t for t in answer["data"]}
    customers = tables["crm.customers"]
    assert customers["kind"] == "table" and customers["rowEstimate"] == 12_400
    assert customers["comment"] == "One row per paying customer"
    assert customers["columns"][0]["comment"] == "Surrogate key"
    orders = tables["sales.orders"]
    assert orders["comment"] is None and orders["rowEstimate"] is None
    assert [(c["name"], c["default"], c["comment"]) for c in orders["columns"]] == [
        ("id", None, None),
        ("customer_id", "0", None),
    ]
    assert orders["foreignKeys"] == [key]
    assert tables["sales.big_orders"]["kind"] == "materialized view"
    table_schema = validator("Table")
    for table in answer["data"]:
        table_schema.validate(table)
