"""HTTPS for the cross-site tests: a throwaway certificate authority, a server certificate for the
test host names, and name resolution of those names to 127.0.0.1 (Chromium: --host-resolver-rules;
Python: socket.getaddrinfo), so the tool (https://tool.test) and the VLE (https://vle.test) are two
sites, as in production, while every connection stays on this machine."""
from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOOL_HOST, VLE_HOST = "tool.test", "vle.test"
TEST_HOSTS = (TOOL_HOST, VLE_HOST)


@dataclass
class Certificates:
    ca_file: Path  # the authority's certificate: a CA bundle for requests
    cert_file: Path  # the server's certificate followed by the authority's
    key_file: Path
    spki_hashes: list[str]  # base64 SHA-256 of the public keys, for Chromium

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def chromium_args(self) -> list[str]:
        rules = ", ".join(f"MAP {host} 127.0.0.1" for host in TEST_HOSTS)
        return [f"--host-resolver-rules={rules}",
                "--ignore-certificate-errors-spki-list=" + ",".join(self.spki_hashes)]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _spki_hash(key) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_certificates(folder: Path) -> Certificates:
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("NPQ test CA")).issuer_name(_name("NPQ test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(h) for h in (*TEST_HOSTS, "localhost")] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder().subject_name(_name(TOOL_HOST)).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_file.chmod(0o600)
    return Certificates(ca_file, cert_file, key_file, [_spki_hash(key), _spki_hash(ca_key)])


@contextmanager
def resolving_test_names(monkeypatch, certificates: Certificates):
    """tool.test and vle.test resolve to 127.0.0.1 in this process, and requests (the tool's and
    the platform's) trust the throwaway authority: the Python side of an /etc/hosts entry and a
    company CA."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host in TEST_HOSTS:
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_file))
    yield
