"""How a stored source maps to field values: public columns, settings, the encrypted blob."""

from __future__ import annotations

from typing import Any

from flask import current_app

from .dialects import get_dialect
from .models import Source
from .vault import Vault

# Public fields that every SQL dialect shares are columns; any other public field is a setting.
COLUMNS = {
    "host": "host",
    "port": "port",
    "databaseName": "database_name",
    "username": "username",
    "sslEnabled": "ssl_enabled",
}


def vault() -> Vault:
    """The app's vault, built from DATADOCK_ENCRYPTION_KEYS at start-up."""
    return current_app.extensions["datadock_vault"]


def public_values(source: Source) -> dict[str, Any]:
    """The source's non-secret field values under their API names."""
    values = {name: getattr(source, column) for name, column in COLUMNS.items()}
    values.update(source.settings or {})
    dialect = get_dialect(source.dialect)
    names = {f.name for f in dialect.fields if not f.secret} if dialect else set()
    return {k: v for k, v in values.items() if k in names}


def connection_values(source: Source) -> dict[str, Any]:
    """Public and decrypted secret values, for connecting. Never render or log these."""
    return {**public_values(source), **vault().decrypt(source.secrets_blob)}
