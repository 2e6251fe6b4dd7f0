"""Notification channel secrets are encrypted like source secrets: `rotate-keys` moves them to
the newest key, and a start with keys that cannot read them is refused."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from tests.unit.test_key_rotation import make_app  # noqa: F401 - the fixture
from webapp.config import ConfigError
from webapp.encryption_keys import check_stored_secrets, rotate_all
from webapp.extensions import db
from webapp.models import NotificationChannel, Organization
from webapp.vault import Vault


def _channel(app) -> int:
    with app.app_context():
        upgrade()
        org = Organization(name="Acme")
        db.session.add(org)
        db.session.flush()
        vault = app.extensions["datadock_vault"]
        channel = NotificationChannel(
            organization_id=org.id,
            type="webhook",
            name="Hook",
            target="hooks.example.com",
            secrets_blob=vault.encrypt(
                {"url": "https://hooks.example.com/x", "signingSecret": "whsec_kept"}
            ),
        )
        db.session.add(channel)
        db.session.commit()
        return channel.id


def test_rotation_re_encrypts_channel_secrets(make_app):  # noqa: F811
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    channel_id = _channel(make_app([old]))
    app = make_app([new, old])
    with app.app_context():
        result = rotate_all(app.extensions["datadock_vault"])
        assert (result.rotated, result.current) == (1, 0)
        blob = db.session.get(NotificationChannel, channel_id).secrets_blob
        assert Vault([new]).decrypt(blob)["signingSecret"] == "whsec_kept"
        assert rotate_all(app.extensions["datadock_vault"]).rotated == 0
    with make_app([new]).app_context():
        assert check_stored_secrets(Vault([new])) == 0  # no sources; the channel reads


def test_keys_that_cannot_read_a_channel_stop_the_start(make_app):  # noqa: F811
    _channel(make_app([Fernet.generate_key().decode()]))
    with pytest.raises(ConfigError, match="secrets of 1 notification channels"):
        make_app([Fernet.generate_key().decode()])  # the start checks every stored secret
