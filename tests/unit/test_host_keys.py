"""Host-key pins as users paste them: known_hosts lines and SHA256 fingerprints."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from webapp.core.host_keys import PinInvalid, parse_pin
from webapp.dialects import FieldInvalid, get_dialect


def public_line(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


def sha256(line: str) -> str:
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


# Fixed keys (not generated per run): the parametrized test ids hold them, and pytest-xdist's
# workers must collect the same ids.
ED25519 = public_line(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
ECDSA = public_line(ec.derive_private_key(0xDA7AD0C4, ec.SECP384R1()))


@pytest.mark.parametrize(
    "text",
    [
        f"[bastion.example.com]:2222 {ED25519}",
        f"bastion.example.com,10.0.0.5 {ED25519} comment",
        ED25519,
        f"  {ED25519}  ",
    ],
)
def test_known_hosts_lines_pin_the_key_and_its_type(text):
    pin = parse_pin(text)
    assert pin.fingerprint == sha256(ED25519)
    assert pin.key_type == "ssh-ed25519" and pin.algorithms == ("ssh-ed25519",)
    assert pin.matches(base64.b64decode(ED25519.split()[1]))
    assert not pin.matches(base64.b64decode(ECDSA.split()[1]))


def test_an_ecdsa_line_asks_for_that_curve():
    assert parse_pin(f"host {ECDSA}").algorithms == ("ecdsa-sha2-nistp384",)


@pytest.mark.parametrize(
    ("text", "key_type"),
    [
        (sha256(ED25519), None),
        (sha256(ED25519) + "=", None),
        (f"256 {sha256(ED25519)} root@bastion (ED25519)", "ssh-ed25519"),
        (f"384 {sha256(ED25519)} no comment (ECDSA)", "ecdsa-sha2-nistp384"),
        (f"3072 {sha256(ED25519)} root@bastion (RSA)", "ssh-rsa"),
    ],
)
def test_fingerprints_alone_or_as_ssh_keygen_prints_them(text, key_type):
    pin = parse_pin(text)
    assert pin.fingerprint == sha256(ED25519)
    assert pin.key_type == key_type


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hello", "known_hosts line"),
        ("ssh-ed25519 not-base64!", "not valid base64"),
        (f"ssh-rsa {ED25519.split()[1]}", "not an ssh-rsa key"),
        (f"@cert-authority *.example.com {ED25519}", "not supported"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "Unsupported host key type"),
        ("43:51:43:a1:b5:fc:8b:b7:0a:3a:a9:b1:0f:66:73:a8", "MD5"),
        ("SHA256:tooshort", "43 base64 characters"),
    ],
)
def test_malformed_pins_say_what_is_wrong(text, message):
    with pytest.raises(PinInvalid, match=message):
        parse_pin(text)


def test_the_form_field_refuses_a_malformed_pin_and_keeps_a_good_one():
    spec = get_dialect("POSTGRES").field("sshHostKey")
    assert spec.clean(ED25519) == ED25519
    with pytest.raises(FieldInvalid, match="known_hosts line"):
        spec.clean("not a key")
