"""Make the CAdES-BES (or -T) CMS an MIS would send: used by `esoz sign`, the demo and the tests."""

from __future__ import annotations

from collections.abc import Iterable

from asn1crypto import cms, keys
from asn1crypto import x509 as asn1x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from esoz.signatures.devpki import PrivateKey


def _asn1_cert(cert: x509.Certificate) -> asn1x509.Certificate:
    return asn1x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: PrivateKey) -> keys.PrivateKeyInfo:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return keys.PrivateKeyInfo.load(der)


async def async_sign(
    content: bytes,
    cert: x509.Certificate,
    key: PrivateKey,
    *,
    chain: Iterable[x509.Certificate] = (),
    detached: bool = False,
    timestamper: TimeStamper | None = None,
    digest_algorithm: str = "sha256",
) -> bytes:
    """DER of a CMS ContentInfo(SignedData) over `content` with CAdES signed attributes
    (signing-certificate-v2, CMS algorithm protection) and, with a timestamper, a signature timestamp."""
    signer = SimpleSigner(
        signing_cert=_asn1_cert(cert),
        signing_key=_asn1_key(key),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain]),
    )
    info: cms.ContentInfo = await signer.async_sign_general_data(
        content,
        digest_algorithm,
        detached=detached,
        use_cades=True,
        timestamper=timestamper,
    )
    return info.dump()
