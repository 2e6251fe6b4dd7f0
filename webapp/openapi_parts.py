"""What every OpenAPI module builds with: a reference into the components, and an operation."""

from __future__ import annotations

from typing import Any

REF = "#/components/"


def ref(kind: str, name: str) -> dict[str, str]:
    """A `$ref` to components/`kind`/`name`."""
    return {"$ref": f"{REF}{kind}/{name}"}


def operation(
    op_id: str,
    summary: str,
    description: str,
    responses: dict[str, Any],
    *,
    tag: str,
    params: tuple[str, ...],
    body: str | None = None,
    scope: str | None = None,
) -> dict[str, Any]:
    """One operation: its parameters and JSON body (schema `body`) by reference, its tag, and
    the key scope it needs (`x-required-scope`) when given here."""
    built: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "description": description,
        "tags": [tag],
        "parameters": [ref("parameters", p) for p in params],
        "responses": responses,
    }
    if scope is not None:
        built["x-required-scope"] = scope
    if body:
        built["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref("schemas", body)}},
        }
    return built
