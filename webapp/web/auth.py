"""Pages: first-run setup, login, logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from ..accounts import AccountError, authenticate, create_admin, has_users
from . import bp
from .forms import LoginForm, SetupForm


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
            session.clear()
            login_user(user)
            return redirect(url_for("web.sources"))
    return render_template("setup.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Email and password."""
    if not has_users():
        return redirect(url_for("web.setup"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            session.clear()
            login_user(user)
            return redirect(url_for("web.sources"))
        form.password.errors = ["Incorrect email or password"]
    status = 200 if request.method == "GET" else 422
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session."""
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("web.login"))
