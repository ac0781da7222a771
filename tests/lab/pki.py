"""Throw-away certificates for TLS tests: a CA, server and client certificates, a CRL.

Built with `cryptography` on P-256 keys (fast to generate, and every haproxy and curl
of the lab take them). Nothing here is secret: the files exist for one test run.
"""
import dataclasses
import datetime
import ipaddress
import os
import pathlib

DAY = datetime.timedelta(days=1)


@dataclasses.dataclass
class Pair:
    """A certificate and its private key (cryptography objects)."""

    cert: object
    key: object

    @property
    def cert_pem(self):
        from cryptography.hazmat.primitives import serialization
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self):
        from cryptography.hazmat.primitives import serialization
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()


def _name(common_name):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "octavia-lab tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(common_name="octavia-lab test CA", issuer=None):
    """A CA certificate: self-signed, or signed by `issuer` (a Pair) as an intermediate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    signer = issuer or Pair(None, key)
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name))
               .issuer_name(issuer.cert.subject if issuer else _name(common_name))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True,
                                            crl_sign=True, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    return Pair(builder.sign(signer.key, hashes.SHA256()), key)


def issue(ca, common_name, ips=(), dns=(), client=False):
    """A leaf certificate signed by `ca`: for a server (its IPs and DNS names) or a client."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (x509.CertificateBuilder()
               .subject_name(_name(common_name)).issuer_name(ca.cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - DAY).not_valid_after(now + 30 * DAY)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.key.public_key()), critical=False))
    names = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    names += [x509.DNSName(name) for name in dns]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Pair(builder.sign(ca.key, hashes.SHA256()), key)


def make_crl(ca, revoked=()):
    """A PEM CRL from `ca` that revokes the certificates (Pairs) in `revoked`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca.cert.subject).last_update(now - DAY).next_update(now + 30 * DAY))
    for pair in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(pair.cert.serial_number)
            .revocation_date(now - DAY).build())
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def write_set(directory, server_ips=("127.0.0.1",), server_dns=("localhost",)):
    """Write a CA, a server and a client certificate and an empty CRL into `directory`.

    Files: ca.pem, server.pem, server.key, client.pem, client.key, crl.pem (keys 0600).
    Returns {name: path}.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    server = issue(ca, "octavia-lab server", ips=server_ips, dns=server_dns)
    client = issue(ca, "octavia-lab prometheus", client=True)
    files = {"ca.pem": ca.cert_pem, "server.pem": server.cert_pem, "server.key": server.key_pem,
             "client.pem": client.cert_pem, "client.key": client.key_pem,
             "crl.pem": make_crl(ca)}
    paths = {}
    for name, text in files.items():
        path = directory / name
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                               0o600 if name.endswith(".key") else 0o644), "w") as handle:
            handle.write(text)
        paths[name] = path
    return paths
