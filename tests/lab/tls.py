"""Certificate containers in the lab: Octavia's own local_cert_manager stands in for Barbican.

The lab's octavia.conf sets `[certificates] cert_manager = local_cert_manager` with its
storage_path in OCTAVIA_LAB_DIR (Settings.tls_store). A container reference is then the
UUID of files in that directory, which the API validates on a listener create or update
and the amphora agent reads when it renders a TLS frontend:

* a certificate bundle (default_tls_container_ref, sni_container_refs) is stored by
  LocalCertManager.store_cert itself: <ref>.crt, <ref>.key and, if given, <ref>.int;
* a CA or a CRL (client_ca_tls_container_ref, client_crl_container_ref) is a "secret",
  which LocalCertManager.get_secret reads from <ref>.crt. The manager has no method that
  stores one, so store_secret writes that file with store_cert's flags and mode and
  reads it back through get_secret before it returns the reference.

Everything is validated before anything is written, so a bad file stores nothing.
"""
import os
import stat
import uuid

from lab import stats
from lab.errors import LabError


def _text(data):
    return data.decode() if isinstance(data, bytes) else data


def _load_certs(pem, what):
    """Every X.509 certificate in `pem` (at least one), or LabError naming `what`."""
    from cryptography import x509
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        certs = []
    if not certs:
        raise LabError(f"{what} holds no PEM certificate: give a file with "
                       f"'-----BEGIN CERTIFICATE-----' blocks.")
    return certs


def validate_bundle(certificate, private_key, intermediates=None):
    """Check a bundle as the API's use of it needs: one certificate, its unencrypted key, CAs.

    Raises LabError with one sentence; returns nothing.
    """
    from cryptography.hazmat.primitives import serialization
    certificate, private_key = _text(certificate), _text(private_key)
    certs = _load_certs(certificate, "the certificate")
    if len(certs) != 1:
        raise LabError(f"the certificate file holds {len(certs)} certificates: put the server "
                       f"certificate alone in --cert and its chain in --intermediates.")
    try:
        key = serialization.load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise LabError(f"the private key is not an unencrypted PEM key ({exc}): give the key "
                       f"without a passphrase.") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.PEM, public)
            != certs[0].public_key().public_bytes(serialization.Encoding.PEM, public)):
        raise LabError("the private key does not belong to the certificate: give the key the "
                       "certificate was issued for.")
    if intermediates:
        _load_certs(_text(intermediates), "the intermediates file")


def validate_ca(ca, crl=None):
    """Check a client CA (PEM certificates) and an optional CRL (PEM) as the API does."""
    from cryptography import x509
    _load_certs(_text(ca), "the CA file")
    if crl:
        try:
            x509.load_pem_x509_crl(_text(crl).encode())
        except ValueError as exc:
            raise LabError(f"the CRL is not a PEM certificate revocation list ({exc}): give a "
                           f"file with a '-----BEGIN X509 CRL-----' block.") from exc


def _manager(settings):
    stats.init_octavia(settings.conf)
    from octavia.certificates.manager.local import LocalCertManager
    from octavia.common.config import cfg
    store = cfg.CONF.certificates.storage_path
    if os.path.realpath(store) != os.path.realpath(settings.tls_store):
        raise LabError(f"{settings.conf} stores certificates in {store}, not in "
                       f"{settings.tls_store}: run `labctl.py up` to rewrite it.")
    return LocalCertManager


def _require_lab(settings):
    if not settings.conf.exists():
        raise LabError(f"{settings.conf} does not exist: run `labctl.py up` first (it writes "
                       f"the configuration that names the certificate store).")
    settings.tls_store.mkdir(mode=0o700, parents=True, exist_ok=True)


def store_bundle(settings, certificate, private_key, intermediates=None):
    """Store a certificate bundle with LocalCertManager.store_cert; return its reference."""
    validate_bundle(certificate, private_key, intermediates)
    _require_lab(settings)
    manager = _manager(settings)
    return manager.store_cert(None, _text(certificate), _text(private_key),
                              intermediates=_text(intermediates) if intermediates else None)


def store_secret(settings, pem):
    """Store one PEM secret (a CA or a CRL) where LocalCertManager.get_secret reads it."""
    _require_lab(settings)
    manager = _manager(settings)
    ref = str(uuid.uuid4())
    path = settings.tls_store / f"{ref}.crt"
    # As store_cert opens its files: created here, owner read/write only.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                           stat.S_IRUSR | stat.S_IWUSR), "w") as handle:
        handle.write(_text(pem))
    if manager.get_secret(None, ref) != _text(pem):
        path.unlink()
        raise LabError(f"Octavia's LocalCertManager did not read back {path}: the lab's "
                       f"certificate store is not where octavia.conf says.")
    return ref


def store_ca(settings, ca, crl=None):
    """Store a client CA and an optional CRL; return (ca_ref, crl_ref or None)."""
    validate_ca(ca, crl)
    ca_ref = store_secret(settings, ca)
    crl_ref = store_secret(settings, crl) if crl else None
    return ca_ref, crl_ref


def delete(settings, ref):
    """Remove every file of one reference (bundle or secret); True if there was any."""
    if not ref or "/" in ref or ref.startswith("."):
        raise LabError(f"{ref!r} is not a container reference of the lab's certificate store.")
    removed = False
    for suffix in (".crt", ".key", ".int", ".pass"):
        try:
            (settings.tls_store / f"{ref}{suffix}").unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed
