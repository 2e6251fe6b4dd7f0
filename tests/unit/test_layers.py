"""The import layers hold: pyproject.toml's [tool.importlinter] contracts, checked by the
real `lint-imports` over the real package (docs/ARCHITECTURE.md, "Modules")."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache", "--no-logo"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_layers_run_from_delivery_down_to_core():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    order = [name.strip() for layer in layers for name in layer.replace("|", ":").split(":")]
    for high, low in (
        ("web", "sources"),
        ("api", "sources"),
        ("sources", "jobs"),
        ("jobs", "connect"),
        ("connect", "dialects"),
        ("dialects", "core"),
    ):
        assert order.index(high) < order.index(low), (high, low)
    assert layers[-1] == "core" and "web | api" in layers[1]
