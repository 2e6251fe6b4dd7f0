"""Encryption keys in operation: rotate-keys, and the start-up check that refuses wrong keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade

from webapp import create_app
from webapp.config import ConfigError
from webapp.encryption_keys import rotate_all
from webapp.extensions import db
from webapp.models import Organization, Source
from webapp.records import connection_values, vault
from webapp.vault import Vault

SECRETS = {f"Source {n}": f"secret-password-{n}" for n in range(5)}


@pytest.fixture
def make_app(tmp_path, monkeypatch) -> Iterator[Callable[[list[str]], Flask]]:
    """Build apps on one SQLite store with the given DATADOCK_ENCRYPTION_KEYS."""
    monkeypatch.setenv("DATADOCK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("SECRET_KEY", "a test secret key")
    built: list[Flask] = []

    def build(keys: list[str]) -> Flask:
        monkeypatch.setenv("DATADOCK_ENCRYPTION_KEYS", ",".join(keys))
        application = create_app({"TESTING": True, "SCHEDULER_ENABLED": False})
        built.append(application)
        return application

    yield build
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def seed(app: Flask) -> dict[int, str]:
    """A migrated store with sources whose secrets are encrypted with the app's newest key."""
    with app.app_context():
        upgrade()
        org = Organization(name="Acme")
        db.session.add(org)
        db.session.flush()
        ids = {}
        for name, password in SECRETS.items():
            source = Source(
                organization_id=org.id,
                display_name=name,
                dialect="POSTGRES",
                host="db.example.com",
                port=5432,
                database_name="app",
                username="u",
                secrets_blob=vault().encrypt({"password": password}),
            )
            db.session.add(source)
            db.session.flush()
            ids[source.id] = password
        # A source without secrets is left alone by both the check and the rotation.
        db.session.add(
            Source(
                organization_id=org.id,
                display_name="No secrets",
                dialect="POSTGRES",
                host="h",
                port=1,
                database_name="d",
            )
        )
        db.session.commit()
        return ids


def blobs(app: Flask) -> dict[int, bytes]:
    with app.app_context():
        return dict(
            db.session.execute(
                db.select(Source.id, Source.secrets_blob).where(Source.secrets_blob.is_not(None))
            ).all()
        )


def test_rotate_keys_moves_every_secret_to_the_new_key_then_the_old_key_can_go(make_app):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    ids = seed(make_app([old]))
    before = blobs(make_app([old]))
    with make_app([old]).app_context():
        stamps = dict(db.session.execute(db.select(Source.id, Source.updated_at)).all())

    both = make_app([new, old])  # step 1: the new key first, the old one still listed
    result = both.test_cli_runner().invoke(args=["datadock", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Re-encrypted the secrets of 5 data sources with the newest key; 0 were already on it "
        "(5 in all)."
    )
    for password in SECRETS.values():
        assert password not in result.output
    after = blobs(both)
    assert set(after) == set(before) and all(after[i] != before[i] for i in after)

    again = both.test_cli_runner().invoke(args=["datadock", "rotate-keys"])
    assert again.exit_code == 0, again.output
    assert "secrets of 0 data sources" in again.output and "5 were already on it" in again.output
    assert blobs(both) == after  # a second run writes nothing

    only_new = make_app([new])  # step 3: the old key is dropped; everything still reads
    with only_new.app_context():
        for source_id, password in ids.items():
            assert connection_values(db.session.get(Source, source_id))["password"] == password
        # Rotation changes no field a person set: updated_at stays.
        assert dict(db.session.execute(db.select(Source.id, Source.updated_at)).all()) == stamps


def test_rotate_keys_refuses_and_changes_nothing_when_a_secret_is_unreadable(make_app, monkeypatch):
    old, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    seed(make_app([old]))
    app = make_app([old])
    with app.app_context():  # one row written with a key nobody will list
        row = db.session.scalar(db.select(Source).where(Source.display_name == "Source 3"))
        row.secrets_blob = Fernet(other.encode()).encrypt(b'{"password": "x"}')
        db.session.commit()
        stray = row.id
    before = blobs(app)
    newest = Fernet.generate_key().decode()
    # The start-up check refuses to serve, naming the source...
    with pytest.raises(ConfigError, match=rf"1 of 5 data sources \(ids {stray}\)"):
        make_app([newest, old])
    # ...and the command (which does not serve, so it starts) refuses to rotate anything.
    monkeypatch.setattr("webapp._serving", lambda: False)
    app = make_app([newest, old])
    result = app.test_cli_runner().invoke(args=["datadock", "rotate-keys"])
    assert result.exit_code != 0
    assert "1 of 5 data sources have secrets that no key" in result.output
    assert "nothing was changed" in result.output
    assert blobs(app) == before


def test_a_wrong_key_stops_the_start_with_a_clear_error(make_app):
    seed(make_app([Fernet.generate_key().decode()]))
    with pytest.raises(ConfigError) as caught:
        make_app([Fernet.generate_key().decode()])
    message = str(caught.value)
    assert "cannot decrypt the saved secrets of 5 of 5 data sources" in message
    assert "Put back the key they were encrypted with" in message
    assert "rotate-keys" in message


def test_a_malformed_key_stops_the_start(make_app):
    # Refused by the settings (webapp/settings.py) before the Vault is built.
    with pytest.raises(ConfigError, match="key #2 in DATADOCK_ENCRYPTION_KEYS is not a valid"):
        make_app([Fernet.generate_key().decode(), "not-a-fernet-key"])


def test_a_lost_development_key_stops_the_start(make_app, tmp_path, monkeypatch):
    """No DATADOCK_ENCRYPTION_KEYS: a development key is generated into instance/. If that file
    is lost after secrets were saved, the new key cannot read them: refuse to start."""
    monkeypatch.delenv("DATADOCK_ENCRYPTION_KEYS", raising=False)
    app = create_app({"TESTING": True, "SCHEDULER_ENABLED": False})
    seed(app)
    with app.app_context():
        db.engine.dispose()
    with create_app({"TESTING": True, "SCHEDULER_ENABLED": False}).app_context():
        db.engine.dispose()  # the same key file: it starts
    key_file = Path(tmp_path / "instance" / "encryption_keys")
    key_file.unlink()
    with pytest.raises(ConfigError, match="cannot decrypt the saved secrets"):
        create_app({"TESTING": True, "SCHEDULER_ENABLED": False})


def test_a_save_racing_the_rotation_is_not_overwritten(make_app, monkeypatch):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    ids = seed(make_app([old]))
    both = make_app([new, old])
    raced = next(iter(ids))
    fresh = Vault([new]).encrypt({"password": "typed-during-rotation"})
    real_rotate = Vault.rotate
    done = []

    def rotate_then_someone_saves(self, blob):
        if not done:  # while the rotation reads, another process saves source `raced`
            done.append(True)
            with db.engine.begin() as other:  # its own connection and transaction
                other.execute(
                    db.update(Source).where(Source.id == raced).values(secrets_blob=fresh)
                )
        return real_rotate(self, blob)

    monkeypatch.setattr(Vault, "rotate", rotate_then_someone_saves)
    with both.app_context():
        result = rotate_all(vault())
        assert (result.rotated, result.current, result.total) == (4, 1, 5)
        assert connection_values(db.session.get(Source, raced))["password"] == (
            "typed-during-rotation"
        )
