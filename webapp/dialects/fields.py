"""Field specifications: each dialect declares its fields once, everything else follows."""

from __future__ import annotations

import re
from typing import Any

from ..core.fields import FieldInvalid, FieldSpec

__all__ = ["FieldInvalid", "FieldSpec"]  # declared in core/ (every layer reads them)
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._:%-]+)$")


def check_host(value: str) -> None:
    """A host name or IP address: no spaces, quotes, `=` or other connection-string syntax."""
    if not _HOST.match(value):
        raise FieldInvalid("Enter a host name or IP address (letters, digits, dots and dashes)")


# Shared declarations, reused by the dialects whose drivers take the same inputs.


def host_field(**overrides: Any) -> FieldSpec:
    """The database server's host name or address."""
    spec = dict(
        name="host",
        label="Host",
        required=True,
        max_length=253,
        placeholder="db.example.com",
        checks=(check_host,),
        help="Host name or IP address of the database server.",
    )
    return FieldSpec(**{**spec, **overrides})


def port_field(default: int, **overrides: Any) -> FieldSpec:
    """The TCP port the server listens on."""
    spec = dict(
        name="port",
        label="Port",
        kind="integer",
        required=True,
        default=default,
        min_value=1,
        max_value=65535,
        help=f"Usually {default}.",
    )
    return FieldSpec(**{**spec, **overrides})


def database_field(**overrides: Any) -> FieldSpec:
    """The database to open on the server."""
    spec = dict(name="databaseName", label="Database name", required=True, max_length=255)
    return FieldSpec(**{**spec, **overrides})


def username_field(**overrides: Any) -> FieldSpec:
    """The login name."""
    spec = dict(name="username", label="Username", required=True, max_length=255)
    return FieldSpec(**{**spec, **overrides})


def password_field(**overrides: Any) -> FieldSpec:
    """The login password: secret, write-only."""
    spec = dict(
        name="password",
        label="Password",
        kind="password",
        secret=True,
        required=True,
        max_length=1024,
    )
    return FieldSpec(**{**spec, **overrides})


def ssl_field(**overrides: Any) -> FieldSpec:
    """Whether the connection must be encrypted with TLS."""
    spec = dict(
        name="sslEnabled",
        label="SSL",
        kind="boolean",
        default=True,
        help="Encrypt the connection with TLS (required by most hosted databases).",
    )
    return FieldSpec(**{**spec, **overrides})


def check_ssh_host_key(value: str) -> None:
    """A known_hosts line or a SHA256 fingerprint, read before any connection is tried."""
    from ..core.host_keys import PinInvalid, parse_pin

    try:
        parse_pin(value)
    except PinInvalid as exc:
        raise FieldInvalid(str(exc)) from None


def ssh_fields() -> tuple[FieldSpec, ...]:
    """An SSH tunnel (bastion) in front of the database, as in the Basedash API."""
    when = {"required_if": "sshEnabled"}
    return (
        FieldSpec(
            name="sshEnabled",
            label="Connect through an SSH tunnel",
            kind="boolean",
            default=False,
            help="Reach the database through an SSH server (bastion).",
        ),
        host_field(
            name="sshHost",
            label="SSH host",
            placeholder="bastion.example.com",
            help="The SSH server that can reach the database host.",
            **when,
        ),
        port_field(22, name="sshPort", label="SSH port", **when),
        username_field(name="sshUsername", label="SSH username", **when),
        password_field(name="sshPassword", label="SSH password", required=False, **when),
        FieldSpec(
            name="sshPrivateKey",
            label="SSH private key",
            kind="textarea",
            secret=True,
            max_length=16384,
            required_if="sshEnabled",
            help="Paste an RSA, Ed25519 or ECDSA key (OpenSSH or PEM format). "
            "Use a password or a key.",
        ),
        password_field(
            name="sshPrivateKeyPassphrase", label="SSH key passphrase", required=False, **when
        ),
        FieldSpec(
            name="sshHostKey",
            label="SSH host key (optional)",
            max_length=4096,
            required_if="sshEnabled",
            checks=(check_ssh_host_key,),
            help="Pin the server's key: a known_hosts line or a SHA256:… fingerprint.",
        ),
    )


def check_ssh(values: dict[str, Any]) -> dict[str, str]:
    """An enabled tunnel needs a password or a private key."""
    if values.get("sshEnabled") and not (values.get("sshPassword") or values.get("sshPrivateKey")):
        return {"sshPassword": "Enter the SSH password or paste a private key"}
    return {}


SSL_MODES = (
    ("require", "Require: encrypt, do not check the certificate"),
    ("verify-ca", "Verify CA: encrypt and check the certificate's issuer"),
    ("verify-full", "Verify full: check the issuer and the host name"),
    ("prefer", "Prefer: encrypt if the server can"),
    ("allow", "Allow: encrypt only if the server insists"),
)


def check_pem_certificates(value: str) -> None:
    """One or more PEM certificates."""
    from cryptography import x509

    try:
        if not x509.load_pem_x509_certificates(value.encode()):
            raise ValueError
    except ValueError:
        raise FieldInvalid("Paste PEM certificates (-----BEGIN CERTIFICATE-----…)") from None


def check_pem_private_key(value: str) -> None:
    """An unencrypted PEM private key."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(value.encode(), password=None)
    except TypeError:
        raise FieldInvalid("Use an unencrypted private key") from None
    except ValueError:
        raise FieldInvalid("Paste a PEM private key (-----BEGIN PRIVATE KEY-----…)") from None


def tls_fields() -> tuple[FieldSpec, ...]:
    """TLS mode and custom certificates, shown while SSL is on."""
    return (
        FieldSpec(
            name="sslMode",
            label="SSL mode",
            kind="select",
            choices=SSL_MODES,
            default="require",
            required_if="sslEnabled",
            help="Verify full protects against a server impersonating yours.",
            docs="https://www.postgresql.org/docs/current/libpq-ssl.html",
        ),
        FieldSpec(
            name="sslCustomCertificatesEnabled",
            label="Use custom certificates",
            kind="boolean",
            default=False,
            required_if="sslEnabled",
            help="A private CA, or a client certificate the server asks for.",
        ),
        FieldSpec(
            name="sslRootCertificate",
            label="CA certificate",
            kind="textarea",
            max_length=65536,
            required_if="sslCustomCertificatesEnabled",
            checks=(check_pem_certificates,),
            help="PEM certificate(s) of the CA that signed the server's certificate.",
        ),
        FieldSpec(
            name="sslClientCertificate",
            label="Client certificate",
            kind="textarea",
            max_length=65536,
            required_if="sslCustomCertificatesEnabled",
            checks=(check_pem_certificates,),
        ),
        FieldSpec(
            name="sslClientKey",
            label="Client key",
            kind="textarea",
            secret=True,
            max_length=65536,
            required_if="sslCustomCertificatesEnabled",
            checks=(check_pem_private_key,),
        ),
    )
