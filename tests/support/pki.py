"""A throw-away PKI for the TLS tests: a CA, a collector certificate for 127.0.0.1 and an agent's client
certificate, made with ``cryptography`` (a dependency of campuswatch already), so that TLS is tested for
real without the openssl command."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pki:
    """PEM files of the CA, the collector (server) and an agent (client)."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    ca_key: Path

    def issue_server(
        self, folder: Path, host: str, not_after: datetime.datetime, *, stem: str = "service"
    ) -> tuple[Path, Path]:
        """A further server certificate of the CA for ``host`` (an IP address or a name) that expires at ``not_after``
        (a service whose certificate runs out), written to ``folder``: (cert, key)."""
        ca_cert = x509.load_pem_x509_certificate(self.ca.read_bytes())
        ca_key = serialization.load_pem_private_key(self.ca_key.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        _leaf(folder, stem, host, ExtendedKeyUsageOID.SERVER_AUTH, ca_cert, ca_key, not_after)
        return folder / f"{stem}.pem", folder / f"{stem}.key"

    def server_context(self) -> ssl.SSLContext:
        """The collector's side: its certificate, and clients must show one signed by the CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca)
        context.load_cert_chain(self.server_cert, self.server_key)
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self, *, with_cert: bool) -> ssl.SSLContext:
        """An agent's side: trusts the CA, and shows its client certificate if ``with_cert``."""
        context = ssl.create_default_context(cafile=self.ca)
        if with_cert:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def make_pki(folder: Path) -> Pki:
    """Write a CA, a server certificate for IP 127.0.0.1 and a client certificate into ``folder``, valid
    from an hour ago (clock skew) for two days."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("campuswatch test CA"))
        .issuer_name(_name("campuswatch test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    names = ("ca.pem", "server.pem", "server.key", "client.pem", "client.key", "ca.key")
    pki = Pki(*(folder / name for name in names))
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key, pki.ca_key)
    not_after = now + datetime.timedelta(days=2)
    _leaf(folder, "server", "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH, ca_cert, ca_key, not_after)
    _leaf(folder, "client", "gw-bbg", ExtendedKeyUsageOID.CLIENT_AUTH, ca_cert, ca_key, not_after)
    return pki


def _leaf(
    folder: Path,
    stem: str,
    common_name: str,
    usage: x509.ObjectIdentifier,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    not_after: datetime.datetime,
) -> None:
    """A certificate of the CA for ``common_name`` (a server's is also valid for it as an IP address or a
    host name), valid from an hour ago (clock skew) to ``not_after``: ``<stem>.pem`` and ``<stem>.key``."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(not_after, datetime.datetime.now(datetime.UTC)) - datetime.timedelta(hours=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        try:
            san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(common_name))
        except ValueError:
            san = x509.DNSName(common_name)
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(key, folder / f"{stem}.key")
