"""Catalog search: tables and columns of every source of the organization whose name or
comment holds a text, grouped by source, a page at a time (the Catalog page's use-case,
webapp/sources/catalog_search.py)."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request

from ..members.roles import KeyScope
from ..sources import catalog_search as uc
from . import bp
from .data_sources import DATA_SOURCES, _int_arg, _org, _query
from .errors import invalid
from .guard import requires_scope

_PAGE = re.compile(r"^[1-9][0-9]{0,8}$")
CATALOG_SEARCH = DATA_SOURCES.rsplit("/", 1)[0] + "/catalog/search"


def _group_data(group: uc.SourceGroup) -> dict[str, Any]:
    return {
        "source": {
            "id": str(group.source_id),
            "publicId": group.public_id,
            "displayName": group.display_name,
            "dialect": group.dialect,
        },
        "tableCount": group.table_count,
        "columnCount": group.column_count,
        "tables": [
            {
                "schema": t.schema_name,
                "name": t.name,
                "kind": t.kind,
                "comment": t.comment,
                "matched": t.matched,
                "columns": [
                    {"name": c.name, "type": c.type, "comment": c.comment} for c in t.columns
                ],
            }
            for t in group.tables
        ],
    }


@bp.get(CATALOG_SEARCH)
@requires_scope(KeyScope.READ)
def search_catalog(org_id: str) -> Any:
    """Hits of `search` (tables by schema.name or comment, columns by name or comment) in the
    current schema of every source, `limit` hits a page, grouped by source; `cursor` is the
    previous page's nextCursor."""
    org = _org(org_id)
    _query({"search", "limit", "cursor"})
    text = request.args.get("search", "")
    if len(text) > uc.MAX_TEXT:
        raise invalid({"search": f"Use at most {uc.MAX_TEXT} characters"})
    if not text.strip():
        raise invalid({"search": "Required: part of a table or column name or comment"})
    limit = _int_arg("limit", uc.PER_PAGE, 1, uc.MAX_PER_PAGE)
    cursor = request.args.get("cursor") or "1"
    if not _PAGE.match(cursor):
        raise invalid({"cursor": "Use the nextCursor of the previous page"})
    page = int(cursor)
    found = uc.search(org, text, page, limit, clamp=False)
    return jsonify(
        data=[_group_data(g) for g in found.groups],
        counts={
            "tables": found.table_count,
            "columns": found.column_count,
            "sources": found.source_count,
        },
        pagination={
            "nextCursor": str(found.page + 1) if found.page < found.pages else None,
            "hasMore": found.page < found.pages,
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
        },
    )
