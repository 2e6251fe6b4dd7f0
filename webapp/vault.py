"""Encryption of secret fields with MultiFernet (several keys, newest first)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(RuntimeError):
    """A key is malformed, or a blob cannot be decrypted with any configured key."""


class Vault:
    """Encrypts a dict of secrets into one blob; decrypts with any configured key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise VaultError("DATADOCK_ENCRYPTION_KEYS is empty: at least one Fernet key is needed")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode() if isinstance(key, str) else key))
            except (ValueError, TypeError) as exc:
                raise VaultError(
                    f"Encryption key #{position} in DATADOCK_ENCRYPTION_KEYS is not a valid "
                    "Fernet key (32 url-safe base64-encoded bytes)"
                ) from exc
        self._fernet = MultiFernet(fernets)
        self._newest = fernets[0]

    def encrypt(self, secrets: dict[str, str]) -> bytes:
        """Encrypt a dict of secret field values with the newest key."""
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode())

    def decrypt(self, blob: bytes | None) -> dict[str, str]:
        """Decrypt a blob written by `encrypt`; an empty blob is an empty dict."""
        if not blob:
            return {}
        try:
            return json.loads(self._fernet.decrypt(blob))
        except InvalidToken as exc:
            raise VaultError(
                "A stored secret cannot be decrypted with any key in DATADOCK_ENCRYPTION_KEYS"
            ) from exc

    def is_current(self, blob: bytes) -> bool:
        """Whether the blob is encrypted with the newest key (so rotation has nothing to do)."""
        try:
            self._newest.decrypt(blob)
        except InvalidToken:
            return False
        return True

    def rotate(self, blob: bytes) -> bytes:
        """Re-encrypt a blob with the newest key."""
        try:
            return self._fernet.rotate(blob)
        except InvalidToken as exc:
            raise VaultError("A stored secret cannot be decrypted for rotation") from exc
