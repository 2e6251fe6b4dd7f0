"""Datadock: connect databases, verify them field by field, keep their schema in sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Flask, redirect, request, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from . import cli, logs, request_ids
from .config import ConfigError, check_store, flask_config
from .extensions import csrf, db, login_manager, migrate
from .settings import load_settings
from .vault import Vault, VaultError

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_resources"
_FROM_WHEEL = _BUNDLED.is_dir()
# templates/, static/, migrations/: inside the package when installed from a wheel (the build
# maps them in: scripts/build_resources.py), else at the checkout's top level.
RESOURCES = _BUNDLED if _FROM_WHEEL else _PACKAGE.parent
# The checkout; for an installed wheel, the working directory (the default instance/ goes there).
ROOT = Path.cwd() if _FROM_WHEEL else _PACKAGE.parent

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Sent in production only (DATADOCK_ENV=production): browsers then refuse plain HTTP for a year.
HSTS = "max-age=31536000; includeSubDomains"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app (`overrides`: Flask config keys, applied over the settings). A bad
    configuration stops `flask` commands, gunicorn and the worker with one line that names the
    variable (cli.refuse_to_start); anywhere else ConfigError is raised."""
    try:
        return _create_app(overrides)
    except (ConfigError, VaultError) as exc:
        cli.refuse_to_start(exc)
        raise


def _create_app(overrides: dict[str, Any] | None) -> Flask:
    """Config, extensions, pages, commands, and the in-process scheduler."""
    settings = load_settings()  # the environment, read once
    instance = str(settings.instance_path or ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=instance,
        template_folder=str(RESOURCES / "templates"),
        static_folder=str(RESOURCES / "static"),
    )
    logs.configure(settings.log_level, settings.log_kind)
    app.config.update(flask_config(settings, app.instance_path))
    app.extensions["datadock_settings"] = settings
    app.config.update(overrides or {})
    if app.config.get("TRUSTED_PROXIES"):
        # Behind N proxies, the client's address and scheme are what the proxies forwarded.
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["datadock_vault"] = Vault(app.config["DATADOCK_ENCRYPTION_KEYS"])

    db.init_app(app)
    check_store(app)  # an unreachable store stops the start with one line
    migrate.init_app(app, db, directory=str(RESOURCES / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.session_protection = "strong"

    from . import api, models, web

    @login_manager.user_loader
    def load_user(session_id: str) -> models.User | None:
        from .accounts import user_for_session  # refuses an ended session generation

        return user_for_session(session_id)

    request_ids.init_app(app)
    app.register_blueprint(web.bp)
    # The JSON API authenticates with bearer keys only, never cookies: no CSRF to check.
    csrf.exempt(api.bp)
    app.register_blueprint(api.bp)
    from .api import supermetrics  # the Supermetrics face under /v1 (bearer keys too)

    csrf.exempt(supermetrics.bp)
    app.register_blueprint(supermetrics.bp)
    from .api import credible, databrain  # DataBrain (/api/v2), Credible Data (/api/v0)

    for face in (databrain.bp, credible.bp):
        csrf.exempt(face)
        app.register_blueprint(face)
    from . import metrics  # GET /metrics (off without DATADOCK_METRICS_TOKEN)

    app.register_blueprint(metrics.bp)
    cli.register(app)

    @app.before_request
    def first_run_setup() -> Response | None:
        """Until the first admin exists, every page leads to setup."""
        if request.endpoint in ("web.setup", "static", "metrics.metrics") or app.config.get(
            "SETUP_DONE"
        ):
            return None
        if request.path.startswith((api.PREFIX + "/", "/v1/", "/api/v0/", "/api/v2/")):
            return None  # the API answers JSON (401 without a key), never a redirect
        from .accounts import has_users

        if has_users():
            app.config["SETUP_DONE"] = True
            return None
        return redirect(url_for("web.setup"))

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config.get("DATADOCK_PRODUCTION"):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    if _serving():
        # Keys that cannot read the stored secrets stop the start, not the first sync.
        from .encryption_keys import check_stored_secrets

        with app.app_context():
            check_stored_secrets(app.extensions["datadock_vault"])

    if app.config["SCHEDULER_ENABLED"] and _serving():
        from .jobs import scheduler

        scheduler.start(app)
    return app


def _serving() -> bool:
    """False inside a `flask` command other than `run` (e.g. `db upgrade`): no scheduler."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"
