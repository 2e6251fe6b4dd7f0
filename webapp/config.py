"""The Flask config built from the typed settings (settings.py), development keys generated
into instance/, and the start-up check that the store answers."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .extensions import StorePool, json_text
from .settings import ConfigError, Settings, load_settings, split_list, warn_unknown_variables

__all__ = ["ConfigError", "check_store", "flask_config", "load_config"]

log = logging.getLogger(__name__)

# Seconds a PostgreSQL store may take to accept a connection (start-up check, every request).
STORE_CONNECT_TIMEOUT = 10


def _dev_secret(instance: Path, filename: str, make: Any, env_name: str) -> str:
    """Read a generated development secret, creating it once (mode 0600) with a warning."""
    path = instance / filename
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value + "\n")
    path.chmod(0o600)
    log.warning(
        "%s is not set: generated a development value into %s. Set %s in production.",
        env_name,
        path,
        env_name,
    )
    return value


def _secret(value: Any) -> str:
    return value.get_secret_value().strip() if value is not None else ""


def _rate(text: str) -> tuple[int, int]:
    from .ratelimit import parse_rate

    return parse_rate(text)


def _engine_options(url: str) -> dict[str, Any]:
    """SQLite: pinged at every checkout (in-process, free). PostgreSQL: StorePool pings only
    connections that sat idle (a ping is a round trip to the store)."""
    if not url.startswith("postgresql"):
        return {"pool_pre_ping": True, "json_serializer": json_text}
    return {
        "poolclass": StorePool,
        "pool_use_lifo": True,
        "json_serializer": json_text,
        "connect_args": {"connect_timeout": STORE_CONNECT_TIMEOUT},
    }


def flask_config(settings: Settings, instance_path: str) -> dict[str, Any]:
    """The Flask config keys (the names the code reads) for `settings`."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    warn_unknown_variables()
    production = settings.production
    secret_key = _secret(settings.secret_key) or _dev_secret(
        instance, "secret_key", lambda: secrets.token_urlsafe(48), "SECRET_KEY"
    )
    keys = _secret(settings.encryption_keys) or _dev_secret(
        instance,
        "encryption_keys",
        lambda: Fernet.generate_key().decode(),
        "DATADOCK_ENCRYPTION_KEYS",
    )
    store = _secret(settings.database_url) or f"sqlite:///{instance / 'datadock.sqlite3'}"

    # SQLite and DuckDB sources open files from inside this folder only.
    data_dir = (settings.data_dir or instance / "data").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    return {
        "SECRET_KEY": secret_key,
        "DATA_DIR": str(data_dir),
        # Networks Datadock refuses to connect to, on top of link-local/metadata/multicast, and
        # networks it allows even so (comma-separated CIDRs).
        "EGRESS_BLOCK": split_list(settings.egress_block),
        "EGRESS_ALLOW": split_list(settings.egress_allow),
        # Shown in timeout errors so users know what to allow in their firewall.
        "OUTBOUND_ADDRESS": settings.outbound_address or None,
        "DATADOCK_ENCRYPTION_KEYS": split_list(keys),
        "SQLALCHEMY_DATABASE_URI": store,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(store),
        "DATADOCK_PRODUCTION": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        # Seconds one verify may take in all (DNS, TCP, login, first query).
        "VERIFY_TIMEOUT": settings.verify_timeout,
        # Verifies run at once per process, and per organization.
        "VERIFY_CONCURRENCY": settings.verify_concurrency,
        "VERIFY_CONCURRENCY_PER_ORG": settings.verify_concurrency_per_org,
        # Seconds the DataBrain face waits for a new source's first sync.
        "DATABRAIN_SCHEMA_WAIT_SECONDS": settings.databrain_schema_wait_seconds,
        # Seconds between scheduled schema syncs of one source.
        "SYNC_INTERVAL": settings.sync_interval,
        # Seconds a claimed job is leased; its process renews the lease every heartbeat.
        "JOB_LEASE_SECONDS": settings.job_lease_seconds,
        "JOB_HEARTBEAT_SECONDS": settings.job_heartbeat_seconds,
        "SCHEDULER_ENABLED": settings.scheduler,
        "SCHEDULER_TICK_SECONDS": settings.tick_seconds,
        "SCHEDULER_WORKERS": settings.workers,
        # Seconds between health checks of one source (0: no health checks in this process).
        "HEALTH_INTERVAL": settings.health_interval,
        # Health checks run at once per process: they mostly wait on the network, so many.
        "HEALTH_WORKERS": settings.health_workers,
        # Days of health history kept.
        "HEALTH_RETENTION_DAYS": settings.health_retention_days,
        # Seconds between prunes of old health checks and spent rate-limit counters.
        "PRUNE_INTERVAL": settings.prune_interval,
        # Requests one API key (or, without a valid key, one address) may make per window.
        "API_RATE_LIMIT": _rate(settings.api_rate_limit),
        # Login attempts per account and per address (every attempt counts, right or wrong).
        "LOGIN_RATE_LIMIT": _rate(settings.login_rate_limit),
        "LOGIN_ADDRESS_RATE_LIMIT": _rate(settings.login_address_rate_limit),
        # A logged-in session ends after this many minutes without a request, and this many
        # hours after the login whatever happens.
        "SESSION_IDLE_MINUTES": settings.session_idle_minutes,
        "SESSION_MAX_HOURS": settings.session_max_hours,
        # Proxies in front of Datadock whose X-Forwarded-For/-Proto to trust (0: none).
        "TRUSTED_PROXIES": settings.trusted_proxies,
        # Absolute links in emails and notifications (None: taken from the request).
        "BASE_URL": settings.base_url,
        # Mail (invitations, email channels): None means no mail is sent.
        "SMTP_URL": _secret(settings.smtp_url) or None,
        "SMTP_FROM": settings.smtp_from,
        # OpenID Connect single sign-on: on when issuer, client id and secret are all set.
        "OIDC_ISSUER": settings.oidc_issuer,
        "OIDC_CLIENT_ID": settings.oidc_client_id,
        "OIDC_CLIENT_SECRET": _secret(settings.oidc_client_secret) or None,
        "OIDC_PROVIDER_NAME": settings.oidc_provider_name,
        "OIDC_ALLOWED_DOMAINS": [d.lower() for d in split_list(settings.oidc_allowed_domains)],
        "OIDC_DEFAULT_ROLE": None
        if settings.oidc_default_role in (None, "none")
        else settings.oidc_default_role,
        # Bearer token for GET /metrics (None: the endpoint answers 404).
        "METRICS_TOKEN": _secret(settings.metrics_token) or None,
        # Browser origins the Supermetrics face answers with Access-Control-Allow-Origin.
        "CORS_ORIGINS": [o.rstrip("/") for o in split_list(settings.cors_origins)],
    }


def load_config(instance_path: str) -> dict[str, Any]:
    """Build the Flask config dict from the environment."""
    return flask_config(load_settings(), instance_path)


def _store_failure(exc: BaseException, timeout: int) -> str:
    """Why the store refused, in words that hold no secret (the driver's text is not shown)."""
    raw = str(getattr(exc, "orig", exc)).lower()
    for needle, reason in (
        ("refused", "connection refused: is the server running and listening there?"),
        ("timeout", f"no answer within {timeout} s"),
        ("timed out", f"no answer within {timeout} s"),
        ("password authentication failed", "the server refused the user name or password"),
        ("does not exist", "the database (or the user) does not exist on that server"),
        ("resolve host", "the host name does not resolve"),
        ("translate host name", "the host name does not resolve"),
        ("unable to open database file", "the SQLite file cannot be opened or created"),
    ):
        if needle in raw:
            return reason
    return (
        f"{type(getattr(exc, 'orig', exc)).__name__} (DATADOCK_LOG_LEVEL=DEBUG logs the "
        "driver's message)"
    )


def check_store(app: Flask) -> None:
    """Connect to the store once; ConfigError naming DATABASE_URL when it does not answer."""
    from .extensions import db

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        folder = Path(url.database).expanduser().parent if url.database else None
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"DATABASE_URL: the SQLite store's folder {folder} does not exist")
        return
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    try:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.debug("store check failed", exc_info=True)
        raise ConfigError(
            f"DATABASE_URL: cannot reach the store at {where}: "
            f"{_store_failure(exc, STORE_CONNECT_TIMEOUT)}"
        ) from None
