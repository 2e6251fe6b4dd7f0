"""Pages: first-run setup, login (throttled), logout, and the idle-session timeout."""

from __future__ import annotations

import time

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from ..accounts import (
    AccountError,
    LoginThrottled,
    authenticate,
    create_admin,
    has_users,
    throttle_login,
)
from ..audit import client_address
from ..models import User
from . import bp
from .demo_pages import open_demo
from .forms import LoginForm, SetupForm

# The session's last-seen time is rewritten at most this often (seconds).
SEEN_RESOLUTION = 15


def _start_session(user: User) -> None:
    session.clear()
    login_user(user)
    session["seen"] = int(time.time())


@bp.before_app_request
def end_idle_session() -> Response | None:
    """Log out a session that has been idle longer than DATADOCK_SESSION_IDLE_MINUTES."""
    if request.endpoint == "static" or "_user_id" not in session:
        return None
    now = int(time.time())
    seen = session.get("seen")
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    if isinstance(seen, int) and now - seen > idle_minutes * 60:
        logout_user()
        session.clear()
        flash(f"You were logged out after {idle_minutes:g} minutes without activity.")
        target = url_for("web.login")
        if request.headers.get("HX-Request"):
            response = make_response("", 200)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    if not isinstance(seen, int) or now - seen >= SEEN_RESOLUTION:
        session["seen"] = now
    return None


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> str | Response:
    """Create the first organization and its admin; closed once anyone exists."""
    if has_users():
        return redirect(url_for("web.login"))
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = create_admin(form.organization.data, form.email.data, form.password.data)
        except AccountError as exc:
            form[exc.field].errors = [str(exc)]
        else:
            _start_session(user)
            if form.demo.data:
                return open_demo()
            return redirect(url_for("web.sources"))
    return render_template("setup.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Email and password."""
    if not has_users():
        return redirect(url_for("web.setup"))
    form = LoginForm()
    throttled = None
    if form.validate_on_submit():
        try:
            throttle_login(form.email.data, client_address())
        except LoginThrottled as exc:
            throttled = exc
        else:
            user = authenticate(form.email.data, form.password.data)
            if user is not None:
                _start_session(user)
                return redirect(url_for("web.sources"))
            form.password.errors = ["Incorrect email or password"]
    if throttled is not None:
        response = make_response(render_template("login.html", form=form, throttled=throttled),
                                 429)
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    status = 200 if request.method == "GET" else 422
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session."""
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("web.login"))
