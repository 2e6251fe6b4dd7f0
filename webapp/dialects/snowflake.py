"""Snowflake: password or key-pair authentication (the key checked offline), the official
connector with a login deadline, one information_schema query plus SHOW PRIMARY KEYS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult

from ..core.failures import BAD_CREDENTIALS, NO_DATABASE
from ..core.steps import API_STEPS
from .base import Dialect, SchemaFilter, TableInfo, Target
from .cloud import catalog_failure, group_tables, load_pem_key, sql_kind, whole_seconds
from .errors_table import ErrorRule, Failure, chain_text, vendor_timeout
from .fields import FieldInvalid, FieldSpec, database_field, password_field, username_field
from .urls import UrlForm

ACCOUNT = "snowflakeAccountId"
KEY = "snowflakePrivateKey"
KEY_PHRASE = "snowflakePrivateKeyPassphrase"
# orgname-accountname (or orgname_accountname), or a legacy locator with region and cloud.
ACCOUNT_ID = re.compile(
    r"^[A-Za-z][A-Za-z0-9]*[-_][A-Za-z0-9_]+$"
    r"|^[A-Za-z]{2,}[0-9]+(\.[a-z0-9-]+){0,2}$"
)
IDENTIFIER = re.compile(r'^([A-Za-z_][A-Za-z0-9_$]*|"[^"]+")$')
SYNC_SECONDS = 300

CATALOG_QUERY = """
SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable,
       c.column_default, c.ordinal_position, t.row_count, t.comment, c.comment
FROM information_schema.columns c
JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema <> 'INFORMATION_SCHEMA'
ORDER BY c.table_schema, c.table_name, c.ordinal_position
"""

# Snowflake's login error numbers.
BAD_LOGIN = {390100, 390101, 390102}
BAD_JWT = {390144, 394304}
NOT_FOUND = 390201
ROLE_NOT_GRANTED = 390189
IP_BLOCKED = 390422
PASSWORD_EXPIRED = {390106, 390114}
TIMEOUT_STATES = {"HYT00", "HYT01"}
NO_WAREHOUSE = 606  # "No active warehouse selected in the current session"


def _missing(noun: str, field_name: str, message: str | None = None) -> Failure:
    message = message or f"{noun} does not exist"
    return Failure(
        "database", f"{message}, or this user's role may not use it.", {field_name: message}
    )


# The connector's login error numbers (errno) and SQL states, then its messages.
ERRORS = (
    ErrorRule(
        Failure(
            "auth",
            "Snowflake rejected the user or its key.",
            {"username": BAD_CREDENTIALS, KEY: "Key not accepted"},
        ),
        code=BAD_LOGIN,
        given=(KEY,),
    ),
    ErrorRule(
        Failure(
            "auth",
            "Snowflake rejected the username or password.",
            {"username": BAD_CREDENTIALS, "password": BAD_CREDENTIALS},
        ),
        code=BAD_LOGIN,
    ),
    ErrorRule(
        Failure(
            "auth",
            "Snowflake did not accept this key for this user: set its public "
            "key on the user (ALTER USER … SET RSA_PUBLIC_KEY = '…').",
            {KEY: "This key is not registered for this user"},
        ),
        code=BAD_JWT,
    ),
    ErrorRule(
        Failure(
            "auth",
            "The user's password has expired or is locked.",
            {"password": "The password has expired"},
        ),
        code=PASSWORD_EXPIRED,
    ),
    ErrorRule(
        Failure(
            "auth",
            "The role {snowflakeRole!r} is not granted to this user.",
            {"snowflakeRole": "This role is not granted to the user"},
        ),
        code=ROLE_NOT_GRANTED,
    ),
    ErrorRule(
        _missing("Warehouse", "snowflakeWarehouse"),
        code=NOT_FOUND,
        also=r"requested (?i:warehouse) does not exist",
    ),
    ErrorRule(
        _missing("Role", "snowflakeRole"),
        code=NOT_FOUND,
        also=r"requested (?i:role) does not exist",
    ),
    ErrorRule(_missing("Database", "databaseName", NO_DATABASE), code=NOT_FOUND),
    ErrorRule(
        Failure(
            "auth",
            "The account's network policy does not allow Datadock's address. "
            "Add it to the policy's allowed IP list.",
            {ACCOUNT: "Datadock's address is not allowed by the network policy"},
        ),
        code=IP_BLOCKED,
    ),
    ErrorRule(vendor_timeout("Snowflake", ACCOUNT), code=TIMEOUT_STATES, text="timed out"),
    ErrorRule(
        Failure(
            "auth",
            "Datadock's server could not look up Snowflake's address: its DNS "
            "resolver did not answer. Check the server's internet access.",
        ),
        text="Temporary failure in name resolution",
    ),
    ErrorRule(
        Failure(
            "auth",
            "There is no Snowflake account {snowflakeAccountId!r}. Check the "
            "account identifier (orgname-accountname).",
            {ACCOUNT: "Account not found"},
        ),
        text=r"lookup address|name resolution|\b(403|404)\b",
    ),
)


def _account(parts: SplitResult, options: dict[str, str]) -> dict[str, Any]:
    """The URL's host is the account (its domain left out)."""
    return {ACCOUNT: (parts.hostname or "").removesuffix(".snowflakecomputing.com")}


def account_id(value: str) -> str:
    """The account identifier, also from its host (`<account>.snowflakecomputing.com`, with or
    without https://)."""
    text = value.strip()
    text = text[8:] if text.lower().startswith("https://") else text
    text = text.rstrip("/")
    return (
        text[: -len(".snowflakecomputing.com")]
        if text.lower().endswith(".snowflakecomputing.com")
        else text
    )


def check_account(value: str) -> None:
    """The account identifier, or its host name (read as the identifier)."""
    value = account_id(value)
    if "/" in value or ".snowflakecomputing.com" in value.lower():
        raise FieldInvalid(
            "Enter the account identifier (e.g. myorg-myaccount) or its host "
            "myorg-myaccount.snowflakecomputing.com"
        )
    if not ACCOUNT_ID.match(value):
        raise FieldInvalid(
            "Use orgname-accountname (e.g. myorg-myaccount) or a locator "
            "with its region (e.g. xy12345.us-east-2.aws)"
        )


def check_identifier(value: str) -> None:
    """A Snowflake object name: unquoted letters, digits, _ and $, or "quoted"."""
    if not IDENTIFIER.match(value):
        raise FieldInvalid('Use letters, digits, _ and $ (or a "quoted" name)')


class Snowflake(Dialect):
    """Snowflake with a password or an RSA key pair."""

    key = "SNOWFLAKE"
    label = "Snowflake"
    category = "Warehouse"
    docs_url = (
        "https://docs.snowflake.com/en/developer-guide/python-connector/python-connector-connect"
    )
    read_only_sql = """\
CREATE ROLE datadock_reader;
GRANT USAGE ON WAREHOUSE your_warehouse TO ROLE datadock_reader;
GRANT USAGE ON DATABASE your_database TO ROLE datadock_reader;
GRANT USAGE ON ALL SCHEMAS IN DATABASE your_database TO ROLE datadock_reader;
GRANT SELECT ON ALL TABLES IN DATABASE your_database TO ROLE datadock_reader;
GRANT SELECT ON ALL VIEWS IN DATABASE your_database TO ROLE datadock_reader;
GRANT SELECT ON FUTURE TABLES IN DATABASE your_database TO ROLE datadock_reader;
CREATE USER datadock_reader PASSWORD = 'choose-a-long-password'
  DEFAULT_ROLE = datadock_reader DEFAULT_WAREHOUSE = your_warehouse;
GRANT ROLE datadock_reader TO USER datadock_reader;"""
    extra = "snowflake"
    driver_modules = ("snowflake.connector",)
    steps = API_STEPS
    driver_steps = ("auth", "database")
    errors = ERRORS
    error_text = staticmethod(chain_text)
    # snowflake://user:password@account/database/schema?warehouse=…&role=…
    url_schemes = ("snowflake",)
    url_form = UrlForm(
        host=ACCOUNT,
        port=None,
        more=_account,
        options={
            "warehouse": "snowflakeWarehouse",
            "role": "snowflakeRole",
            "database": "databaseName",
        },
    )
    fields = (
        FieldSpec(
            name=ACCOUNT,
            label="Account identifier",
            required=True,
            max_length=255,
            placeholder="myorg-myaccount",
            checks=(check_account,),
            help="Admin → Accounts, or the part of your Snowflake URL before "
            ".snowflakecomputing.com.",
            docs="https://docs.snowflake.com/en/user-guide/admin-account-identifier",
        ),
        username_field(max_length=255),
        password_field(
            required=False,
            max_length=1024,
            help="Leave blank to authenticate with a private key instead.",
        ),
        FieldSpec(
            name=KEY,
            label="Private key",
            kind="textarea",
            secret=True,
            max_length=16384,
            placeholder="-----BEGIN PRIVATE KEY-----",
            help="For key-pair authentication: the PEM RSA private key whose public key "
            "is set on the user (ALTER USER … SET RSA_PUBLIC_KEY).",
            docs="https://docs.snowflake.com/en/user-guide/key-pair-auth",
        ),
        password_field(
            name=KEY_PHRASE,
            label="Private key passphrase",
            required=False,
            help="Only for an encrypted private key.",
        ),
        database_field(max_length=255, checks=(check_identifier,), placeholder="ANALYTICS"),
        FieldSpec(
            name="snowflakeWarehouse",
            label="Warehouse",
            max_length=255,
            checks=(check_identifier,),
            placeholder="COMPUTE_WH",
            help="Runs the catalog query; blank uses the user's default warehouse.",
        ),
        FieldSpec(
            name="snowflakeRole",
            label="Role",
            max_length=255,
            checks=(check_identifier,),
            placeholder="ANALYST",
            help="Blank uses the user's default role.",
        ),
        # Credible Data's Snowflake options: the session's schema and a statement timeout.
        FieldSpec(
            name="snowflakeSchema",
            label="Schema",
            max_length=255,
            checks=(check_identifier,),
            placeholder="PUBLIC",
            help="The session's default schema; blank uses the user's default.",
        ),
        FieldSpec(
            name="snowflakeResponseTimeoutMs",
            label="Response timeout (ms)",
            kind="integer",
            min_value=1000,
            max_value=3_600_000,
            help=f"How long one statement may run. Blank: {SYNC_SECONDS} s.",
        ),
    )

    @property
    def identity_names(self) -> tuple[str, ...]:
        """The account and database: where the password or key is sent."""
        return (ACCOUNT, "databaseName")

    def uses_tls(self, values: dict[str, Any]) -> bool:
        """Snowflake is HTTPS only."""
        return True

    def check_local(self, values: dict[str, Any]) -> dict[str, str]:
        """A password or a key; the key loads (with its passphrase) and is RSA."""
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

        errors = super().check_local(values)
        if values.get(ACCOUNT):  # a host name given for the account is stored as the account
            values[ACCOUNT] = account_id(values[ACCOUNT])
        if not values.get(KEY):
            if not values.get("password"):
                errors.update({"password": "Enter the password or paste a private key"})
            return errors
        key, key_errors = load_pem_key(values[KEY], values.get(KEY_PHRASE), KEY, KEY_PHRASE)
        errors.update(key_errors)
        if key is not None and not isinstance(key, RSAPrivateKey):
            errors[KEY] = "Snowflake key-pair authentication needs an RSA key"
        return errors

    def connect(self, target: Target) -> Any:
        """Log in (the login checks credentials, database, warehouse and role at once)."""
        import snowflake.connector

        v = target.values
        seconds = whole_seconds(target.timeout)
        auth: dict[str, Any] = {"password": v.get("password")}
        if v.get(KEY):
            key, _ = load_pem_key(v[KEY], v.get(KEY_PHRASE), KEY, KEY_PHRASE)
            auth = {"private_key": key, "authenticator": "SNOWFLAKE_JWT"}
        timeout_ms = v.get("snowflakeResponseTimeoutMs")
        statement = max(1, timeout_ms // 1000) if timeout_ms else SYNC_SECONDS
        connection = snowflake.connector.connect(
            account=account_id(v[ACCOUNT]),
            user=v["username"],
            database=v["databaseName"],
            schema=v.get("snowflakeSchema") or None,
            warehouse=v.get("snowflakeWarehouse") or None,
            role=v.get("snowflakeRole") or None,
            login_timeout=seconds,
            request_timeout=seconds,
            retry_max_attempts=1,
            application="Datadock",
            enable_server_session_keep_alive_auto_detection=False,
            session_parameters={"STATEMENT_TIMEOUT_IN_SECONDS": statement},
            **auth,
        )
        connection.datadock_statement_seconds = statement  # type: ignore[attr-defined]  # read by introspect
        return connection

    def check_catalog(self, connection: Any) -> None:
        """The database's information_schema, which the sync reads."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT 1 FROM information_schema.columns LIMIT 1")
            cursor.fetchall()
        except Exception as exc:
            if getattr(exc, "errno", None) == NO_WAREHOUSE:
                raise catalog_failure(
                    None,
                    "snowflakeWarehouse",
                    "Choose a warehouse this role may use (none is active)",
                ) from exc
            raise catalog_failure(
                None, "snowflakeRole", "This role cannot read the database's information_schema"
            ) from exc
        finally:
            cursor.close()

    def server_version(self, connection: Any) -> str:
        """ "Snowflake 8.39.2" from CURRENT_VERSION()."""
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT CURRENT_VERSION()")
            row = cursor.fetchone()
        finally:
            cursor.close()
        return f"Snowflake {row[0] if row else 'unknown'}"

    def error_codes(self, exc: BaseException) -> tuple[Any, ...]:
        """The connector's error number and SQL state."""
        return tuple(
            c
            for c in (getattr(exc, "errno", None), getattr(exc, "sqlstate", None))
            if c is not None
        )

    def introspect(
        self, connection: Any, schemas: SchemaFilter | None = None
    ) -> Iterator[TableInfo]:
        """SHOW PRIMARY KEYS IN DATABASE, then one information_schema query, fetched in
        batches."""
        cursor = connection.cursor()
        try:
            statement = int(getattr(connection, "datadock_statement_seconds", SYNC_SECONDS))
            cursor.execute(f"ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {statement}")
            cursor.execute("SHOW PRIMARY KEYS IN DATABASE")
            names = [d[0] for d in cursor.description]
            at = {n: names.index(n) for n in ("schema_name", "table_name", "column_name")}
            keys = {
                (r[at["schema_name"]], r[at["table_name"]], r[at["column_name"]])
                for r in cursor.fetchall()
            }
            cursor.execute(CATALOG_QUERY)

            def rows() -> Iterator[tuple]:
                while batch := cursor.fetchmany(5000):
                    for s, t, tt, c, typ, nullable, default, ordinal, estimate, *notes in batch:
                        yield (
                            s,
                            t,
                            tt,
                            c,
                            typ,
                            nullable,
                            default,
                            (s, t, c) in keys,
                            ordinal,
                            estimate,
                            *notes,  # the table's and the column's COMMENT
                        )

            yield from group_tables(rows(), schemas, sql_kind)
        finally:
            cursor.close()


REGISTER = (Snowflake(),)
