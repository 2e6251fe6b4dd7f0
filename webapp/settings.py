"""Typed settings: every environment variable Datadock reads, validated once at start.

`load_settings()` reads the environment into a frozen `Settings` (pydantic-settings) or raises
`ConfigError` with one line that names each bad variable. Numbers are strict (`2.9` is not a
whole number, `ten` is not a number), booleans are true/false, on/off, yes/no or 1/0, and
`DATADOCK_ENV=production` refuses what would lose data or secrets. Secret values (SECRET_KEY,
the encryption keys, the store URL's password) never appear in a message.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from cryptography.fernet import Fernet
from pydantic import BeforeValidator, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

log = logging.getLogger(__name__)

TRUE_WORDS = frozenset({"true", "on", "yes", "1"})
FALSE_WORDS = frozenset({"false", "off", "no", "0"})
# Read elsewhere, not settings: the create-admin command's password prompt takes it.
OTHER_VARIABLES = frozenset({"DATADOCK_ADMIN_PASSWORD"})
MIN_SECRET_KEY = 32  # characters of SECRET_KEY in production
SECRET_VARIABLES = frozenset(
    {
        "SECRET_KEY",
        "DATADOCK_ENCRYPTION_KEYS",
        "DATABASE_URL",
        "DATADOCK_ADMIN_PASSWORD",
        "DATADOCK_SMTP_URL",
        "DATADOCK_OIDC_CLIENT_SECRET",
        "DATADOCK_METRICS_TOKEN",
    }
)


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot give a working app."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("must be true or false (on/off, yes/no and 1/0 also work)")


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d{1,9}", text):
        raise ValueError("must be a whole number")
    return int(text)


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _networks(value: Any) -> str:
    """Comma-separated CIDRs, checked; kept as text (`split_list()` splits them)."""
    text = str(value or "")
    for network in split_list(text):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{network!r} is not a network (e.g. 10.0.0.0/8)") from None
    return ",".join(split_list(text))


def _rate(value: Any) -> str:
    from .ratelimit import parse_rate

    parse_rate(str(value))  # raises ValueError with the accepted form
    return str(value).strip()


def _fernet_keys(value: Any) -> Any:
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")
    for position, key in enumerate(split_list(text), start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ValueError(
                f"key #{position} in DATADOCK_ENCRYPTION_KEYS is not a valid "
                "Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return value


def _store_url(value: Any) -> Any:
    """A PostgreSQL or SQLite URL, with psycopg 3 as PostgreSQL's driver."""
    if value is None:
        return None
    text = (value.get_secret_value() if isinstance(value, SecretStr) else str(value)).strip()
    if not text:
        return None
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme in ("postgres", "postgresql"):
        text = "postgresql+psycopg" + text[len(scheme) :]
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise ValueError(
            "is not a URL (e.g. postgresql://user:password@host:5432/datadock)"
        ) from None
    if url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg":
        return text
    if url.get_backend_name() == "sqlite" and url.get_driver_name() in ("pysqlite", ""):
        return text
    raise ValueError(
        f"names a {scheme or 'schemeless'}:// store: Datadock stores its data in "
        "PostgreSQL (postgresql://…, psycopg 3) or SQLite (sqlite:///path)"
    )


def _base_url(value: Any) -> Any:
    """An absolute http(s) URL without a trailing slash (None when empty)."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", text):
        raise ValueError(
            "must be an absolute http:// or https:// URL (e.g. https://datadock.example.com)"
        )
    return text


def _smtp_url(value: Any) -> Any:
    """smtp://user:pass@host:587 (STARTTLS) or smtps://…:465 (TLS from the start)."""
    if value is None:
        return None
    text = (value.get_secret_value() if isinstance(value, SecretStr) else str(value)).strip()
    if not text:
        return None
    if not re.fullmatch(r"smtps?://([^@\s]*@)?[^:/@\s]+(:\d{1,5})?/?", text):
        raise ValueError(
            "must look like smtp://user:password@host:587 (STARTTLS) or "
            "smtps://user:password@host:465"
        )
    return text


Bool = Annotated[bool, BeforeValidator(_bool)]
Int = Annotated[int, BeforeValidator(_int)]
Float = Annotated[float, BeforeValidator(_float)]
Positive = Annotated[Float, Field(gt=0)]
Networks = Annotated[str, BeforeValidator(_networks)]
Rate = Annotated[str, BeforeValidator(_rate)]


def env(name: str, default: Any = None) -> Any:
    """A field read from the environment variable `name`."""
    return Field(default, validation_alias=name)


def split_list(text: str) -> list[str]:
    """The non-empty items of a comma-separated list."""
    return [item.strip() for item in text.split(",") if item.strip()]


class Settings(BaseSettings):
    """Every setting, typed. Field names are lower-case; each reads the variable it names."""

    model_config = SettingsConfigDict(
        case_sensitive=True, env_ignore_empty=True, frozen=True, extra="ignore"
    )

    # The store and the keys.
    database_url: Annotated[SecretStr | None, BeforeValidator(_store_url)] = env("DATABASE_URL")
    secret_key: SecretStr | None = env("SECRET_KEY")
    encryption_keys: Annotated[SecretStr | None, BeforeValidator(_fernet_keys)] = env(
        "DATADOCK_ENCRYPTION_KEYS"
    )
    environment: Annotated[Literal["development", "production"], BeforeValidator(_lower)] = env(
        "DATADOCK_ENV", "development"
    )
    allow_sqlite_in_production: Bool = env("DATADOCK_ALLOW_SQLITE_IN_PRODUCTION", False)
    port: Annotated[Int, Field(ge=1, le=65535)] = env("PORT", 5000)
    instance_path: Path | None = env("DATADOCK_INSTANCE_PATH")
    data_dir: Path | None = env("DATADOCK_DATA_DIR")
    # Outbound connections.
    egress_block: Networks = env("DATADOCK_EGRESS_BLOCK", "")
    egress_allow: Networks = env("DATADOCK_EGRESS_ALLOW", "")
    outbound_address: Annotated[str | None, Field(max_length=255)] = env(
        "DATADOCK_OUTBOUND_ADDRESS"
    )
    verify_timeout: Positive = env("DATADOCK_VERIFY_TIMEOUT", 10.0)
    verify_concurrency: Annotated[Int, Field(ge=1)] = env("DATADOCK_VERIFY_CONCURRENCY", 4)
    verify_concurrency_per_org: Annotated[Int, Field(ge=1)] = env(
        "DATADOCK_VERIFY_CONCURRENCY_PER_ORG", 2
    )
    # Seconds POST /api/v2/datasource (DataBrain) waits for the first sync before answering.
    databrain_schema_wait_seconds: Annotated[Float, Field(ge=0)] = env(
        "DATADOCK_DATABRAIN_SCHEMA_WAIT_SECONDS", 30.0
    )
    # Background jobs.
    scheduler: Bool = env("DATADOCK_SCHEDULER", True)
    tick_seconds: Positive = env("DATADOCK_TICK_SECONDS", 5.0)
    workers: Annotated[Int, Field(ge=1)] = env("DATADOCK_WORKERS", 4)
    sync_interval: Positive = env("DATADOCK_SYNC_INTERVAL", 3600.0)
    job_lease_seconds: Positive = env("DATADOCK_JOB_LEASE_SECONDS", 30.0)
    job_heartbeat_seconds: Positive = env("DATADOCK_JOB_HEARTBEAT_SECONDS", 10.0)
    health_interval: Annotated[Float, Field(ge=0)] = env("DATADOCK_HEALTH_INTERVAL", 300.0)
    health_workers: Annotated[Int, Field(ge=1)] = env("DATADOCK_HEALTH_WORKERS", 1024)
    health_retention_days: Positive = env("DATADOCK_HEALTH_RETENTION_DAYS", 30.0)
    prune_interval: Positive = env("DATADOCK_PRUNE_INTERVAL", 3600.0)
    # Sessions, logins, the API.
    session_idle_minutes: Positive = env("DATADOCK_SESSION_IDLE_MINUTES", 60.0)
    session_max_hours: Positive = env("DATADOCK_SESSION_MAX_HOURS", 12.0)
    api_rate_limit: Rate = env("DATADOCK_API_RATE_LIMIT", "120/minute")
    login_rate_limit: Rate = env("DATADOCK_LOGIN_RATE_LIMIT", "10/15 minutes")
    login_address_rate_limit: Rate = env("DATADOCK_LOGIN_ADDRESS_RATE_LIMIT", "50/15 minutes")
    trusted_proxies: Annotated[Int, Field(ge=0)] = env("DATADOCK_TRUSTED_PROXIES", 0)
    # Links in emails and notifications, mail, single sign-on, metrics.
    base_url: Annotated[str | None, BeforeValidator(_base_url)] = env("DATADOCK_BASE_URL")
    smtp_url: Annotated[SecretStr | None, BeforeValidator(_smtp_url)] = env("DATADOCK_SMTP_URL")
    smtp_from: Annotated[str, Field(min_length=3, max_length=255)] = env(
        "DATADOCK_SMTP_FROM", "datadock@localhost"
    )
    oidc_issuer: Annotated[str | None, BeforeValidator(_base_url)] = env("DATADOCK_OIDC_ISSUER")
    oidc_client_id: Annotated[str | None, Field(max_length=255)] = env("DATADOCK_OIDC_CLIENT_ID")
    oidc_client_secret: SecretStr | None = env("DATADOCK_OIDC_CLIENT_SECRET")
    oidc_provider_name: Annotated[str, Field(min_length=1, max_length=64)] = env(
        "DATADOCK_OIDC_PROVIDER_NAME", "SSO"
    )
    oidc_allowed_domains: Annotated[str, Field(max_length=2000)] = env(
        "DATADOCK_OIDC_ALLOWED_DOMAINS", ""
    )
    oidc_default_role: Annotated[
        Literal["none", "viewer", "editor", "admin"] | None, BeforeValidator(_lower)
    ] = env("DATADOCK_OIDC_DEFAULT_ROLE", "none")
    metrics_token: SecretStr | None = env("DATADOCK_METRICS_TOKEN")
    # Origins (scheme://host[:port]) whose pages may call the Supermetrics face from a browser.
    cors_origins: Annotated[str, Field(max_length=4000)] = env("DATADOCK_CORS_ORIGINS", "")
    # Logs.
    log_level: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = env("DATADOCK_LOG_LEVEL", "INFO")
    log_format: Annotated[Literal["json", "text"] | None, BeforeValidator(_lower)] = env(
        "DATADOCK_LOG_FORMAT"
    )

    @property
    def production(self) -> bool:
        """DATADOCK_ENV=production."""
        return self.environment == "production"

    @property
    def log_kind(self) -> str:
        """The log format: DATADOCK_LOG_FORMAT, else json in production and text elsewhere."""
        return self.log_format or ("json" if self.production else "text")

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.job_heartbeat_seconds >= self.job_lease_seconds:
            raise ValueError(
                f"DATADOCK_JOB_HEARTBEAT_SECONDS ({self.job_heartbeat_seconds:g}) must be "
                f"shorter than DATADOCK_JOB_LEASE_SECONDS ({self.job_lease_seconds:g}), or a "
                "running job's lease lapses between two renewals"
            )
        if not self.production:
            return self
        missing = [
            name
            for name, value in (
                ("SECRET_KEY", self.secret_key),
                ("DATADOCK_ENCRYPTION_KEYS", self.encryption_keys),
            )
            if not _secret(value)
        ]
        if missing:
            raise ValueError(
                f"DATADOCK_ENV=production needs {' and '.join(missing)} to be set "
                "(development generates them into the instance folder)"
            )
        if len(_secret(self.secret_key)) < MIN_SECRET_KEY:
            raise ValueError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY} characters in "
                "production (e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        url = self.database_url.get_secret_value() if self.database_url else ""
        if (not url or url.startswith("sqlite")) and not self.allow_sqlite_in_production:
            raise ValueError(
                "DATADOCK_ENV=production with "
                + ("no DATABASE_URL" if not url else "a SQLite DATABASE_URL")
                + ": refusing to keep the store in a SQLite file on this machine's disk. Set "
                "DATABASE_URL to a PostgreSQL URL, or DATADOCK_ALLOW_SQLITE_IN_PRODUCTION=true "
                "if that disk is persistent"
            )
        return self


def variable_names() -> set[str]:
    """Every environment variable a setting reads."""
    return {str(field.validation_alias) for field in Settings.model_fields.values()}


_ERRORS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "must be {expected}",
    "string_too_long": "must be at most {max_length} characters",
}


def describe(error: Any) -> str:
    """One pydantic error as "VARIABLE must …, got '…'" (never the value of a secret)."""
    name = str(error["loc"][0]) if error.get("loc") else ""
    if name in Settings.model_fields:  # a default that failed is reported by field name
        name = str(Settings.model_fields[name].validation_alias)
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error":
        text = str(ctx.get("error", error["msg"]))
    elif error["type"] in _ERRORS:
        text = _ERRORS[error["type"]].format(**ctx)
    else:
        text = error["msg"][:1].lower() + error["msg"][1:]
    if not name or name in text:
        return text
    shown = os.environ.get(name, error.get("input"))  # as written, before any clean-up
    got = "" if name in SECRET_VARIABLES or not isinstance(shown, str) else f", got {shown!r}"
    return f"{name} {text}{got}"


def load_settings() -> Settings:
    """Read and check the environment once; ConfigError (one line) when something is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError("; ".join(describe(e) for e in exc.errors())) from None


def warn_unknown_variables() -> list[str]:
    """Log (and return) DATADOCK_* variables that no setting reads: most likely typos."""
    known = variable_names() | OTHER_VARIABLES
    unknown = sorted(n for n in os.environ if n.startswith("DATADOCK_") and n not in known)
    if unknown:
        log.warning(
            "ignored: %s %s not a Datadock setting (see the README's configuration table)",
            ", ".join(unknown),
            "is" if len(unknown) == 1 else "are",
        )
    return unknown
