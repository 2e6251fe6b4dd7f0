"""The public names a data source reads and answers with, derived from the declarations.

Every registered dialect's FieldSpecs, SOURCE_FIELDS and the source lifecycle columns make up
the API's vocabulary; nothing here repeats a field's rules. The Basedash contract's own lists
are kept as names only: which fields every answer carries (null where the source's dialect has
no such field) and which request fields a client may send whatever the dialect (its examples
send every field for every dialect).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dialects import DIALECTS, Dialect, FieldSpec
from .source_fields import SOURCE_FIELDS

# Connection fields that every data source answer carries (Basedash "data" object).
CONTRACT_RESPONSE_FIELDS = (
    "databaseName", "username", "host", "port", "sslEnabled", "sslCustomCertificatesEnabled",
    "sshEnabled", "sshHost", "sshPort", "sshUsername", "bigQueryProjectId", "spannerInstanceId",
    "snowflakeAccountId", "snowflakeWarehouse", "snowflakeRole", "athenaWorkgroup",
    "athenaOutputLocation", "athenaCatalog",
)

# Request fields of the Basedash create/verify/update bodies (besides type, dialect and
# displayName): accepted for any dialect, ignored when the dialect has no such field and the
# value is empty or that field's default.
CONTRACT_REQUEST_FIELDS = (
    "snowflakeAccountId", "snowflakeWarehouse", "snowflakeRole", "snowflakePrivateKey",
    "snowflakePrivateKeyPassphrase", "databaseName", "username", "host", "port", "password",
    "bigQueryJsonKey", "bigQueryProjectId", "spannerInstanceId", "athenaWorkgroup",
    "athenaOutputLocation", "athenaCatalog", "sslEnabled", "sshEnabled", "sshHost", "sshPort",
    "sshUsername", "sshPassword", "sshPrivateKey", "sshPrivateKeyPassphrase", "maxPoolSize",
)
CONTRACT_SECRETS = ("password", "snowflakePrivateKey", "snowflakePrivateKeyPassphrase",
                    "bigQueryJsonKey", "sshPassword", "sshPrivateKey", "sshPrivateKeyPassphrase")

# Lifecycle fields of every answer, in the contract's order (values come from Source columns).
LIFECYCLE_FIELDS = (
    "lastSuccessfulSyncAt", "lastSyncStatus", "lastSyncAttemptAt", "hasCompletedFirstSync",
    "syncErrorMessage", "lastHealthyAt", "lastHealthStatus", "lastHealthCheckAttemptAt",
    "isDemo", "isBasedashWarehouse", "mutatingQueriesEnabled", "createdAt", "updatedAt",
)

# Names besides the fields: the connection type, the dialect, a pasted connection URL.
CONTROL_FIELDS = ("type", "dialect", "connectionString")
CONNECTION_TYPES = ("direct",)


def dialect_specs() -> dict[str, list[FieldSpec]]:
    """Every dialect field name → its declarations (one per dialect that has it)."""
    specs: dict[str, list[FieldSpec]] = {}
    for dialect in DIALECTS.values():
        for spec in dialect.fields:
            specs.setdefault(spec.name, []).append(spec)
    return specs


def secret_names() -> tuple[str, ...]:
    """Every write-only field: declared secret by any dialect, or a secret of the contract."""
    declared = {name for name, specs in dialect_specs().items() if any(s.secret for s in specs)}
    return tuple(sorted(declared | set(CONTRACT_SECRETS)))


def unset_flag(secret: str) -> str:
    """The PATCH flag that clears a stored secret: password → unsetPassword."""
    return "unset" + secret[0].upper() + secret[1:]


def unset_flags() -> dict[str, str]:
    """unset flag → the secret it clears, for every secret."""
    return {unset_flag(name): name for name in secret_names()}


def response_connection_fields() -> tuple[str, ...]:
    """The connection fields of an answer: the contract's, then every other public field."""
    secrets = set(secret_names())
    extra = [n for n in dialect_specs() if n not in secrets and n not in CONTRACT_RESPONSE_FIELDS]
    return (*CONTRACT_RESPONSE_FIELDS, *extra)


def known_names() -> set[str]:
    """Every request name the API understands."""
    return ({*CONTROL_FIELDS, *CONTRACT_REQUEST_FIELDS, *dialect_specs(), *unset_flags()}
            | {spec.name for spec in SOURCE_FIELDS})


def _inert(name: str, value: Any) -> bool:
    """Empty, or the default some dialect declares for this field: safe to ignore."""
    if value is None or value == "":
        return True
    return any(spec.default is not None and spec.default == value
               and type(spec.default) is type(value) for spec in dialect_specs().get(name, []))


def split_for_dialect(raw: Mapping[str, Any], dialect: Dialect | None
                      ) -> tuple[dict[str, Any], dict[str, str]]:
    """Keep the names `dialect` uses; refuse unknown names and set values it has no field for.

    Returns (the input to hand to the use-cases, errors per field). Unset flags, `type` and
    unknown-dialect input are left to the caller.
    """
    errors: dict[str, str] = {}
    kept: dict[str, Any] = {}
    known = known_names()
    own = {spec.name for spec in dialect.fields} if dialect is not None else set(dialect_specs())
    common = {spec.name for spec in SOURCE_FIELDS}
    flags = unset_flags()
    for name, value in raw.items():
        if name not in known:
            errors[name] = "Unknown field"
        elif name in ("type", *flags):
            continue
        elif name in own or name in common or name in ("dialect", "connectionString"):
            kept[name] = value
        elif not _inert(name, value):
            label = dialect.label if dialect is not None else "this dialect"
            errors[name] = f"Not a field of {label}"
    return kept, errors


_JSON_KINDS = {"text": str, "password": str, "textarea": str, "select": str}


def check_json_types(raw: Mapping[str, Any], dialect: Dialect | None) -> dict[str, str]:
    """JSON values of the declared kind (null allowed): text is a string, a port an integer."""
    errors: dict[str, str] = {}
    specs = {s.name: s for s in (*SOURCE_FIELDS, *(dialect.fields if dialect else ()))}
    for name, value in raw.items():
        spec = specs.get(name)
        if spec is None or value is None:
            continue
        if spec.kind == "boolean" and not isinstance(value, bool):
            errors[name] = "Must be true or false"
        elif spec.kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = f"{spec.label} must be a whole number"
        elif spec.kind in _JSON_KINDS and not isinstance(value, str):
            errors[name] = f"{spec.label} must be text"
    for name in ("dialect", "connectionString"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            errors[name] = "Must be text"
    return errors
