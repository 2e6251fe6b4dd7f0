"""Pages: single sign-on through OpenID Connect. POST /login/sso (CSRF-checked) sends the
browser to the provider; /login/sso/callback signs in whom the provider vouched for, or shows
the login page with the reason it was refused (never a 500)."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ..audit import client_address
from ..oidc import OidcFailed, begin, configured, finish, provider_name, provider_origins
from ..sso import SignInRefused, record_failure, sign_in, throttle
from . import bp
from .auth import _start_session
from .forms import LoginForm


def sso_context() -> dict[str, Any]:
    """`sso_provider` for templates: the button's provider name, or None when SSO is off."""
    return {"sso_provider": provider_name() if configured() else None}


@bp.after_app_request
def allow_provider_in_form_action(response: Response) -> Response:
    """The SSO button is a form whose answer redirects to the provider, and browsers apply
    CSP form-action to redirects: name the provider's origins next to 'self'."""
    policy = response.headers.get("Content-Security-Policy", "")
    if "form-action 'self'" in policy and configured():
        origins = " ".join(provider_origins())
        response.headers["Content-Security-Policy"] = policy.replace(
            "form-action 'self'", f"form-action 'self' {origins}", 1
        )
    return response


def _redirect_uri() -> str:
    base = current_app.config.get("BASE_URL")
    path = url_for("web.sso_callback")
    return base.rstrip("/") + path if base else url_for("web.sso_callback", _external=True)


def _refused(message: str, status: int = 403) -> tuple[str, int]:
    return render_template("login.html", form=LoginForm(formdata=None), sso_error=message), status


@bp.route("/login/sso", methods=["POST"])
def sso_start() -> Response | tuple[str, int]:
    """Send the browser to the provider (state, nonce and PKCE kept for the callback)."""
    if not configured():
        abort(404)
    try:
        throttle(client_address())
        return begin(_redirect_uri())
    except (OidcFailed, SignInRefused) as exc:
        record_failure(exc.reason)
        return _refused(str(exc), getattr(exc, "status", 403))


@bp.route("/login/sso/callback")
def sso_callback() -> Response | tuple[str, int]:
    """Where the provider sends the browser back: verify, then sign in or refuse."""
    if not configured():
        abort(404)
    claims = None
    try:
        throttle(client_address())
        verified = finish()
        claims = verified.claims
        user = sign_in(verified)
    except (OidcFailed, SignInRefused) as exc:
        record_failure(exc.reason, claims)
        return _refused(str(exc), getattr(exc, "status", 403))
    _start_session(user)
    return redirect(url_for("web.sources"), 303)
