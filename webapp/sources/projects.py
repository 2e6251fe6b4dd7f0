"""Projects: a grouping of sources inside an organization (Credible Data's projects).

A project is created on first use; its name is `^[a-zA-Z0-9_-]+$`, compared exactly. Sources
keep their organization-wide unique display name; a project only groups them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.refusal import ValidationFailed
from ..extensions import db
from ..models import Organization, Project, Source
from .commands import create_source

NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_NAME = 120


def name_problem(name: object, what: str = "Project name") -> str | None:
    """Why `name` is not a project (or connection) name, or None."""
    if not isinstance(name, str) or not NAME.match(name):
        return f"{what} must match ^[a-zA-Z0-9_-]+$ (letters, digits, _ and -)"
    if len(name) > MAX_NAME:
        return f"{what} may have at most {MAX_NAME} characters"
    return None


def get_project(org: Organization, name: str) -> Project | None:
    """The organization's project named exactly `name`, or None."""
    return db.session.scalar(
        select(Project).where(Project.organization_id == org.id, Project.name == name)
    )


def ensure_project(org: Organization, name: str) -> Project:
    """The project named `name`, created (committed) on first use; ValidationFailed for a bad
    name. Two requests creating it at once both get the one row."""
    problem = name_problem(name)
    if problem:
        raise ValidationFailed(problem, {"projectName": problem})
    project = get_project(org, name)
    if project is not None:
        return project
    project = Project(organization_id=org.id, name=name)
    db.session.add(project)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        found = get_project(org, name)
        assert found is not None
        return found
    return project


def list_projects(org: Organization) -> list[Project]:
    """The organization's projects by name."""
    return list(
        db.session.scalars(
            select(Project).where(Project.organization_id == org.id).order_by(Project.name)
        )
    )


def project_names(org: Organization) -> dict[int, str]:
    """Project id → name, for pages that show a source's project."""
    return {p.id: p.name for p in list_projects(org)}


def project_of(source: Source) -> Project | None:
    """The project the source belongs to, if any."""
    return db.session.get(Project, source.project_id) if source.project_id else None


def project_source(project: Project, name: str) -> Source | None:
    """The source named exactly `name` in `project`, or None."""
    return db.session.scalar(
        select(Source).where(Source.project_id == project.id, Source.display_name == name)
    )


def create_project_source(org: Organization, project_name: str, raw: Mapping[str, Any]) -> Source:
    """Create a source (the same create as every face: validate, verify, store, first sync)
    inside the project, which is created on first use."""
    existed = get_project(org, project_name) is not None
    project = ensure_project(org, project_name)
    try:
        return create_source(org, raw, project_id=project.id)
    except BaseException:
        if not existed:
            _drop_if_empty(project)
        raise


def _drop_if_empty(project: Project) -> None:
    """Remove a project this request created when its first source was refused."""
    db.session.rollback()
    db.session.execute(
        Project.__table__.delete().where(
            Project.id == project.id,
            ~select(Source.id).where(Source.project_id == project.id).exists(),
        )
    )
    db.session.commit()
