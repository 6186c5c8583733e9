"""A private CA and one mTLS certificate per component: ``python -m deploy.certs DIR``.

Layout (the file names of a Kubernetes TLS secret, so a folder maps onto one)::

    DIR/ca/ca.crt, DIR/ca/ca.key            the CA; its key never leaves this folder
    DIR/<component>/ca.crt, tls.crt, tls.key one folder per component, all it needs

Every folder is 0700 and every file 0600. Like the signing keys, existing files are kept:
a component's certificate is issued again only when it is missing, was signed by another
CA, or expires within RENEW_BEFORE; a CA that expires that soon is replaced, and with it
every certificate (restart the whole platform then).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.common.tls import TlsFiles
from services.common.trust import ACTIVITY, COMPONENTS, USER, WATCH_LOGS

CA_DIR = "ca"
CA_CERT = "ca.crt"
CA_KEY = "ca.key"
CERT = "tls.crt"
KEY = "tls.key"
CA_LIFETIME = datetime.timedelta(days=3650)
LIFETIME = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)
ORGANIZATION = "Fitness Goal Tracker"
# Where a component is dialled: loopback (make run) and its compose service names.
# Clients check the component's own name (services.common.tls.server_name_options).
LOOPBACK = ("localhost", "127.0.0.1", "::1")
COMPOSE_NAMES: Mapping[str, Sequence[str]] = {
    USER: ("user-1", "user-2"),
    ACTIVITY: ("activity-1", "activity-2"),
    WATCH_LOGS: ("watch-logs",),
}


def component_files(folder: Path, component: str) -> TlsFiles:
    """The files ``ensure_certs`` wrote for ``component``."""
    own = folder / component
    return TlsFiles(ca=own / CA_CERT, cert=own / CERT, key=own / KEY)


def ensure_certs(folder: Path, components: Iterable[str] = COMPONENTS) -> dict[str, TlsFiles]:
    """Create or renew the CA and each component's certificate in ``folder``."""
    _private_dir(folder)
    ca_cert, ca_key = _ensure_ca(folder / CA_DIR)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    issued = {}
    for component in components:
        files = component_files(folder, component)
        if _needs_issuing(files, ca_pem):
            _issue(files, component, ca_cert, ca_key, ca_pem)
        issued[component] = files
    return issued


def names_of(component: str) -> list[str]:
    """DNS names and IP addresses the certificate of ``component`` is valid for."""
    return [component, *COMPOSE_NAMES.get(component, ()), *LOOPBACK]


def _ensure_ca(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    _private_dir(folder)
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not _expires_soon(cert) and isinstance(key, ec.EllipticCurvePrivateKey):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{ORGANIZATION} service CA"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _needs_issuing(files: TlsFiles, ca_pem: bytes) -> bool:
    if not all(path.exists() for path in (files.ca, files.cert, files.key)):
        return True
    if files.ca.read_bytes() != ca_pem:
        return True
    return _expires_soon(x509.load_pem_x509_certificate(files.cert.read_bytes()))


def _issue(
    files: TlsFiles,
    component: str,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_pem: bytes,
) -> None:
    _private_dir(files.key.parent)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            # The identity the servers authorize by (services.common.trust.peer_component).
            x509.NameAttribute(NameOID.COMMON_NAME, component),
        ]
    )
    ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + LIFETIME, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(_general_names(component)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.key, _key_pem(key))
    _write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.ca, ca_pem)


def _general_names(component: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for name in names_of(component):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return names


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _expires_soon(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - _now() < RENEW_BEFORE


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only from the first byte, then swap it in."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    temporary.replace(path)


if __name__ == "__main__":
    for component, files in ensure_certs(
        Path(sys.argv[1] if len(sys.argv) > 1 else ".run/certs")
    ).items():
        print(f"{component}: {files.cert}")
