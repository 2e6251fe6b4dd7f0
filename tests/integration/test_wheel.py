"""The wheel is the product: built from a copy of the tree, installed into a fresh venv with the
run lock's exact pins, it migrates a store and serves pages by the Procfile's own commands, from
a working directory that is not the checkout (so templates, static files and migrations can only
come from the wheel).

Offline: the wheel is built with the test venv's setuptools (no build isolation) and the venv is
filled from the wheelhouse that `make test`'s install step makes from requirements.txt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
BUILD_INPUTS = (
    "pyproject.toml",
    "README.md",
    "webapp",
    "templates",
    "static",
    "migrations",
    "scripts",
)
RESOURCES = ("templates", "static", "migrations")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def _repo_files(folder: str) -> set[str]:
    return {
        str(p.relative_to(ROOT / folder))
        for p in (ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """dist/datadock-*.whl, built from a clean copy of the tree (no build/ or egg-info reused)."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    started = time.monotonic()
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(base / "dist"),
            str(src),
        ]
    )
    print(f"\nwheel built in {time.monotonic() - started:.1f} s")
    (found,) = (base / "dist").glob("datadock-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv (no system site-packages) with the run lock's pins and the wheel, no more."""
    if not WHEELHOUSE.is_dir():
        pytest.fail(f"{WHEELHOUSE} is missing: `make test` (or `make .venv/.installed`) makes it")
    path = tmp_path_factory.mktemp("venv") / "venv"
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", "--without-pip", str(path)])
    python = str(path / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python]
    _run(
        [
            *pip,
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(WHEELHOUSE),
            "--no-deps",
            "-r",
            str(ROOT / "requirements.txt"),
            str(wheel),
        ]
    )
    print(f"fresh venv filled from the run lock in {time.monotonic() - started:.1f} s")
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, (
        f"requirements.txt does not satisfy the package (run `make lock`):\n{check.stdout}"
    )
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def env(venv) -> dict[str, str]:
    """The venv first on PATH, as a buildpack sets it; nothing that points at the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATADOCK_", "FLASK_", "PYTHON", "VIRTUAL_ENV"))
        and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


@pytest.fixture(scope="module")
def served(venv, workdir, env) -> Iterator[str]:
    """Procfile's release (migrate), an admin, then its web command on a loopback port."""
    procfile = _procfile()
    _run(["bash", "-c", procfile["release"]], cwd=workdir, env=env)
    _run(
        [
            "flask",
            "--app",
            "webapp",
            "datadock",
            "create-admin",
            "--org",
            "Acme",
            "--email",
            "admin@example.com",
        ],
        cwd=workdir,
        env={**env, "DATADOCK_ADMIN_PASSWORD": "correct horse battery"},
    )
    port = free_port()
    web = procfile["web"].replace("0.0.0.0", "127.0.0.1")  # loopback only
    log = (workdir / "web.log").open("w")
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {web}"],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**env, "PORT": str(port), "WEB_CONCURRENCY": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    while True:
        try:
            urllib.request.urlopen(url + "/login", timeout=2)  # noqa: S310 - loopback
            break
        except (OSError, urllib.error.HTTPError):
            if time.monotonic() - started > 60 or proc.poll() is not None:
                proc.kill()
                raise RuntimeError((workdir / "web.log").read_text()[-3000:]) from None
            time.sleep(0.1)
    print(f"gunicorn answered after {time.monotonic() - started:.1f} s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_wheel_carries_templates_static_and_migrations_under_the_package(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    for folder in RESOURCES:
        inside = {
            n.removeprefix(f"webapp/_resources/{folder}/")
            for n in names
            if n.startswith(f"webapp/_resources/{folder}/")
        }
        assert inside == _repo_files(folder), folder
    assert {n.split("/")[0] for n in names} == {
        "webapp",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert not any("__pycache__" in n for n in names)
    text = metadata.decode()
    assert "Provides-Extra: snowflake" in text
    assert "snowflake-connector-python" in text and 'extra == "snowflake"' in text


def test_the_installed_package_is_the_wheel_not_the_checkout(venv, workdir, env):
    out = _run(
        ["python", "-c", "import webapp; print(webapp.__file__); print(webapp.RESOURCES)"],
        cwd=workdir,
        env=env,
    ).stdout.split()
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert Path(out[0]).is_relative_to(site), out
    assert Path(out[1]) == Path(out[0]).parent / "_resources"


def test_release_migrates_and_web_serves_login_and_static_files(served, workdir, env):
    # Migrations came from the wheel: the store in ./instance is at the head revision.
    assert (workdir / "instance" / "datadock.sqlite3").is_file()
    current = _run(["flask", "--app", "webapp", "db", "current"], cwd=workdir, env=env)
    assert "(head)" in current.stdout
    with urllib.request.urlopen(served + "/login", timeout=5) as response:  # noqa: S310
        assert response.status == 200
        page = response.read().decode()
    assert 'name="password"' in page and 'name="csrf_token"' in page
    (htmx,) = (ROOT / "static" / "vendor").glob("htmx-*.min.js")
    assert f"/static/vendor/{htmx.name}" in page
    for rel in (f"vendor/{htmx.name}", "app.css"):
        with urllib.request.urlopen(f"{served}/static/{rel}", timeout=5) as response:  # noqa: S310
            assert response.status == 200
            assert response.read() == (ROOT / "static" / rel).read_bytes()
