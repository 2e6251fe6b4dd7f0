"""The file policy: only regular files inside the data folder, whatever the path says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from webapp.config import load_config
from webapp.connect.errors import ConnectionFailed
from webapp.connect.files import NOT_FOUND, OUTSIDE, resolve_data_file
from webapp.dialects import FieldInvalid, get_dialect


@pytest.fixture
def folder(tmp_path) -> Path:
    data = tmp_path / "data"
    (data / "sales").mkdir(parents=True)
    (data / "sales" / "orders.db").write_bytes(b"x")
    (tmp_path / "secret.db").write_bytes(b"x")
    return data


def refused(relative: str, folder: Path) -> ConnectionFailed:
    with pytest.raises(ConnectionFailed) as caught:
        resolve_data_file(relative, folder)
    assert caught.value.step == "file"
    return caught.value


def test_a_relative_path_resolves_to_the_real_file(folder):
    assert resolve_data_file("sales/orders.db", folder) == (folder / "sales/orders.db").resolve()
    assert resolve_data_file("./sales//orders.db", folder) == (folder / "sales/orders.db").resolve()


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "//etc/passwd",
        "../secret.db",
        "sales/../../secret.db",
        "sales/..",
        "~/secret.db",
        "..\\secret.db",
        " /etc/passwd",
    ],
)
def test_absolute_and_climbing_paths_are_refused(folder, path):
    assert refused(path, folder).field_errors == {"databaseName": OUTSIDE}


def test_symlinks_may_not_lead_outside(folder, tmp_path):
    (folder / "file-link.db").symlink_to(tmp_path / "secret.db")
    (folder / "dir-link").symlink_to(tmp_path)
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "relative-link.db").symlink_to("../secret.db")
    for path in ("file-link.db", "dir-link/secret.db", "passwd", "relative-link.db"):
        error = refused(path, folder)
        assert error.field_errors == {"databaseName": OUTSIDE}, path
        assert str(tmp_path) not in error.detail


def test_symlinks_inside_the_folder_are_followed(folder):
    (folder / "latest.db").symlink_to(folder / "sales" / "orders.db")
    (folder / "shortcut").symlink_to("sales")
    assert resolve_data_file("latest.db", folder) == (folder / "sales/orders.db").resolve()
    assert resolve_data_file("shortcut/orders.db", folder).name == "orders.db"


def test_missing_folder_and_special_files(folder):
    assert refused("sales/missing.db", folder).field_errors == {"databaseName": NOT_FOUND}
    assert refused("sales", folder).field_errors == {"databaseName": "This is a folder, not a file"}
    assert refused(".", folder).field_errors == {"databaseName": "This is a folder, not a file"}
    os.mkfifo(folder / "pipe")
    assert refused("pipe", folder).field_errors == {"databaseName": "Not a regular file"}
    (folder / "dangling.db").symlink_to(folder / "gone.db")
    assert refused("dangling.db", folder).field_errors == {"databaseName": NOT_FOUND}


def test_the_policy_needs_a_configured_existing_folder(app, tmp_path):
    with app.app_context():
        app.config["DATA_DIR"] = str(tmp_path / "nowhere")
        with pytest.raises(ConnectionFailed) as caught:
            resolve_data_file("x.db")
        assert caught.value.field_errors == {"databaseName": "The data folder does not exist"}


@pytest.mark.parametrize("dialect", ["SQLITE", "DUCKDB"])
@pytest.mark.parametrize("path", ["/etc/passwd", "../x.db", "a/../../x.db", "~/x", "a\\b"])
def test_the_field_itself_refuses_outside_paths(dialect, path):
    spec = get_dialect(dialect).field("databaseName")
    with pytest.raises(FieldInvalid, match=OUTSIDE):
        spec.clean(path)
    assert spec.clean("sales/orders.db") == "sales/orders.db"


def test_data_dir_defaults_into_the_instance_folder_and_is_created(tmp_path, monkeypatch):
    monkeypatch.delenv("DATADOCK_DATA_DIR", raising=False)
    config = load_config(str(tmp_path / "instance"))
    assert config["DATA_DIR"] == str((tmp_path / "instance" / "data").resolve())
    assert Path(config["DATA_DIR"]).is_dir()
    monkeypatch.setenv("DATADOCK_DATA_DIR", str(tmp_path / "files"))
    assert load_config(str(tmp_path / "instance"))["DATA_DIR"] == str(tmp_path / "files")
    assert (tmp_path / "files").is_dir()
