"""The OpenAPI entries of catalog search (read-scope keys), merged into the document by
openapi.build_document."""

from __future__ import annotations

from typing import Any

from .openapi_parts import ref
from .sources.catalog_search import MAX_PER_PAGE, MAX_TEXT, PER_PAGE

PREFIX = "/api/public"
TAG = {"name": "Catalog", "description": "Tables and columns across every data source"}


_ref = ref


def _count() -> dict[str, Any]:
    return {"type": "integer", "minimum": 0}


def schemas() -> dict[str, Any]:
    """CatalogSourceHits (one source's hits on the page) and CatalogPagination."""
    nullable_text = {"type": ["string", "null"]}
    return {
        "CatalogSourceHits": {
            "type": "object",
            "required": ["source", "tableCount", "columnCount", "tables"],
            "properties": {
                "source": {
                    "type": "object",
                    "required": ["id", "publicId", "displayName", "dialect"],
                    "properties": {
                        "id": {"type": "string"},
                        "publicId": {"type": "string"},
                        "displayName": {"type": "string"},
                        "dialect": {"type": "string"},
                    },
                },
                "tableCount": {
                    **_count(),
                    "description": "Tables of this source that match (every page).",
                },
                "columnCount": {
                    **_count(),
                    "description": "Columns of this source that match (every page).",
                },
                "tables": {
                    "type": "array",
                    "description": "This page's hits of the source, by table.",
                    "items": {
                        "type": "object",
                        "required": ["schema", "name", "kind", "comment", "matched", "columns"],
                        "properties": {
                            "schema": {"type": "string"},
                            "name": {"type": "string"},
                            "kind": {"type": "string"},
                            "comment": nullable_text,
                            "matched": {
                                "type": "boolean",
                                "description": "The table's own name or comment matches (a "
                                "hit of this page); false when it is listed for its columns.",
                            },
                            "columns": {
                                "type": "array",
                                "description": "The table's matching columns on this page.",
                                "items": {
                                    "type": "object",
                                    "required": ["name", "type", "comment"],
                                    "properties": {
                                        "name": {"type": "string"},
                                        "type": {"type": "string"},
                                        "comment": nullable_text,
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
        "CatalogPagination": {
            "type": "object",
            "required": ["nextCursor", "hasMore", "total", "page", "pages"],
            "properties": {
                "nextCursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` (with the same `limit`) for the next page.",
                },
                "hasMore": {"type": "boolean"},
                "total": {**_count(), "description": "Hits on every page: tables + columns."},
                "page": {"type": "integer", "minimum": 1},
                "pages": {"type": "integer", "minimum": 1},
            },
        },
    }


def parameters() -> dict[str, Any]:
    """The search text, the page size and the page cursor."""
    return {
        "catalogSearch": {
            "name": "search",
            "in": "query",
            "required": True,
            "description": "Part of a schema.table name, a column name or a comment; "
            "case-insensitive.",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
        },
        "catalogLimit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"Hits per page (1–{MAX_PER_PAGE}, default {PER_PAGE}).",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PER_PAGE,
                "default": PER_PAGE,
            },
        },
        "catalogCursor": {
            "name": "cursor",
            "in": "query",
            "required": False,
            "description": "The previous page's nextCursor (default: the first page).",
            "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"},
        },
    }


def paths(ok: Any, errors: Any) -> dict[str, Any]:
    """GET …/catalog/search."""
    counts = {
        "type": "object",
        "required": ["tables", "columns", "sources"],
        "properties": {
            "tables": {**_count(), "description": "Matching tables (every page)."},
            "columns": {**_count(), "description": "Matching columns (every page)."},
            "sources": {**_count(), "description": "Sources with a match."},
        },
    }
    body = {
        "type": "object",
        "required": ["data", "counts", "pagination"],
        "properties": {
            "data": {"type": "array", "items": _ref("schemas", "CatalogSourceHits")},
            "counts": counts,
            "pagination": _ref("schemas", "CatalogPagination"),
        },
    }
    return {
        f"{PREFIX}/organizations/{{orgId}}/catalog/search": {
            "get": {
                "operationId": "searchCatalog",
                "summary": "Search tables and columns of every data source",
                "description": "Tables whose schema.table name or comment, and columns whose "
                "name or comment, hold `search` (case-insensitive), in the last successful "
                "sync of each data source of the organization. A hit is a table or a column; "
                "hits are ordered by source name, table and column order, `limit` a page, "
                "grouped by source. Same text, same answer as the Catalog page.",
                "tags": [TAG["name"]],
                "parameters": [
                    _ref("parameters", p)
                    for p in ("orgId", "catalogSearch", "catalogLimit", "catalogCursor")
                ],
                "responses": {**ok("Hits grouped by source", body), **errors("400", "404")},
            }
        }
    }
