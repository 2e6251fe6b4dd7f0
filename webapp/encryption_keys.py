"""Operating DATADOCK_ENCRYPTION_KEYS: the start-up check and key rotation.

Start-up: every key must be a valid Fernet key (vault.Vault checks that) and every stored secret
blob must decrypt with one of the keys. A process whose keys cannot read what is stored refuses
to start with a message that says what to do, rather than serve pages whose sources all fail.
Every blob is checked, not a sample: after a key was dropped too early only the rows that were
not rotated fail, and a sample could miss them. It reads the blobs in pages of 500 ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError

from .config import ConfigError
from .extensions import db, rows_changed
from .models import NotificationChannel, Source
from .vault import Vault, VaultError

PAGE = 500


def _blobs() -> Iterator[tuple[int, bytes]]:
    """(source id, secrets blob) of every source that has secrets, by id, a page at a time."""
    last = 0
    while True:
        rows = db.session.execute(
            select(Source.id, Source.secrets_blob)
            .where(Source.id > last, Source.secrets_blob.is_not(None))
            .order_by(Source.id)
            .limit(PAGE)
        ).all()
        if not rows:
            return
        yield from ((row.id, row.secrets_blob) for row in rows)
        last = rows[-1].id


def unreadable_sources(vault: Vault) -> tuple[list[int], int]:
    """Ids of sources whose secrets no configured key decrypts, and how many were checked."""
    bad, checked = [], 0
    for source_id, blob in _blobs():
        checked += 1
        try:
            vault.decrypt(blob)
        except VaultError:
            bad.append(source_id)
    return bad, checked


def _channel_blobs() -> list[tuple[int, bytes]]:
    """(channel id, secrets blob) of every notification channel with secrets (few rows)."""
    if not inspect(db.engine).has_table(NotificationChannel.__tablename__):
        return []
    return [
        (row.id, row.secrets_blob)
        for row in db.session.execute(
            select(NotificationChannel.id, NotificationChannel.secrets_blob)
            .where(NotificationChannel.secrets_blob.is_not(None))
            .order_by(NotificationChannel.id)
        )
    ]


def unreadable_channels(vault: Vault) -> list[int]:
    """Ids of notification channels whose URL and signing secret no key decrypts."""
    bad = []
    for channel_id, blob in _channel_blobs():
        try:
            vault.decrypt(blob)
        except VaultError:
            bad.append(channel_id)
    return bad


def _rotate_channels(vault: Vault) -> tuple[int, int]:
    """Re-encrypt the channels' secrets in the caller's transaction: (rotated, current)."""
    rotated = current = 0
    table = NotificationChannel.__table__
    for channel_id, blob in _channel_blobs():
        if vault.is_current(blob):
            current += 1
            continue
        done = rows_changed(
            db.session.execute(
                table.update()
                .where(table.c.id == channel_id, table.c.secrets_blob == blob)
                .values(secrets_blob=vault.rotate(blob))
            )
        )
        rotated, current = rotated + done, current + 1 - done
    return rotated, current


def check_stored_secrets(vault: Vault) -> int:
    """Raise ConfigError unless every stored blob decrypts; returns how many were checked.

    Before the store is migrated (no `sources` table) there is nothing to check. If the store
    cannot be reached, this is not the place to say so: the first request will.
    """
    try:
        if not inspect(db.engine).has_table(Source.__tablename__):
            return 0
        bad, checked = unreadable_sources(vault)
        bad_channels = unreadable_channels(vault)
    except SQLAlchemyError:
        db.session.rollback()
        return 0
    finally:
        db.session.remove()
    if bad:
        shown = ", ".join(str(i) for i in bad[:10]) + (", …" if len(bad) > 10 else "")
        raise ConfigError(
            f"DATADOCK_ENCRYPTION_KEYS cannot decrypt the saved secrets of {len(bad)} of "
            f"{checked} data sources (ids {shown}). Put back the key they were encrypted with: "
            "keys are comma-separated, newest first, and any of them decrypts. To retire an old "
            "key, keep it listed after the new one, run `flask --app webapp datadock "
            "rotate-keys`, and only then remove it."
        )
    if bad_channels:
        raise ConfigError(
            f"DATADOCK_ENCRYPTION_KEYS cannot decrypt the secrets of {len(bad_channels)} "
            "notification channels. Put back the key they were encrypted with (keys are "
            "comma-separated, newest first), or delete those channels."
        )
    return checked


@dataclass(frozen=True)
class Rotation:
    """What a rotation did: blobs re-encrypted, already on the newest key, and in all."""

    rotated: int
    current: int
    total: int


def rotate_all(vault: Vault) -> Rotation:
    """Re-encrypt every stored blob with the newest key, in one transaction.

    Blobs already on the newest key are left alone, so a second run changes nothing. Each row
    is updated only if its blob is still the one read (a save racing the rotation writes with
    the newest key anyway, and is not overwritten). Any unreadable blob aborts the whole
    rotation before anything is committed. Updates go a page (500 rows) per statement.
    """
    table = Source.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.secrets_blob == bindparam("old"))
        # Keep updated_at: rotation changes no field a person set.
        .values(secrets_blob=bindparam("new"), updated_at=table.c.updated_at)
    )
    rotated = current = 0
    page: list[dict[str, object]] = []

    def flush() -> int:
        if not page:
            return 0
        connection = db.session.connection()
        if connection.dialect.supports_sane_multi_rowcount:
            done = connection.execute(statement, page).rowcount
        else:
            done = sum(connection.execute(statement, row).rowcount for row in page)
        page.clear()
        return done

    try:
        for source_id, blob in _blobs():
            if vault.is_current(blob):
                current += 1
                continue
            page.append({"row_id": source_id, "old": blob, "new": vault.rotate(blob)})
            if len(page) >= PAGE:
                wanted = len(page)
                done = flush()
                rotated, current = rotated + done, current + wanted - done
        wanted = len(page)
        done = flush()
        rotated, current = rotated + done, current + wanted - done  # the rest saved meanwhile
        if unreadable_channels(vault):
            raise VaultError("A notification channel's secrets cannot be decrypted for rotation")
        channels_rotated, channels_current = _rotate_channels(vault)
        rotated, current = rotated + channels_rotated, current + channels_current
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Rotation(rotated, current, rotated + current)
