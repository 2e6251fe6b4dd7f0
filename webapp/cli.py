"""`flask --app webapp datadock …` commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .accounts import AccountError, create_admin

datadock = AppGroup("datadock", help="Datadock administration.")


@datadock.command("create-admin")
@click.option("--org", "org_name", required=True, help="Organization name (created if new).")
@click.option("--email", required=True, help="The admin's email.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="DATADOCK_ADMIN_PASSWORD", help="At least 12 characters (or prompt).")
def create_admin_command(org_name: str, email: str, password: str) -> None:
    """Create an organization's admin account."""
    try:
        user = create_admin(org_name, email, password)
    except AccountError as exc:
        raise click.UsageError(f"{exc.field}: {exc}") from None
    click.echo(f"Created admin {user.email} in organization {org_name!r}.")


@datadock.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt every saved secret with the newest key of DATADOCK_ENCRYPTION_KEYS.

    One transaction; safe to re-run (secrets already on the newest key are left alone).
    Prints counts only.
    """
    from .encryption_keys import rotate_all, unreadable_sources

    vault = current_app.extensions["datadock_vault"]
    bad, checked = unreadable_sources(vault)
    if bad:
        raise click.ClickException(
            f"{len(bad)} of {checked} data sources have secrets that no key in "
            "DATADOCK_ENCRYPTION_KEYS decrypts; nothing was changed. Add the key they were "
            "encrypted with (after the newest one) and run this again.")
    result = rotate_all(vault)
    click.echo(f"Re-encrypted the secrets of {result.rotated} data sources with the newest key; "
               f"{result.current} were already on it ({result.total} in all).")


def register(app: Flask) -> None:
    """Attach the command group to the app."""
    from .provision import provision_command

    datadock.add_command(provision_command)
    app.cli.add_command(datadock)
