"""The vault: MultiFernet, newest key first, rotation."""

import pytest
from cryptography.fernet import Fernet

from webapp.vault import Vault, VaultError


def test_round_trip_and_ciphertext_hides_the_secret():
    vault = Vault([Fernet.generate_key().decode()])
    blob = vault.encrypt({"password": "hunter2-very-secret"})
    assert b"hunter2" not in blob
    assert vault.decrypt(blob) == {"password": "hunter2-very-secret"}
    assert vault.decrypt(None) == {}


def test_rotation_keeps_old_blobs_readable_then_moves_them_to_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    blob = Vault([old]).encrypt({"password": "p"})
    both = Vault([new, old])
    assert both.decrypt(blob) == {"password": "p"}
    rotated = both.rotate(blob)
    assert Vault([new]).decrypt(rotated) == {"password": "p"}
    with pytest.raises(VaultError, match="cannot be decrypted"):
        Vault([new]).decrypt(blob)


def test_malformed_or_missing_keys_are_refused_at_start():
    with pytest.raises(VaultError, match="#2"):
        Vault([Fernet.generate_key().decode(), "not-a-key"])
    with pytest.raises(VaultError, match="empty"):
        Vault([])
