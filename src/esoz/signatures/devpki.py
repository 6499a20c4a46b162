"""A development PKI: a CA, an OCSP responder, a CRL and doctors' signing certificates.

Built with `cryptography` so that sandboxes, the demo and the tests exercise exactly the verification
path production uses (chain, key usage, DRFO attribute, CRL/OCSP), only with a CA that esoz made.
Private keys are written unencrypted with mode 0600: this is a dev tool, never a QTSP.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from asn1crypto import core as asn1core
from asn1crypto import keys as asn1keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esoz.signatures import oids

KeyAlgorithm = Literal["ec-p256", "ec-p384", "rsa"]
Usage = Literal["signing", "key_agreement", "stamp"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def new_key(alg: KeyAlgorithm = "ec-p256") -> PrivateKey:
    if alg == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write(self, cert_path: Path, key_path: Path) -> None:
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        cert_path.write_bytes(self.cert_pem)
        _write_secret(key_path, self.key_pem)


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class _DirectoryStrings(asn1core.SetOf):
    _child_spec = asn1core.UTF8String


class _PrintableStrings(asn1core.SetOf):
    _child_spec = asn1core.PrintableString


class _Attribute(asn1core.Sequence):
    _fields = [("type", asn1core.ObjectIdentifier), ("values", asn1core.Any)]  # noqa: RUF012


class _Attributes(asn1core.SequenceOf):
    _child_spec = _Attribute


def _printable(value: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in " '()+,-./:=?") for c in value)


def subject_directory_attributes(drfo: str | None, edrpou: str | None) -> x509.UnrecognizedExtension:
    """The 2.5.29.9 extension carrying DRFO/EDRPOU, encoded as Ukrainian QTSPs do (PrintableString;
    UTF8String when the value is a Cyrillic passport series)."""
    items = []
    for oid, value in ((oids.DRFO, drfo), (oids.EDRPOU, edrpou)):
        if value:
            values = _PrintableStrings([value]) if _printable(value) else _DirectoryStrings([value])
            items.append({"type": oid, "values": asn1core.Any.load(values.dump())})
    der = _Attributes(items).dump()
    return x509.UnrecognizedExtension(x509.ObjectIdentifier(oids.SUBJECT_DIRECTORY_ATTRIBUTES), der)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_ca(
    common_name: str = "esoz dev CA",
    *,
    alg: KeyAlgorithm = "ec-p256",
    not_before: datetime | None = None,
    days: int = 3650,
    issuer: Issued | None = None,
    crl_url: str | None = None,
) -> Issued:
    """A root CA (or an intermediate when `issuer` is given)."""
    key = new_key(alg)
    start = not_before or _now() - timedelta(days=1)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "UA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "esoz development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
        if crl_url:
            builder = builder.add_extension(_crldp(crl_url), critical=False)
    cert = builder.sign(signing_key, _hash_for(signing_key))
    return Issued(cert=cert, key=key)


def _crldp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)])


def _key_usage(usage: Usage) -> x509.KeyUsage:
    signing = usage in ("signing", "stamp")
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,  # nonRepudiation, as on personal КЕП certificates
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not signing,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def split_full_name(full_name: str) -> tuple[str, str]:
    """'Петренко Олена Іванівна' -> ('Петренко', 'Олена Іванівна'): Ukrainian certs put the
    patronymic into givenName."""
    parts = full_name.split()
    if not parts:
        raise ValueError("name must not be empty")
    return parts[0], " ".join(parts[1:])


def issue_cert(
    ca: Issued,
    *,
    name: str,
    tax_id: str | None,
    edrpou: str | None = None,
    organization: str | None = None,
    usage: Usage = "signing",
    alg: KeyAlgorithm = "ec-p256",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    ocsp_url: str | None = None,
    crl_url: str | None = None,
    serial: int | None = None,
) -> Issued:
    """A personal signing certificate (or a key-agreement pair cert, or an organisation stamp) with the
    Ukrainian subjectDirectoryAttributes profile."""
    key = new_key(alg)
    start = not_before or _now() - timedelta(hours=1)
    end = not_after or start + timedelta(days=730)
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "UA")]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    # commonName is capped at 64 (cryptography counts UTF-8 bytes, so ~32 Cyrillic letters); the whole name
    # still travels in surname and givenName.
    common_name = name.encode()[:64].decode(errors="ignore")
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    if usage != "stamp":
        surname, given = split_full_name(name)
        attrs.append(x509.NameAttribute(NameOID.SURNAME, surname))
        if given:
            attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, given))
    if tax_id and _printable(tax_id):  # subject serialNumber is PrintableString: no Cyrillic series
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"TINUA-{tax_id}"))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .add_extension(subject_directory_attributes(tax_id, edrpou), critical=False)
    )
    if ocsp_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
                    )
                ]
            ),
            critical=False,
        )
    if crl_url:
        builder = builder.add_extension(_crldp(crl_url), critical=False)
    return Issued(cert=builder.sign(ca.key, _hash_for(ca.key)), key=key)


def make_service_cert(
    ca: Issued, common_name: str, purpose: Literal["ocsp", "tsa"], alg: KeyAlgorithm = "ec-p256"
) -> Issued:
    """A delegated OCSP responder (with id-pkix-ocsp-nocheck, so it needs no revocation data of its
    own) or a time-stamping authority certificate."""
    key = new_key(alg)
    start = _now() - timedelta(days=1)
    eku = ExtendedKeyUsageOID.OCSP_SIGNING if purpose == "ocsp" else ExtendedKeyUsageOID.TIME_STAMPING
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if purpose == "ocsp":
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return Issued(cert=builder.sign(ca.key, _hash_for(ca.key)), key=key)


def make_crl(
    ca: Issued,
    revoked: Mapping[int, datetime] | Iterable[tuple[int, datetime]] = (),
    *,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
    number: int = 1,
) -> x509.CertificateRevocationList:
    items = revoked.items() if isinstance(revoked, Mapping) else revoked
    start = this_update or _now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(start)
        .next_update(next_update or start + timedelta(days=7))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for serial, when in items:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca.key, _hash_for(ca.key))


def ocsp_response_for(
    ca: Issued,
    responder: Issued,
    cert: x509.Certificate,
    revoked: Mapping[int, datetime],
    *,
    now: datetime | None = None,
    hash_alg: hashes.HashAlgorithm | None = None,
) -> bytes:
    """A signed OCSP response (DER) about `cert`, as the dev CA's responder would give it."""
    at = now or _now()
    when = revoked.get(cert.serial_number)
    status = ocsp.OCSPCertStatus.REVOKED if when is not None else ocsp.OCSPCertStatus.GOOD
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=ca.cert,
            algorithm=hash_alg or hashes.SHA1(),
            cert_status=status,
            this_update=at,
            next_update=at + timedelta(hours=1),
            revocation_time=when,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.cert)
        .certificates([responder.cert])
    )
    return builder.sign(responder.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def ocsp_unauthorized() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
        serialization.Encoding.DER
    )


def ocsp_malformed() -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
        serialization.Encoding.DER
    )


# --- the on-disk dev PKI (`esoz pki ...`) --------------------------------------------------------------


@dataclass
class DevPki:
    """A dev PKI kept in a folder: ca.pem/ca.key.pem, ocsp.pem/ocsp.key.pem, crl.der, revoked.json,
    issued/<tax_id>.pem/.key.pem."""

    folder: Path
    ca: Issued
    ocsp: Issued

    @property
    def crl_path(self) -> Path:
        return self.folder / "crl.der"

    @property
    def revoked_path(self) -> Path:
        return self.folder / "revoked.json"

    @classmethod
    def init(cls, folder: Path, *, alg: KeyAlgorithm = "ec-p256", force: bool = False) -> DevPki:
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / "ca.pem").exists() and not force:
            return cls.load(folder)
        # A unique name per CA: CRLs are looked up by issuer name, and a re-initialised dev PKI must not
        # be confused with the previous one.
        ca = make_ca(f"esoz dev CA {secrets.token_hex(4)}", alg=alg)
        responder = make_service_cert(ca, "esoz dev OCSP responder", "ocsp")
        ca.write(folder / "ca.pem", folder / "ca.key.pem")
        responder.write(folder / "ocsp.pem", folder / "ocsp.key.pem")
        pki = cls(folder=folder, ca=ca, ocsp=responder)
        pki.revoked_path.write_text("{}")
        pki.write_crl()
        return pki

    @classmethod
    def load(cls, folder: Path) -> DevPki:
        return cls(
            folder=folder,
            ca=load_issued(folder / "ca.pem", folder / "ca.key.pem"),
            ocsp=load_issued(folder / "ocsp.pem", folder / "ocsp.key.pem"),
        )

    @staticmethod
    def exists(folder: Path) -> bool:
        return (folder / "ca.pem").exists() and (folder / "ca.key.pem").exists()

    def revoked(self) -> dict[int, datetime]:
        if not self.revoked_path.exists():
            return {}
        raw = json.loads(self.revoked_path.read_text())
        return {int(k): datetime.fromisoformat(v) for k, v in raw.items()}

    def revoke(self, serial: int, at: datetime | None = None) -> None:
        revoked = self.revoked()
        revoked[serial] = at or _now()
        self.revoked_path.write_text(json.dumps({str(k): v.isoformat() for k, v in revoked.items()}))
        self.write_crl()

    def write_crl(self) -> x509.CertificateRevocationList:
        crl = make_crl(self.ca, self.revoked(), number=int(_now().timestamp()))
        self.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.DER))
        return crl

    def issue(
        self,
        *,
        tax_id: str,
        name: str,
        edrpou: str | None = None,
        organization: str | None = None,
        ocsp_url: str | None = None,
        alg: KeyAlgorithm = "ec-p256",
        usage: Usage = "signing",
        out_dir: Path | None = None,
    ) -> tuple[Path, Path, Issued]:
        issued = issue_cert(
            self.ca,
            name=name,
            tax_id=tax_id,
            edrpou=edrpou,
            organization=organization,
            ocsp_url=ocsp_url,
            alg=alg,
            usage=usage,
        )
        target = out_dir or self.folder / "issued"
        stem = "".join(c if c.isalnum() else "_" for c in (tax_id or name))
        cert_path, key_path = target / f"{stem}.pem", target / f"{stem}.key.pem"
        issued.write(cert_path, key_path)
        return cert_path, key_path, issued

    def ensure_demo_credentials(
        self, people: Iterable[tuple[str, str, str | None]], *, ocsp_url: str | None = None
    ) -> dict[str, dict[str, str]]:
        """For the demo seed: a signing cert + key per (tax_id, full name, edrpou), issued once (kept on
        re-runs); returns {tax_id: {"cert": path, "key": path}} for the demo accounts file."""
        out: dict[str, dict[str, str]] = {}
        target = self.folder / "issued"
        for tax_id, name, edrpou in people:
            stem = "".join(c if c.isalnum() else "_" for c in tax_id)
            cert_path, key_path = target / f"{stem}.pem", target / f"{stem}.key.pem"
            if not (cert_path.exists() and key_path.exists()):
                cert_path, key_path, _ = self.issue(tax_id=tax_id, name=name, edrpou=edrpou, ocsp_url=ocsp_url)
            out[tax_id] = {"cert": str(cert_path), "key": str(key_path)}
        return out

    def respond(self, request_der: bytes, *, now: datetime | None = None) -> bytes:
        """Answer an OCSP request about a certificate of this CA (the dev responder route)."""
        try:
            req = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp_malformed()
        h = req.hash_algorithm
        issuer_key_hash = _key_hash(self.ca.cert, h)
        if req.issuer_key_hash != issuer_key_hash:
            return ocsp_unauthorized()
        # The responder needs only the serial; build the response from a stub carrying it.
        at = now or _now()
        when = self.revoked().get(req.serial_number)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=req.issuer_name_hash,
                issuer_key_hash=req.issuer_key_hash,
                serial_number=req.serial_number,
                algorithm=h,
                cert_status=ocsp.OCSPCertStatus.REVOKED if when else ocsp.OCSPCertStatus.GOOD,
                this_update=at,
                next_update=at + timedelta(hours=1),
                revocation_time=when,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.ocsp.cert)
            .certificates([self.ocsp.cert])
        )
        return builder.sign(self.ocsp.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _key_hash(cert: x509.Certificate, alg: hashes.HashAlgorithm) -> bytes:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    bits = asn1keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]  # strip the unused-bits byte
    digest = hashes.Hash(alg)
    digest.update(bits)
    return digest.finalize()


def load_issued(cert_path: Path, key_path: Path) -> Issued:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{key_path}: only EC and RSA keys are supported")
    return Issued(cert=cert, key=key)
