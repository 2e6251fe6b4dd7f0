"""GET /api/public/organizations/<org>/catalog/search: the Catalog page's search as JSON (the
same use-case), with a read key, hits grouped by source, paged by nextCursor, and bad input
answered in the API's error shape."""

from __future__ import annotations

from tests.catalog_helpers import add_schema, column
from tests.teams_helpers import key_of


def _search(api, key: str | None = None, **params):
    return api.client.get(
        f"/api/public/organizations/{api.org_id}/catalog/search",
        query_string=params,
        headers={"Authorization": f"Bearer {key or api.key}"},
    )


def test_a_read_key_searches_every_source_and_follows_next_cursor(app, api, other_api):
    add_schema(app, api.org_id, "Shop", [
        ("public", "orders", "Customer orders", [column("id"), column("order_note", "text")]),
        ("public", "customers", None, [column("id"), column("email", "text", "Order mails")]),
    ])  # fmt: skip
    add_schema(app, api.org_id, "Warehouse", [("dw", "fact_orders", None, [column("id")])])
    add_schema(app, other_api.org_id, "Theirs", [("public", "orders", None, [column("id")])])
    reader = key_of(app, "read")
    first = _search(api, reader, search="ORDER", limit=2)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["counts"] == {"tables": 2, "columns": 2, "sources": 2}
    assert body["pagination"] == {
        "nextCursor": "2",
        "hasMore": True,
        "total": 4,
        "page": 1,
        "pages": 2,
    }
    [shop] = body["data"]
    assert shop["source"]["displayName"] == "Shop" and shop["source"]["dialect"] == "POSTGRES"
    assert (shop["tableCount"], shop["columnCount"]) == (1, 2)
    assert shop["tables"] == [
        {
            "schema": "public",
            "name": "customers",
            "kind": "table",
            "comment": None,
            "matched": False,
            "columns": [{"name": "email", "type": "text", "comment": "Order mails"}],
        },
        {
            "schema": "public",
            "name": "orders",
            "kind": "table",
            "comment": "Customer orders",
            "matched": True,
            "columns": [],
        },
    ]
    cursor = body["pagination"]["nextCursor"]
    second = _search(api, reader, search="ORDER", limit=2, cursor=cursor).get_json()
    assert [
        (g["source"]["displayName"], [t["name"] for t in g["tables"]]) for g in second["data"]
    ] == [
        ("Shop", ["orders"]),
        ("Warehouse", ["fact_orders"]),
    ]
    assert second["pagination"]["hasMore"] is False and second["pagination"]["nextCursor"] is None
    past = _search(api, search="order", cursor="7").get_json()
    assert past["data"] == [] and past["pagination"]["total"] == 4
    theirs = _search(other_api, search="order").get_json()
    assert [g["source"]["displayName"] for g in theirs["data"]] == ["Theirs"]


def test_bad_input_gets_the_error_shape_and_other_organizations_a_404(app, api, other_api):
    for params, field in (
        ({}, "search"),
        ({"search": "   "}, "search"),
        ({"search": "x" * 201}, "search"),
        ({"search": "id", "limit": "0"}, "limit"),
        ({"search": "id", "limit": "101"}, "limit"),
        ({"search": "id", "cursor": "0"}, "cursor"),
        ({"search": "id", "cursor": "abc"}, "cursor"),
        ({"search": "id", "q": "id"}, "q"),
    ):
        response = _search(api, **params)
        assert response.status_code == 400, params
        error = response.get_json()["error"]
        assert error["title"] == "ValidationError" and field in error["fieldErrors"], params
    foreign = api.client.get(
        f"/api/public/organizations/{other_api.org_id}/catalog/search?search=id",
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert foreign.status_code == 404 and foreign.get_json()["error"]["title"] == "NotFound"
    anonymous = api.client.get(f"/api/public/organizations/{api.org_id}/catalog/search?search=id")
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["title"] == "Unauthorized"
