"""Start-up key check and rotate-keys over 10,000 saved sources (SQLite store), printed as
ratios against reading every secrets blob once (the baseline, measured in the same run)."""

from __future__ import annotations

import time

from cryptography.fernet import Fernet

from webapp.encryption_keys import check_stored_secrets, rotate_all
from webapp.extensions import db
from webapp.models import Organization, Source
from webapp.records import vault
from webapp.vault import Vault

SOURCES = 10_000


def _timed(work):
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def test_key_check_and_rotation(app):
    with app.app_context():
        org = Organization(name="Bench")
        db.session.add(org)
        db.session.flush()
        current = vault()
        db.session.execute(
            Source.__table__.insert(),
            [
                {
                    "organization_id": org.id,
                    "display_name": f"source {n}",
                    "dialect": "POSTGRES",
                    "host": "db.example.com",
                    "port": 5432,
                    "settings": {},
                    "secrets_blob": current.encrypt({"password": f"password-{n}"}),
                }
                for n in range(SOURCES)
            ],
        )
        db.session.commit()
        db.session.remove()

        baseline, _ = _timed(
            lambda: db.session.execute(db.select(Source.id, Source.secrets_blob)).all()
        )
        check, checked = _timed(lambda: check_stored_secrets(current))
        both = Vault([Fernet.generate_key().decode(), *app.config["DATADOCK_ENCRYPTION_KEYS"]])
        rotation, done = _timed(lambda: rotate_all(both))
        rerun, again = _timed(lambda: rotate_all(both))
    assert checked == SOURCES and done.rotated == SOURCES and again.rotated == 0
    print(f"\n{SOURCES} sources — read every blob (baseline): {baseline * 1000:.0f} ms")
    print(f"  start-up check (decrypt all): {check * 1000:.0f} ms = {check / baseline:.1f}x")
    print(
        f"  rotate-keys (all re-encrypted): {rotation * 1000:.0f} ms = {rotation / baseline:.1f}x"
    )
    print(f"  rotate-keys again (nothing to do): {rerun * 1000:.0f} ms = {rerun / baseline:.1f}x")
