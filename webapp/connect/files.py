"""The file policy: database files are opened only from inside one configured data folder.

A user names a file by its path relative to the data folder (DATADOCK_DATA_DIR). Absolute
paths and `..` are refused outright; the path is then resolved with every symlink followed, and
the real path must still lie inside the folder, must not be one of Datadock's own files (the
store, its -wal/-shm, the instance folder: store_guard.py) and must be a regular, readable
file. Drivers are given that resolved absolute path only, never the text the user typed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from flask import current_app, has_app_context

from ..core.failures import OUTSIDE_DATA_FOLDER
from ..core.refusal import ConnectionFailed
from .store_guard import refuse_own_file

OUTSIDE = OUTSIDE_DATA_FOLDER
NOT_FOUND = "File not found in the data folder"
FIELD = "databaseName"


def data_folder() -> Path:
    """The configured data folder (config DATA_DIR), as a real path."""
    configured = current_app.config.get("DATA_DIR") if has_app_context() else None
    if not configured:
        raise ConnectionFailed(
            "file",
            "No data folder is configured on this Datadock server (DATADOCK_DATA_DIR).",
            {FIELD: "No data folder is configured"},
        )
    folder = Path(configured)
    if not folder.is_dir():
        raise ConnectionFailed(
            "file",
            "The data folder configured on this Datadock server "
            "(DATADOCK_DATA_DIR) does not exist.",
            {FIELD: "The data folder does not exist"},
        )
    return folder.resolve(strict=True)


def resolve_data_file(relative: str, folder: Path | None = None) -> Path:
    """The real path of the file `relative` names inside the data folder.

    Raises ConnectionFailed (step "file", error on databaseName) when the path is absolute,
    climbs with `..`, leads outside the folder through a symlink, or is not a readable file.
    """
    root = (folder or data_folder()).resolve(strict=True)
    text = relative.strip()
    parts = PurePosixPath(text).parts
    if not text:
        raise _refused("Give the database file's path relative to the data folder.")
    if text.startswith("~") or PurePosixPath(text).is_absolute():
        raise _refused(
            f"{relative!r} is an absolute path. Give the file's path relative to the "
            "data folder (DATADOCK_DATA_DIR), e.g. sales/orders.sqlite."
        )
    if ".." in parts:
        raise _refused(
            f"{relative!r} climbs out of its folder. Give the file's path relative "
            "to the data folder (DATADOCK_DATA_DIR), without '..'."
        )
    if "\\" in text:
        raise _refused(f"{relative!r} contains a backslash. Separate folders with '/'.")
    real = (root / text).resolve(strict=False)
    if not real.is_relative_to(root):
        raise _refused(
            f"{relative!r} leads outside the data folder (through a symbolic link). "
            "Only files inside the data folder can be opened."
        )
    refuse_own_file(real, root, relative, FIELD)
    if not real.exists():
        raise ConnectionFailed(
            "file",
            f"There is no file {relative!r} in the data folder "
            "(DATADOCK_DATA_DIR). Check the path and its letter case.",
            {FIELD: NOT_FOUND},
        )
    if real.is_dir():
        raise ConnectionFailed(
            "file",
            f"{relative!r} is a folder. Give the path of the database file inside it.",
            {FIELD: "This is a folder, not a file"},
        )
    if not real.is_file():
        raise ConnectionFailed(
            "file",
            f"{relative!r} is not a regular file (a device, socket or pipe).",
            {FIELD: "Not a regular file"},
        )
    if not os.access(real, os.R_OK):
        raise ConnectionFailed(
            "file",
            f"Datadock's server process may not read {relative!r}. "
            "Give it read permission on the file.",
            {FIELD: "Datadock cannot read this file"},
        )
    return real


def _refused(detail: str) -> ConnectionFailed:
    return ConnectionFailed("file", detail, {FIELD: OUTSIDE})
