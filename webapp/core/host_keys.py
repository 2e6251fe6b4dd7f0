"""SSH host-key pins: parse what a user pastes (a known_hosts line or a SHA256 fingerprint).

No network and no SSH library here: the form's field check (dialects) and the tunnel (connect)
share this parser.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

# Host key types Datadock can pin, with the host key algorithms that present each of them.
KEY_ALGORITHMS = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),  # RSA keys, signed with SHA-2
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
}
# The "(ED25519)" suffix of `ssh-keygen -lf`, with the key size before the fingerprint.
_KEYGEN_TYPES = {"ED25519": "ssh-ed25519", "RSA": "ssh-rsa", "ECDSA": "ecdsa-sha2-nistp{bits}"}
_FINGERPRINT = re.compile(r"SHA256:([A-Za-z0-9+/]{43})=?")
_KEYGEN_LINE = re.compile(
    r"^(?:(?P<bits>\d{3,5})\s+)?SHA256:(?P<fp>[A-Za-z0-9+/]{43})=?(?:\s.*?)?"
    r"(?:\((?P<type>[A-Z0-9]+)\))?$"
)

FORMAT_HELP = (
    "Paste a known_hosts line (host ssh-ed25519 AAAA…) or a SHA256:… fingerprint (ssh-keygen -lf)"
)


class PinInvalid(ValueError):
    """The pasted pin cannot be read; the message is shown under sshHostKey."""


@dataclass(frozen=True)
class HostKeyPin:
    """The host key a server must present: its SHA256 fingerprint and, when known, its type."""

    fingerprint: str  # "SHA256:…" without base64 padding, as OpenSSH prints it
    key_type: str | None = None  # "ssh-ed25519", … (None: whatever the server offers first)

    @property
    def algorithms(self) -> tuple[str, ...]:
        """Host key algorithms to ask the server for, so it presents the pinned key's type."""
        return KEY_ALGORITHMS.get(self.key_type or "", ())

    def matches(self, key_blob: bytes) -> bool:
        """Whether a server's public key (its SSH wire bytes) is the pinned one."""
        return fingerprint(key_blob) == self.fingerprint


def fingerprint(key_blob: bytes) -> str:
    """The OpenSSH SHA256 fingerprint of a public key's wire bytes."""
    digest = base64.b64encode(hashlib.sha256(key_blob).digest()).decode()
    return "SHA256:" + digest.rstrip("=")


def parse_pin(text: str) -> HostKeyPin:
    """Read a known_hosts line (`[host]:port type AAAA…`, `host type AAAA…`, `type AAAA…`) or
    a fingerprint (`SHA256:…`, or the whole `ssh-keygen -lf` line). Raises PinInvalid."""
    text = text.strip()
    if "SHA256:" in text:
        return _parse_fingerprint(text)
    if text.startswith("@"):
        raise PinInvalid(
            "Markers such as @cert-authority are not supported: paste the server's own host key"
        )
    if re.fullmatch(r"(MD5:)?([0-9a-fA-F]{2}:){15}[0-9a-fA-F]{2}", text):
        raise PinInvalid("MD5 fingerprints are not accepted: use the SHA256 one (ssh-keygen -lf)")
    tokens = text.split()
    if tokens and tokens[0] in KEY_ALGORITHMS:
        key_type, blob = tokens[0], tokens[1] if len(tokens) > 1 else ""
    elif len(tokens) >= 3 and tokens[1] in KEY_ALGORITHMS:
        key_type, blob = tokens[1], tokens[2]
    elif any(t.startswith(("ssh-", "ecdsa-", "sk-")) for t in tokens[:2]):
        supported = ", ".join(KEY_ALGORITHMS)
        raise PinInvalid(f"Unsupported host key type: use one of {supported}")
    else:
        raise PinInvalid(FORMAT_HELP)
    return HostKeyPin(fingerprint(_key_blob(key_type, blob)), key_type)


def _parse_fingerprint(text: str) -> HostKeyPin:
    match = _KEYGEN_LINE.match(text)
    if match is None:
        if _FINGERPRINT.search(text) is None:
            raise PinInvalid("A SHA256 fingerprint is SHA256: followed by 43 base64 characters")
        raise PinInvalid(FORMAT_HELP)
    key_type = None
    if match["type"] in _KEYGEN_TYPES and match["bits"]:
        key_type = _KEYGEN_TYPES[match["type"]].format(bits=match["bits"])
    elif match["type"] in ("ED25519", "RSA"):
        key_type = _KEYGEN_TYPES[match["type"]]
    return HostKeyPin("SHA256:" + match["fp"], key_type if key_type in KEY_ALGORITHMS else None)


def _key_blob(key_type: str, text: str) -> bytes:
    """The base64 key of a known_hosts line, checked to be a key of the type the line names."""
    try:
        blob = base64.b64decode(text, validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        inner = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise PinInvalid("The key in this known_hosts line is not valid base64") from None
    if inner != key_type or len(blob) < 4 + length + 16:
        raise PinInvalid(f"The key in this known_hosts line is not an {key_type} key")
    return blob
