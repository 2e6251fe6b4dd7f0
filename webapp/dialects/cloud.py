"""Helpers shared by the cloud and optional-driver dialects: deadlines, grouping catalog rows
into tables, and key checks that need no network."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..core.refusal import ConnectionFailed
from .base import SchemaFilter, TableInfo

log = logging.getLogger(__name__)

T = TypeVar("T")


def whole_seconds(timeout: float, floor: int = 1) -> int:
    """A deadline for drivers that take whole seconds: rounded, never below `floor`."""
    return max(floor, math.floor(timeout + 0.5))


def catalog_failure(failure: ConnectionFailed | None, field: str, message: str) -> ConnectionFailed:
    """A failure of check_catalog on the dialect's own field (verify lets it through as is):
    the classified one when it names a field, else `message` on `field`."""
    if failure is None or not failure.field_errors:
        failure = ConnectionFailed(
            "catalog", f"Connected, but {message[0].lower()}{message[1:]}.", {field: message}
        )
    return failure.at_step("catalog")


def run_bounded(
    action: Callable[[], T], timeout: float, discard: Callable[[T], None] | None = None
) -> T:
    """Run `action` in a daemon thread and wait at most `timeout` seconds for it.

    For drivers with no deadline of their own. On timeout raises TimeoutError; the thread is
    left to finish on its own and a late result is handed to `discard` (to close it).
    """
    box: dict[str, Any] = {}
    lock = threading.Lock()
    done = threading.Event()

    def work() -> None:
        outcome: dict[str, Any] = {}
        try:
            outcome["result"] = action()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc
        with lock:
            if not box.get("abandoned"):
                box.update(outcome)
                done.set()
                return
        if "result" in outcome and discard is not None:
            try:
                discard(outcome["result"])
            except Exception:
                log.debug("closing a late result failed", exc_info=True)

    threading.Thread(target=work, name="datadock-bounded", daemon=True).start()
    done.wait(timeout)
    with lock:
        if not done.is_set():
            box["abandoned"] = True
            raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["result"]


def column(
    name: str, typ: Any, nullable: Any, default: Any, primary_key: Any, ordinal: Any
) -> dict[str, Any]:
    """One column in TableInfo's shape."""
    return {
        "name": str(name),
        "type": str(typ),
        "nullable": _truth(nullable),
        "default": None if default in (None, "") else str(default),
        "primaryKey": _truth(primary_key),
        "ordinal": int(ordinal),
    }


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in {"YES", "Y", "TRUE", "1"}
    return bool(value)


def group_tables(
    rows: Iterable[tuple], schemas: SchemaFilter | None, kind: Callable[[Any], str]
) -> Iterator[TableInfo]:
    """Stream TableInfo from catalog rows ordered by schema, table, ordinal.

    Each row is (schema, table, table type, column, type, nullable, default, primary key,
    ordinal[, row estimate[, table comment, column comment]]); a row with column None is a
    table without columns. An empty comment is none.
    """
    schemas = schemas or SchemaFilter()
    current: TableInfo | None = None
    for row in rows:
        schema, table, table_type, name, typ, nullable, default, pk, ordinal = row[:9]
        if not schemas.allows(str(schema)):
            continue
        if current is None or (current.schema, current.name) != (str(schema), str(table)):
            if current is not None:
                yield current
            estimate = row[9] if len(row) > 9 else None
            current = TableInfo(
                str(schema),
                str(table),
                kind(table_type),
                row_estimate=None if estimate is None else int(estimate),
                comment=str(row[10]) if len(row) > 10 and row[10] else None,
            )
        if name is not None:
            entry = column(name, typ, nullable, default, pk, ordinal)
            if len(row) > 11 and row[11]:
                entry["comment"] = str(row[11])
            current.columns.append(entry)
    if current is not None:
        yield current


def sql_kind(table_type: Any) -> str:
    """information_schema's TABLE_TYPE as TableInfo's kind."""
    text = str(table_type or "").upper()
    if "MATERIALIZED" in text:
        return "materialized view"
    if "VIEW" in text:
        return "view"
    if "FOREIGN" in text or "EXTERNAL" in text:
        return "foreign table"
    return "table"


def load_pem_key(
    text: str, passphrase: str | None, key_field: str, passphrase_field: str
) -> tuple[Any, dict[str, str]]:
    """Load a pasted PEM private key; return (key, {}) or (None, errors on the right field).

    A wrong passphrase is "Incorrect passphrase" on the passphrase field; an encrypted key
    without one asks for it; a passphrase given for an unencrypted key is not needed and ignored.
    """
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = text.strip().encode()
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        return None, {key_field: "Paste a PEM private key (-----BEGIN PRIVATE KEY-----…)"}
    try:
        return load_pem_private_key(data, password=None), {}
    except TypeError:
        pass  # encrypted: needs the passphrase
    except ValueError:
        return None, {key_field: "This is not a readable PEM private key"}
    except Exception:  # noqa: BLE001 - e.g. an unsupported algorithm
        return None, {key_field: "This is not a readable PEM private key"}
    if not passphrase:
        return None, {passphrase_field: "This key is encrypted: enter its passphrase"}
    try:
        return load_pem_private_key(data, password=passphrase.encode()), {}
    except ValueError:
        return None, {passphrase_field: "Incorrect passphrase"}
    except Exception:  # noqa: BLE001
        return None, {key_field: "This is not a readable PEM private key"}
