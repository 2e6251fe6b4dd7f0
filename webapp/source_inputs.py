"""The public names a data source reads and answers with, derived from the declarations.

Every registered dialect's FieldSpecs, SOURCE_FIELDS and the source lifecycle columns make up
the API's vocabulary; nothing here repeats a field's rules. The Basedash contract's own lists
are kept as names only: which fields every answer carries (null where the source's dialect has
no such field) and which request fields a client may send whatever the dialect (its examples
send every field for every dialect).

The data source object of every answer is declared once, as `source_response_fields()`: each
`ResponseField` says how it is read and what its JSON Schema is; api/serialize.py builds the
JSON from it and openapi.py the `DataSource` schema, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .dialects import DIALECTS, Dialect, FieldSpec
from .models import HealthStatus, Source, SyncStatus
from .source_fields import DISPLAY_NAME, SOURCE_FIELDS

# Connection fields that every data source answer carries (Basedash "data" object).
CONTRACT_RESPONSE_FIELDS = (
    "databaseName",
    "username",
    "host",
    "port",
    "sslEnabled",
    "sslCustomCertificatesEnabled",
    "sshEnabled",
    "sshHost",
    "sshPort",
    "sshUsername",
    "bigQueryProjectId",
    "spannerInstanceId",
    "snowflakeAccountId",
    "snowflakeWarehouse",
    "snowflakeRole",
    "athenaWorkgroup",
    "athenaOutputLocation",
    "athenaCatalog",
)

# Request fields of the Basedash create/verify/update bodies (besides type, dialect and
# displayName): accepted for any dialect, ignored when the dialect has no such field and the
# value is empty or that field's default.
CONTRACT_REQUEST_FIELDS = (
    "snowflakeAccountId",
    "snowflakeWarehouse",
    "snowflakeRole",
    "snowflakePrivateKey",
    "snowflakePrivateKeyPassphrase",
    "databaseName",
    "username",
    "host",
    "port",
    "password",
    "bigQueryJsonKey",
    "bigQueryProjectId",
    "spannerInstanceId",
    "athenaWorkgroup",
    "athenaOutputLocation",
    "athenaCatalog",
    "sslEnabled",
    "sshEnabled",
    "sshHost",
    "sshPort",
    "sshUsername",
    "sshPassword",
    "sshPrivateKey",
    "sshPrivateKeyPassphrase",
    "maxPoolSize",
)
CONTRACT_SECRETS = (
    "password",
    "snowflakePrivateKey",
    "snowflakePrivateKeyPassphrase",
    "bigQueryJsonKey",
    "sshPassword",
    "sshPrivateKey",
    "sshPrivateKeyPassphrase",
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
    return {*CONTROL_FIELDS, *CONTRACT_REQUEST_FIELDS, *dialect_specs(), *unset_flags()} | {
        spec.name for spec in SOURCE_FIELDS
    }


def _inert(name: str, value: Any) -> bool:
    """Empty, or the default some dialect declares for this field: safe to ignore."""
    if value is None or value == "":
        return True
    return any(
        spec.default is not None and spec.default == value and type(spec.default) is type(value)
        for spec in dialect_specs().get(name, [])
    )


def split_for_dialect(
    raw: Mapping[str, Any], dialect: Dialect | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Keep the names `dialect` uses; refuse unknown names and set values it has no field for.

    Returns (the input to hand to the use-cases, errors per field). Unset flags, `type` and
    unknown-dialect input are left to the caller. A whole number written as a JSON float
    (5432.0) is an integer, as JSON Schema (and so the OpenAPI document) says.
    """
    errors: dict[str, str] = {}
    kept: dict[str, Any] = {}
    known = known_names()
    specs = [
        *SOURCE_FIELDS,
        *(
            dialect.fields
            if dialect is not None
            else (s for group in dialect_specs().values() for s in group)
        ),
    ]
    own = {spec.name for spec in specs}
    integers = {spec.name for spec in specs if spec.kind == "integer"}
    flags = unset_flags()
    for name, value in raw.items():
        if name not in known:
            errors[name] = "Unknown field"
        elif name in ("type", *flags):
            continue
        elif name in own or name in ("dialect", "connectionString"):
            whole = name in integers and isinstance(value, float) and value.is_integer()
            kept[name] = int(value) if whole else value
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


def iso(moment: datetime | None) -> str | None:
    """A stored naive-UTC time as RFC 3339 with a Z (2023-11-07T05:31:56.000Z)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


# How a property is read: from the source row and its public values by API name (public
# connection values and SOURCE_FIELDS values; secrets are never among them).
Getter = Callable[[Source, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class ResponseField:
    """One property of the data source object: its name, how it is read, its JSON Schema.

    A connection or source field's schema follows from its FieldSpecs (`specs`, one per
    dialect that declares the name; `nullable` where a source may have no value); any other
    property states its `schema`.
    """

    name: str
    get: Getter
    schema: Mapping[str, Any] | None = None
    specs: tuple[FieldSpec, ...] = ()
    nullable: bool = True


def _value(name: str) -> Getter:
    return lambda _source, values: values.get(name)


def _at(column: str) -> Getter:
    return lambda source, _values: iso(getattr(source, column))


def _flag(column: str) -> Getter:
    return lambda source, _values: bool(getattr(source, column))


_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_STAMP = {"type": "string", "format": "date-time"}
_BOOLEAN = {"type": "boolean"}

# The lifecycle of every answer, in the contract's order (values come from Source columns).
LIFECYCLE: tuple[ResponseField, ...] = (
    ResponseField("lastSuccessfulSyncAt", _at("last_successful_sync_at"), _MOMENT),
    ResponseField(
        "lastSyncStatus",
        lambda s, _: s.last_sync_status or SyncStatus.NEVER_SYNCED.value,
        {"type": "string", "enum": [s.value for s in SyncStatus]},
    ),
    ResponseField("lastSyncAttemptAt", _at("last_sync_attempt_at"), _MOMENT),
    ResponseField("hasCompletedFirstSync", _flag("has_completed_first_sync"), _BOOLEAN),
    ResponseField(
        "syncErrorMessage", lambda s, _: s.sync_error_message, {"type": ["string", "null"]}
    ),
    ResponseField("lastHealthyAt", _at("last_healthy_at"), _MOMENT),
    ResponseField(
        "lastHealthStatus",
        lambda s, _: s.last_health_status,
        {"type": ["string", "null"], "enum": [*(s.value for s in HealthStatus), None]},
    ),
    ResponseField("lastHealthCheckAttemptAt", _at("last_health_check_attempt_at"), _MOMENT),
    # When the scheduler next runs the source's work on its own (null: paused or manual).
    ResponseField("nextSyncAt", _at("next_sync_at"), _MOMENT),
    ResponseField("nextHealthCheckAt", _at("next_health_at"), _MOMENT),
    ResponseField("isDemo", _flag("is_demo"), _BOOLEAN),
    ResponseField("isBasedashWarehouse", lambda _s, _v: False, {"type": "boolean", "const": False}),
    ResponseField("mutatingQueriesEnabled", _flag("mutating_queries_enabled"), _BOOLEAN),
    ResponseField("createdAt", _at("created_at"), _STAMP),
    ResponseField("updatedAt", _at("updated_at"), _STAMP),
)


# The registry's state (dialect key → identity of its fields) → the fields built for it, and
# the field tuples themselves, kept so no identity is reused while it is cached.
_built: dict[tuple[tuple[str, int], ...], tuple[tuple[ResponseField, ...], list[Any]]] = {}


def source_response_fields() -> tuple[ResponseField, ...]:
    """Every property of the data source object, in order: identity, connection fields (the
    contract's, then every other public field of the registry; null where the source's dialect
    has none), the other SOURCE_FIELDS, the lifecycle. No secret is ever read.

    Built once per state of the registry (a dialect added, a dialect's fields replaced)."""
    state = tuple((key, id(dialect.fields)) for key, dialect in DIALECTS.items())
    cached = _built.get(state)
    if cached is None:
        _built.clear()
        cached = _built[state] = (_response_fields(), [d.fields for d in DIALECTS.values()])
    return cached[0]


def _response_fields() -> tuple[ResponseField, ...]:
    specs = dialect_specs()
    hidden = set(secret_names())
    common = {spec.name: spec for spec in SOURCE_FIELDS}
    head = (
        ResponseField("id", lambda s, _: str(s.id), {"type": "string"}),
        # The source's public UUID, accepted wherever an id is.
        ResponseField("publicId", lambda s, _: s.public_id, {"type": "string", "format": "uuid"}),
        ResponseField(
            DISPLAY_NAME.name, _value(DISPLAY_NAME.name), specs=(DISPLAY_NAME,), nullable=False
        ),
        ResponseField("description", _value("description"), specs=(common["description"],)),
        ResponseField(
            "dialect",
            lambda s, _: s.dialect,
            {"type": "string", "description": "Database dialect/type."},
        ),
    )
    taken = {field.name for field in head}
    connection = tuple(
        ResponseField(name, lambda _s, _v: None, {"type": "null"})
        if name in hidden
        else ResponseField(name, _value(name), specs=tuple(specs.get(name, ())))
        for name in response_connection_fields()
        if name not in common
    )
    rest = tuple(
        ResponseField(spec.name, _value(spec.name), specs=(spec,))
        for spec in SOURCE_FIELDS
        if spec.name not in taken
    )
    return (*head, *connection, *rest, *LIFECYCLE)
