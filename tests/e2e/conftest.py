"""Browser tests: Debian's Chromium through Playwright, against `flask run` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures_app import copy_store
from tests.polling import wait_until
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, with no traffic to Google's services."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def live_server_env() -> dict[str, str]:
    """More environment for the live server (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def live_server(tmp_path, live_server_env, migrated_store) -> Iterator[str]:
    """The app served by `flask run` on a free loopback port, on a fresh SQLite store (a copy
    of the session's store migrated by the real migrations, tests/fixtures_app.py)."""
    port = free_port()
    env = {
        **os.environ,
        "DATADOCK_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATADOCK_VERIFY_TIMEOUT": "5",
        "DATADOCK_TICK_SECONDS": "1",
        **live_server_env,
    }
    env.pop("DATABASE_URL", None)
    flask = [sys.executable, "-m", "flask", "--app", "webapp"]
    copy_store(migrated_store, tmp_path / "instance")
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [*flask, "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if proc.poll() is not None:
            raise RuntimeError((tmp_path / "server.log").read_text()[-2000:])
        urllib.request.urlopen(url + "/setup", timeout=5)  # noqa: S310 - loopback
        return True

    try:  # a safety deadline: a loaded machine only takes longer to import the app
        wait_until(answering, 120, 0.1, what="flask run to answer", ignore=(OSError,))
    except AssertionError:
        proc.kill()
        raise AssertionError((tmp_path / "server.log").read_text()[-2000:]) from None
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
