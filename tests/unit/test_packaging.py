"""Packaging: the checkout serves its top-level folders, the build hook's file list, and the lock
files agree with pyproject.toml (every dependency bounded, pinned, inside its bounds)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from flask import Flask
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import webapp
from scripts.build_resources import resource_files

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lock: str) -> dict[str, str]:
    """name -> version of the lock's lines that apply to this interpreter."""
    pins = {}
    for line in (ROOT / lock).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            (spec,) = req.specifier
            assert spec.operator == "==", line
            pins[canonicalize_name(req.name)] = spec.version
    return pins


def _requirements(extras: bool) -> list[Requirement]:
    groups = [PROJECT["dependencies"]]
    if extras:
        groups += PROJECT["optional-dependencies"].values()
    return [
        Requirement(r)
        for group in groups
        for r in group
        if canonicalize_name(Requirement(r).name) != "datadock"
    ]


def test_a_checkout_serves_the_top_level_folders(quick_app: Flask):
    assert webapp.RESOURCES == ROOT and webapp.ROOT == ROOT
    assert Path(quick_app.template_folder) == ROOT / "templates"
    assert Path(quick_app.static_folder) == ROOT / "static"
    assert Path(quick_app.extensions["migrate"].directory) == ROOT / "migrations"


def test_the_build_hook_takes_every_file_but_caches(tmp_path):
    (tmp_path / "t" / "partials" / "__pycache__").mkdir(parents=True)
    for name in ("a.html", "partials/b.html", "partials/__pycache__/x.pyc", "c.html~"):
        (tmp_path / "t" / name).write_text("x")
    assert resource_files(tmp_path, "t") == ["a.html", "partials/b.html"]


def test_every_dependency_has_an_upper_bound_or_a_pin():
    unbounded = [
        str(r)
        for r in _requirements(extras=True)
        if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)
    ]
    assert unbounded == []


def test_the_locks_pin_every_dependency_inside_its_bounds():
    """Fails after a pyproject.toml change that was not locked: run `make lock`."""
    for lock, extras in (("requirements.txt", False), ("requirements-dev.txt", True)):
        pins = _pins(lock)
        for req in _requirements(extras):
            if req.marker is not None and not req.marker.evaluate():
                continue
            name = canonicalize_name(req.name)
            assert name in pins, f"{req.name} is not in {lock}: run `make lock`"
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"{lock} pins {req.name}=={pins[name]}, outside {req.specifier}: run `make lock`"
            )


def test_the_run_lock_is_the_dev_locks_subset_and_duckdb_stays_on_lts():
    run, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert {name: dev.get(name) for name in run} == run
    assert run["duckdb"].startswith("1.4.")
    assert not {"pytest", "ruff", "playwright", "schemathesis"} & set(run)
