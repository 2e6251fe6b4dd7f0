"""A table read in the store's own shape: its columns and foreign keys as JSON text, built by the
catalog's server, and the digest of its columns' names and types (what the diff compares).

The schema sync stores such a table as it came (no Python object per column, no JSON encoding
in Datadock); `columns` and `foreign_keys` are parsed only when something reads them. Every
other dialect yields a plain TableInfo, which the sync encodes and digests itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from .base import TableInfo

# Between a column's name and its type, and between columns, in the digested text.
NAME_TYPE = "\x1e"
BETWEEN = "\x1f"


def names_types_digest(pieces: Iterable[str]) -> str:
    """The columns' digest from their `name + NAME_TYPE + type` pieces: in sorted order (a
    reordering is not a change the diff reports), 16 bytes of BLAKE2b as hex."""
    text = BETWEEN.join(sorted(pieces))
    return hashlib.blake2b(text.encode(errors="surrogatepass"), digest_size=16).hexdigest()


def columns_digest(columns: list[dict[str, Any]]) -> str:
    """The digest of parsed columns ({"name", "type", ...})."""
    return names_types_digest(f"{c['name']}{NAME_TYPE}{c.get('type')}" for c in columns)


def content_digest(
    kind: str,
    columns_json: str,
    foreign_keys_json: str,
    row_estimate: int | None,
    comment: str | None,
) -> str:
    """A digest of everything a table's row stores besides its name: equal digests, equal rows
    (each text is length-prefixed, so no two different rows run together the same)."""
    text = (
        f"{kind}\x00{len(columns_json)}:{columns_json}{len(foreign_keys_json)}:{foreign_keys_json}"
        f"{row_estimate}\x00{'' if comment is None else f'{len(comment)}:{comment}'}"
    )
    return hashlib.blake2b(text.encode(errors="surrogatepass"), digest_size=16).hexdigest()


class StoredTable(TableInfo):
    """A TableInfo whose columns and foreign keys are JSON text in the store's shape.

    `columns_json` is the JSON array of the columns ({"name", "type", "nullable", "default",
    "primaryKey", "ordinal"} and "comment" where there is one), `foreign_keys_json` that of the
    keys, `columns_hash` the columns' digest (`names_types_digest`), `column_count` how many
    columns there are. Reading `columns` or `foreign_keys` parses the text (once).
    """

    def __init__(
        self,
        schema: str,
        name: str,
        kind: str,
        columns_json: str,
        foreign_keys_json: str,
        columns_hash: str,
        column_count: int,
        row_estimate: int | None = None,
        comment: str | None = None,
    ) -> None:
        self.schema = schema
        self.name = name
        self.kind = kind
        self.row_estimate = row_estimate
        self.comment = comment
        self.columns_json = columns_json
        self.foreign_keys_json = foreign_keys_json
        self.columns_hash = columns_hash
        self.column_count = column_count
        self._columns: list[dict[str, Any]] | None = None
        self._foreign_keys: list[dict[str, Any]] | None = None

    @property
    def columns(self) -> list[dict[str, Any]]:
        if self._columns is None:
            self._columns = orjson.loads(self.columns_json)
        return self._columns

    @columns.setter
    def columns(self, value: list[dict[str, Any]]) -> None:
        self._columns = value
        self.columns_json = orjson.dumps(value).decode()
        self.columns_hash = columns_digest(value)
        self.column_count = len(value)

    @property
    def foreign_keys(self) -> list[dict[str, Any]]:
        if self._foreign_keys is None:
            self._foreign_keys = orjson.loads(self.foreign_keys_json)
        return self._foreign_keys

    @foreign_keys.setter
    def foreign_keys(self, value: list[dict[str, Any]]) -> None:
        self._foreign_keys = value
        self.foreign_keys_json = orjson.dumps(value).decode()
