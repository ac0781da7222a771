"""Throw-away TLS material for the Prometheus security and TLS scrape tests.

A CA, and server or client certificates it signs, on P-256 keys (fast to make).
Nothing here is secret: the files live for one test run.

    ca = CertificateAuthority("test CA")
    server = ca.issue("127.0.0.1", server=True)      # an IP SAN for 127.x names
    client = ca.issue("prometheus", server=False)
    server.cert_pem, server.key_pem, ca.cert_pem
"""
import dataclasses
import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclasses.dataclass
class Issued:
    """A certificate and its key, as PEM text."""

    cert_pem: str
    key_pem: str

    @property
    def bundle_pem(self):
        """Certificate then key in one file, the form haproxy's `crt` takes."""
        return self.cert_pem + self.key_pem


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class CertificateAuthority:
    """A self-signed CA that issues certificates valid for two days."""

    def __init__(self, common_name="octavia.monitoring test CA"):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(hours=1))
                     .not_valid_after(now + datetime.timedelta(days=2))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @property
    def cert_pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, common_name, server=True):
        """A leaf certificate: for a server, with the name as SAN (an IP address where it is one)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False))
        if server:
            try:
                san = x509.IPAddress(ipaddress.ip_address(common_name))
            except ValueError:
                san = x509.DNSName(common_name)
            builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key))
