"""`flask --app webapp datadock provision sources.yml`: create or update sources from YAML.

    organization: Acme            # name or id; optional when the store has one organization
    sources:
      - displayName: Warehouse    # the key: a source of that name is updated, else created
        dialect: POSTGRES
        host: db.internal
        port: 5432
        databaseName: app
        username: datadock
        password: ${WAREHOUSE_PASSWORD}   # from the environment; $${X} is a literal ${X}

Values go through the same use-cases as the pages and the API (validation, verify, encryption,
audit). Running the same file twice changes nothing the second time ("unchanged": no verify, no
write). Fields left out of an entry keep their stored values. Secret values are never printed:
a missing variable is named, and YAML syntax errors show a line, not its text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml
from flask.cli import with_appcontext
from sqlalchemy import func, select

from . import sources as uc
from .dialects import get_dialect
from .extensions import db
from .models import Organization, Source
from .names import NOT_TEXT, name_key
from .records import connection_values, public_values
from .safe_parse import InputRefused, describe_path, invalid_text, load_yaml
from .source_fields import source_field_values
from .source_inputs import CONNECTION_TYPES, split_for_dialect

_VARIABLE = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ProvisionError(click.ClickException):
    """The file cannot be applied; nothing was changed."""


@dataclass
class Outcome:
    """What happened to one entry: created, updated, unchanged or failed (with why)."""

    name: str
    action: str
    reason: str = ""


def substitute(value: Any, env: Mapping[str, str], where: str, missing: list[str]) -> Any:
    """Replace ${NAME} in every string of `value` from `env`; note missing names in `missing`."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            if match.group(1):
                return "${" + match.group(2) + "}"
            if match.group(2) not in env:
                missing.append(f"{where}: environment variable {match.group(2)} is not set")
                return ""
            return env[match.group(2)]

        return _VARIABLE.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, env, f"{where}.{k}", missing) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env, f"{where}[{i}]", missing) for i, v in enumerate(value)]
    return value


def load(path: Path, env: Mapping[str, str]) -> tuple[str | None, list[dict[str, Any]]]:
    """Read and check the file; returns its organization (if named) and its entries."""
    try:
        document = load_yaml(_read_text(path))
    except OSError as exc:
        raise ProvisionError(f"{path}: cannot read it ({exc.strerror})") from None
    except InputRefused as exc:
        raise ProvisionError(f"{path}: {exc}") from None
    except yaml.reader.ReaderError as exc:
        raise ProvisionError(
            f"{path}: character #x{exc.character:04x} is not allowed in "
            f"YAML (position {exc.position})"
        ) from None
    except yaml.YAMLError as exc:
        # The problem and its place only: the offending line may hold a secret.
        mark = getattr(exc, "problem_mark", None)
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ProvisionError(f"{path}: {problem}{place}") from None
    for where, _ in invalid_text(document):
        raise ProvisionError(
            f"{path}: {describe_path(where)} {NOT_TEXT} (a \\u escape of a lone surrogate?)"
        )
    if not isinstance(document, dict) or not isinstance(document.get("sources"), list):
        raise ProvisionError(f"{path}: expected a mapping with a `sources:` list")
    unknown = sorted(set(document) - {"organization", "sources"})
    if unknown:
        raise ProvisionError(f"{path}: unknown top-level key(s): {', '.join(unknown)}")
    missing: list[str] = []
    entries = substitute(document["sources"], env, "sources", missing)
    if missing:
        raise ProvisionError("Nothing was changed:\n  " + "\n  ".join(missing))
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("displayName"):
            raise ProvisionError(f"{path}: sources[{index}] needs a displayName")
    # Names that differ only by case, width or Unicode form are the same name (webapp/names.py).
    keys = [name_key(str(e["displayName"])) for e in entries]
    twice = sorted(
        {
            str(e["displayName"]).strip()
            for e, key in zip(entries, keys, strict=True)
            if keys.count(key) > 1
        }
    )
    if twice:
        raise ProvisionError(f"{path}: displayName used twice: {', '.join(twice)}")
    org = document.get("organization")
    return (str(org) if org is not None else None), entries


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; a byte that is not UTF-8 is reported by line and column."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ProvisionError(
            f"{path}: not UTF-8 text (line {line}, byte {column} of the line)"
        ) from None


def find_organization(ref: str | None) -> Organization:
    """The organization named (or numbered) `ref`, or the only one there is."""
    if ref is None:
        orgs = list(db.session.scalars(select(Organization).limit(2)))
        if len(orgs) != 1:
            raise ProvisionError(
                "Name the organization: --org NAME, or `organization:` in "
                "the file (the store has " + ("none" if not orgs else "several") + ")"
            )
        return orgs[0]
    org = db.session.scalar(
        select(Organization).where(func.lower(Organization.name) == ref.strip().lower())
    )
    if org is None and ref.isdigit():
        org = db.session.get(Organization, int(ref))
    if org is None:
        raise ProvisionError(f"No organization named {ref!r}")
    return org


def _input(entry: dict[str, Any], existing: Source | None) -> dict[str, Any]:
    kind = entry.get("type")
    dialect = get_dialect(entry.get("dialect") or (existing.dialect if existing else None))
    kept, errors = split_for_dialect(entry, dialect)
    if kind is not None and kind not in CONNECTION_TYPES:
        errors["type"] = 'Must be "direct"'
    if errors:
        raise uc.ValidationFailed("Some fields need attention.", errors)
    return kept


def _unchanged(source: Source, raw: dict[str, Any]) -> bool:
    """Whether applying `raw` would store exactly what the source holds now."""
    merged = {
        "dialect": source.dialect,
        **source_field_values(source),
        **public_values(source),
        **raw,
    }
    data = uc.clean_input(merged, existing=source)
    if data.dialect.key != source.dialect or data.common != source_field_values(source):
        return False
    stored = {k: v for k, v in connection_values(source).items() if v is not None}
    wanted = {k: v for k, v in data.values.items() if v is not None}
    return stored == wanted


def _reason(exc: uc.Refusal) -> str:
    fields = "; ".join(f"{k}: {v}" for k, v in sorted(exc.field_errors.items()))
    return f"{exc.title}: {exc.detail}" + (f" ({fields})" if fields else "")


def apply(org: Organization, entries: list[dict[str, Any]], dry_run: bool = False) -> list[Outcome]:
    """Create or update each entry; one failing entry does not stop the others."""
    outcomes = []
    for entry in entries:
        name = str(entry["displayName"]).strip()
        existing = uc.get_source_by_name(org, name)
        try:
            raw = _input(entry, existing)
            if existing is not None and _unchanged(existing, raw):
                outcomes.append(Outcome(name, "unchanged"))
            elif dry_run:
                if existing is None:
                    uc.clean_input(raw)
                outcomes.append(
                    Outcome(name, "would create" if existing is None else "would update")
                )
            elif existing is None:
                uc.create_source(org, raw)
                outcomes.append(Outcome(name, "created"))
            else:
                uc.update_source(existing, raw)
                outcomes.append(Outcome(name, "updated"))
        except uc.Refusal as exc:  # the command rolled itself back; the next entry goes on
            outcomes.append(Outcome(name, "failed", _reason(exc)))
    return outcomes


@click.command("provision")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--org", "org_ref", help="Organization name or id (else the file's, else the only one)."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check the file and the fields; connect to nothing, change nothing.",
)
@with_appcontext
def provision_command(path: Path, org_ref: str | None, dry_run: bool) -> None:
    """Create or update data sources from a YAML file (${ENV_VAR} values from the
    environment). Safe to run again: unchanged sources are left alone."""
    file_org, entries = load(path, os.environ)
    org = find_organization(org_ref or file_org)
    outcomes = apply(org, entries, dry_run)
    for outcome in outcomes:
        line = f"{outcome.action:<12} {outcome.name}"
        click.echo(line + (f": {outcome.reason}" if outcome.reason else ""))
    failed = sum(o.action == "failed" for o in outcomes)
    if failed:
        raise click.ClickException(f"{failed} of {len(outcomes)} data sources failed")
