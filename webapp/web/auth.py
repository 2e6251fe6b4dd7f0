"""Pages: first-run setup (exactly once), login (throttled), logout, and the checks every
request of a logged-in browser passes: the user's session generation, the absolute lifetime
and the idle timeout."""

from __future__ import annotations

import time
from collections.abc import Callable

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
from flask_login import current_user, login_user, logout_user
from flask_login.config import COOKIE_NAME
from werkzeug.wrappers import Response

from ..accounts import (
    AccountError,
    AlreadySetUp,
    LoginThrottled,
    authenticate,
    end_sessions,
    has_users,
    note_seen,
    set_up,
    throttle_login,
)
from ..audit import client_address
from ..models import User
from . import bp
from .demo_pages import open_demo
from .forms import LoginForm, SetupForm

# The session's last-seen time is rewritten at most this often (seconds).
SEEN_RESOLUTION = 15
ALREADY_SET_UP = "Datadock is already set up. Log in with your account."
ENDED = "Your session has ended. Log in again."
# Seconds since the epoch; tests replace it with a clock they move.
clock: Callable[[], float] = time.time


def _now() -> int:
    return int(clock())


def _start_session(user: User) -> None:
    session.clear()
    login_user(user)
    session["login_at"] = session["seen"] = _now()


def _end_session(message: str) -> Response:
    """Log out this browser and send it to the login page with a message."""
    session.clear()
    logout_user()  # after clear(): it also marks a remember cookie, if any, for deletion
    flash(message)
    target = url_for("web.login")
    if request.headers.get("HX-Request"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


@bp.before_app_request
def check_session() -> Response | None:
    """End a session whose user is gone or whose generation was replaced (logout elsewhere,
    password or role change), that is older than SESSION_MAX_HOURS, or that has been idle
    longer than DATADOCK_SESSION_IDLE_MINUTES."""
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME)
    if request.blueprint != bp.name or (
        "_user_id" not in session and remember not in request.cookies
    ):
        return None
    login_at = session.get("login_at")
    # No login time: not a session this module started (e.g. a remember-me cookie, which
    # Datadock never issues).
    if not current_user.is_authenticated or not isinstance(login_at, int):
        return _end_session(ENDED)
    now = _now()
    max_hours = float(current_app.config.get("SESSION_MAX_HOURS", 12.0))
    if now - login_at > max_hours * 3600:
        return _end_session(
            f"Your session ended {max_hours:g} hours after you logged in. Log in again."
        )
    seen = session.get("seen")
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    if isinstance(seen, int) and now - seen > idle_minutes * 60:
        return _end_session(f"You were logged out after {idle_minutes:g} minutes without activity.")
    if not isinstance(seen, int) or now - seen >= SEEN_RESOLUTION:
        session["seen"] = now
        note_seen(current_user)  # the Members page's "last seen" (a write a minute at most)
    return None


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> str | Response | tuple[str, int]:
    """Create the first organization and its admin; closed once anyone exists."""
    if has_users():
        return _already_set_up()
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = set_up(form.organization.data, form.email.data, form.password.data)
        except AccountError as exc:
            form[exc.field].errors = [str(exc)]
        except AlreadySetUp:  # a simultaneous setup won
            return _already_set_up()
        else:
            _start_session(user)
            if form.demo.data:
                return open_demo()
            return redirect(url_for("web.sources"))
    return render_template("setup.html", form=form), 200 if request.method == "GET" else 422


def _already_set_up() -> Response:
    flash(ALREADY_SET_UP)
    return redirect(url_for("web.login"), 303)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
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
        response = make_response(render_template("login.html", form=form, throttled=throttled), 429)
        response.headers["Retry-After"] = str(throttled.retry_after_seconds)
        return response
    status = 200 if request.method == "GET" else 422
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End every session of this user (in every browser), then this one."""
    if current_user.is_authenticated:
        end_sessions(current_user)
    session.clear()
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("web.login"))
