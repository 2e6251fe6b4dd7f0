"""SSL modes and pasted certificates against a real PostgreSQL with a self-signed CA."""

from __future__ import annotations

import datetime as dt
import glob
import tempfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration.test_verify_postgres import failure, values
from webapp import sources as uc


def other_ca_pem() -> str:
    """A CA certificate that did not sign the server's certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def tls(server, mode, ca=None):
    extra = {"sslMode": mode}
    if ca is not None:
        extra.update(sslCustomCertificatesEnabled=True, sslRootCertificate=ca)
    return values(server, **extra)


@pytest.mark.parametrize("mode", ["verify-full", "verify-ca"])
def test_verify_modes_succeed_with_the_servers_ca(app, pg, mode):
    pattern = f"{tempfile.gettempdir()}/datadock-tls-*"
    before = set(glob.glob(pattern))  # a process killed mid-connect elsewhere may leave some
    with app.app_context():
        result = uc.verify_input(tls(pg, mode, pg.ca_cert_path.read_text()))
    assert {s["name"]: s["status"] for s in result.steps}["tls"] == "ok"
    assert set(glob.glob(pattern)) <= before  # the pasted PEMs were written, then removed


def test_verify_full_without_the_ca_is_not_trusted(app, pg):
    error = failure(app, tls(pg, "verify-full"))
    assert error.field_errors == {"sslMode": "Certificate not trusted"}
    assert error.step == "tls"


def test_a_ca_that_did_not_sign_the_certificate(app, pg):
    error = failure(app, tls(pg, "verify-ca", other_ca_pem()))
    assert error.field_errors == {"sslRootCertificate": "Certificate not trusted"}


def test_require_mode_encrypts_without_checking(app, pg):
    with app.app_context():
        assert uc.verify_input(tls(pg, "require")).server_version


def test_malformed_pem_is_refused_before_connecting(app, pg):
    with app.app_context(), pytest.raises(uc.ValidationFailed) as caught:
        uc.verify_input(tls(pg, "verify-ca", "not a certificate"))
    assert caught.value.field_errors == {
        "sslRootCertificate": "Paste PEM certificates (-----BEGIN CERTIFICATE-----…)"
    }


def test_unknown_ssl_mode_is_refused(app, pg):
    with app.app_context(), pytest.raises(uc.ValidationFailed) as caught:
        uc.verify_input(tls(pg, "sometimes"))
    assert "sslMode" in caught.value.field_errors
