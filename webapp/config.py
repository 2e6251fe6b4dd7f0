"""Configuration from environment variables, with development keys generated into instance/."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from .extensions import json_text

log = logging.getLogger(__name__)


class ConfigError(RuntimeError):
    """Raised at start-up when the configuration cannot give a working app."""


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _cidrs(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    networks = [n.strip() for n in raw.split(",") if n.strip()]
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise ConfigError(f"{name}: {network!r} is not a network (e.g. 10.0.0.0/8)") from exc
    return networks


def _env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate such as "120/minute" as (limit, window seconds)."""
    from .ratelimit import parse_rate

    try:
        return parse_rate(os.environ.get(name) or default)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


def _database_url(instance: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance / 'datadock.sqlite3'}"
    # Heroku-style URLs name the scheme "postgres"; SQLAlchemy wants a driver too.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


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
        env_name, path, env_name,
    )
    return value


def load_config(instance_path: str) -> dict[str, Any]:
    """Build the Flask config dict from the environment."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    production = os.environ.get("DATADOCK_ENV", "development").lower() == "production"

    secret_key = os.environ.get("SECRET_KEY", "").strip()
    keys = os.environ.get("DATADOCK_ENCRYPTION_KEYS", "").strip()
    if production and (not secret_key or not keys):
        raise ConfigError(
            "DATADOCK_ENV=production needs SECRET_KEY and DATADOCK_ENCRYPTION_KEYS to be set"
        )
    if not secret_key:
        secret_key = _dev_secret(
            instance, "secret_key", lambda: secrets.token_urlsafe(48), "SECRET_KEY"
        )
    if not keys:
        keys = _dev_secret(
            instance, "encryption_keys",
            lambda: Fernet.generate_key().decode(), "DATADOCK_ENCRYPTION_KEYS",
        )

    # SQLite and DuckDB sources open files from inside this folder only.
    data_dir = Path(os.environ.get("DATADOCK_DATA_DIR") or instance / "data").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    return {
        "SECRET_KEY": secret_key,
        "DATA_DIR": str(data_dir),
        # Networks Datadock refuses to connect to, on top of link-local/metadata/multicast, and
        # networks it allows even so (comma-separated CIDRs).
        "EGRESS_BLOCK": _cidrs("DATADOCK_EGRESS_BLOCK"),
        "EGRESS_ALLOW": _cidrs("DATADOCK_EGRESS_ALLOW"),
        # Shown in timeout errors so users know what to allow in their firewall.
        "OUTBOUND_ADDRESS": os.environ.get("DATADOCK_OUTBOUND_ADDRESS") or None,
        "DATADOCK_ENCRYPTION_KEYS": [k.strip() for k in keys.split(",") if k.strip()],
        "SQLALCHEMY_DATABASE_URI": _database_url(instance),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "json_serializer": json_text},
        "DATADOCK_PRODUCTION": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        # Seconds one verify may take in all (DNS, TCP, login, first query).
        "VERIFY_TIMEOUT": _env_float("DATADOCK_VERIFY_TIMEOUT", 10.0),
        # Seconds between scheduled schema syncs of one source.
        "SYNC_INTERVAL": _env_float("DATADOCK_SYNC_INTERVAL", 3600.0),
        # Seconds a claimed job may run before another process may take it over.
        "JOB_LEASE_SECONDS": _env_float("DATADOCK_JOB_LEASE_SECONDS", 300.0),
        "SCHEDULER_ENABLED": os.environ.get("DATADOCK_SCHEDULER", "on").lower() != "off",
        "SCHEDULER_TICK_SECONDS": _env_float("DATADOCK_TICK_SECONDS", 5.0),
        "SCHEDULER_WORKERS": int(_env_float("DATADOCK_WORKERS", 4)),
        # Seconds between health checks of one source (0: no health checks in this process).
        "HEALTH_INTERVAL": _env_float("DATADOCK_HEALTH_INTERVAL", 300.0),
        # Health checks run at once per process: they mostly wait on the network, so many.
        "HEALTH_WORKERS": int(_env_float("DATADOCK_HEALTH_WORKERS", 128)),
        # Days of health history kept (older checks are pruned hourly).
        "HEALTH_RETENTION_DAYS": _env_float("DATADOCK_HEALTH_RETENTION_DAYS", 30.0),
        # Requests one API key (or, without a valid key, one address) may make per window.
        "API_RATE_LIMIT": _env_rate("DATADOCK_API_RATE_LIMIT", "120/minute"),
        # Login attempts per account and per address (every attempt counts, right or wrong).
        "LOGIN_RATE_LIMIT": _env_rate("DATADOCK_LOGIN_RATE_LIMIT", "10/15 minutes"),
        "LOGIN_ADDRESS_RATE_LIMIT": _env_rate("DATADOCK_LOGIN_ADDRESS_RATE_LIMIT",
                                              "50/15 minutes"),
        # A logged-in session ends after this many minutes without a request.
        "SESSION_IDLE_MINUTES": _env_float("DATADOCK_SESSION_IDLE_MINUTES", 60.0),
        # Proxies in front of Datadock whose X-Forwarded-For/-Proto to trust (0: none).
        "TRUSTED_PROXIES": int(_env_float("DATADOCK_TRUSTED_PROXIES", 0)),
    }
