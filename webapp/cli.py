"""`flask --app webapp datadock …` commands."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .accounts import AccountError, create_admin

datadock = AppGroup("datadock", help="Datadock administration.")


@datadock.command("create-admin")
@click.option("--org", "org_name", required=True, help="Organization name (created if new).")
@click.option("--email", required=True, help="The admin's email.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="DATADOCK_ADMIN_PASSWORD",
    help="At least 12 characters (or prompt).",
)
def create_admin_command(org_name: str, email: str, password: str) -> None:
    """Create an organization's admin account."""
    try:
        user = create_admin(org_name, email, password)
    except AccountError as exc:
        raise click.UsageError(f"{exc.field}: {exc}") from None
    click.echo(f"Created admin {user.email} in organization {org_name!r}.")


@datadock.command("invite")
@click.option("--org", "org_name", required=True, help="Organization name.")
@click.option("--email", required=True, help="The person's email.")
@click.option(
    "--role",
    type=click.Choice(["admin", "editor", "viewer"]),
    default="viewer",
    show_default=True,
    help="Their role.",
)
def invite_command(org_name: str, email: str, role: str) -> None:
    """Print a single-use invitation link (valid 7 days; mailed too when SMTP is set)."""
    from sqlalchemy import select

    from .core.refusal import Refusal
    from .extensions import db
    from .members import invitations
    from .models import Organization

    org = db.session.scalar(select(Organization).where(Organization.name == org_name.strip()))
    if org is None:
        raise click.UsageError(f"org: no organization named {org_name!r}")
    base = current_app.config.get("BASE_URL") or "http://localhost:5000"
    try:
        new = invitations.create(org, email, role, base)
    except Refusal as exc:
        raise click.UsageError(
            "; ".join(f"{k}: {v}" for k, v in exc.field_errors.items()) or exc.detail
        ) from None
    click.echo(
        f"Invited {new.invitation.email} to {org.name} as {new.invitation.role} "
        f"(expires {new.invitation.expires_at:%Y-%m-%d %H:%M} UTC"
        f"{', emailed' if new.mailed else ''}):"
    )
    click.echo(new.url)
    if not current_app.config.get("BASE_URL"):
        click.echo("(Set DATADOCK_BASE_URL so links name this server's public address.)", err=True)


@datadock.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt every saved secret with the newest key of DATADOCK_ENCRYPTION_KEYS.

    One transaction; safe to re-run (secrets already on the newest key are left alone).
    Prints counts only.
    """
    from .encryption_keys import rotate_all, unreadable_channels, unreadable_sources

    vault = current_app.extensions["datadock_vault"]
    bad, checked = unreadable_sources(vault)
    if bad:
        raise click.ClickException(
            f"{len(bad)} of {checked} data sources have secrets that no key in "
            "DATADOCK_ENCRYPTION_KEYS decrypts; nothing was changed. Add the key they were "
            "encrypted with (after the newest one) and run this again."
        )
    if unreadable_channels(vault):
        raise click.ClickException(
            "Some notification channels have secrets that no key in DATADOCK_ENCRYPTION_KEYS "
            "decrypts; nothing was changed. Add their key back, or delete those channels."
        )
    result = rotate_all(vault)
    click.echo(
        f"Re-encrypted the secrets of {result.rotated} data sources with the newest key; "
        f"{result.current} were already on it ({result.total} in all)."
    )


def start_failure(exc: BaseException) -> str:
    """The one line a process that refuses to start prints."""
    return f"Datadock cannot start: {exc}"


def refuse_to_start(exc: BaseException) -> None:
    """Stop an entry point on a configuration error with one line, no traceback: inside a
    `flask` command (run, db upgrade, …) as a click error (exit 1); under gunicorn with its
    "App failed to load" code, which halts the master instead of respawning the worker (exit
    4). Elsewhere it returns and the caller raises (`python -m webapp.jobs.worker` prints the
    line itself and exits 2)."""
    if click.get_current_context(silent=True) is not None:
        raise click.ClickException(start_failure(exc)) from None
    if "gunicorn.arbiter" in sys.modules:
        from gunicorn.arbiter import Arbiter

        print(start_failure(exc), file=sys.stderr, flush=True)
        raise SystemExit(Arbiter.APP_LOAD_ERROR)


def register(app: Flask) -> None:
    """Attach the command group to the app."""
    from .provision import provision_command

    datadock.add_command(provision_command)
    app.cli.add_command(datadock)
