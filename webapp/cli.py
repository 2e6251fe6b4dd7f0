"""`flask --app webapp datadock …` commands."""

from __future__ import annotations

import click
from flask import Flask
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


def register(app: Flask) -> None:
    """Attach the command group to the app."""
    app.cli.add_command(datadock)
