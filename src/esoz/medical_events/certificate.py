"""The vaccination certificate: the EU Digital COVID Certificate format, signed by esoz, verifiable offline.

From the patient's completed COVID-19 immunizations esoz builds the certificate's health data (HCERT v1.3.0: name
and its ICAO transliteration, birth date, one vaccination entry for the latest dose with its number in the series),
puts it in CWT claims (issuer country, issued at, expires at, HCERT under claim -260), encodes them as CBOR and
signs them as a COSE_Sign1 with the issuer key (ECDSA P-256, ES256; the key id is the first 8 bytes of the SHA-256
of the public key's DER). The signed bytes are zlib-compressed, base45-encoded and prefixed with `HC1:`: the text of
the QR code a border officer or a pharmacy app scans.

Verification needs only the published public key (`public_keys`): `verify` undoes the encoding, picks the key by
its id, checks the signature and the expiry, and returns the health data. Any change to the text — one character
of the payload — breaks the signature or the encoding and is refused.

The issuer key is `ESOZ_CERTIFICATE_SIGNING_KEY` (a PEM EC P-256 key) in production; elsewhere a dev key is made
once in the dev PKI folder, like the dev CA, and never used when `ESOZ_ENV=prod`.
"""

import base64
import hashlib
import os
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import base45
import cbor2
import segno
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import clock
from esoz.core.errors import ApiError, Conflict, NotFound
from esoz.identity.translit import kmu55
from esoz.medical_events import codes
from esoz.medical_events.models import RECORD_TABLES
from esoz.medical_events.service import MedicalRecord, medical_record
from esoz.registry import repository
from esoz.settings import Settings
from esoz.signatures.service import pki_dir

PREFIX = "HC1:"
HCERT_CLAIM, HCERT_V1 = -260, 1
ISS, EXP, IAT = 1, 4, 6
ALG, KID, ES256 = 1, 4, -7
SCHEMA_VERSION = "1.3.0"
COVID19 = "840539006"  # SNOMED CT: the disease a DCC vaccination entry targets
ISSUER_NAME = "ЕСОЗ України"
KYIV = ZoneInfo("Europe/Kyiv")
DEV_KEY_FILE = "certificate-signer.key.pem"


@dataclass(frozen=True, slots=True)
class Vaccine:
    """A COVID-19 vaccine of the demo dictionary in the EU DCC value sets: product, holder, prophylaxis, doses."""

    mp: str
    ma: str
    vp: str
    series: int


# The demo dictionary's COVID-19 vaccines (eHealth/vaccine_codes) in the EU DCC value sets.
VACCINES = {
    "COVID19_Pfizer": Vaccine("EU/1/20/1528", "ORG-100030215", "1119349007", 2),
    "COVID19_Moderna": Vaccine("EU/1/20/1507", "ORG-100031184", "1119349007", 2),
    "COVID19_AstraZeneca": Vaccine("EU/1/21/1529", "ORG-100001699", "J07BX03", 2),
    "COVID19_Janssen": Vaccine("EU/1/20/1525", "ORG-100001417", "J07BX03", 1),
    "COVID19_Sinovac": Vaccine("CoronaVac", "Sinovac-Biotech", "J07BX03", 2),
    "COVID19_Novavax": Vaccine("EU/1/21/1618", "ORG-100032020", "J07BX03", 2),
}


class CertificateInvalid(Exception):
    """The text is no valid certificate of a published key: wrong prefix or encoding, unknown key, a signature
    that does not match (altered after issue), or expired."""


# --- the issuer key ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssuerKey:
    private_pem: bytes
    public_der: bytes

    @property
    def kid(self) -> bytes:
        return hashlib.sha256(self.public_der).digest()[:8]

    def jwk(self) -> dict[str, str]:
        public = serialization.load_der_public_key(self.public_der)
        assert isinstance(public, ec.EllipticCurvePublicKey)
        numbers = public.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
            "kid": base64.b64encode(self.kid).decode(),
            "alg": "ES256",
            "use": "sig",
        }


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issuer_key(settings: Settings) -> IssuerKey:
    """The configured key; a dev key (made once, mode 0600) unless `ESOZ_ENV=prod`."""
    if settings.certificate_signing_key is not None:
        pem = Path(settings.certificate_signing_key).read_bytes()
    elif settings.env == "prod":
        raise ApiError(503, "service_unavailable", "Vaccination certificates are not configured on this server")
    else:
        pem = _dev_key(pki_dir(settings) / DEV_KEY_FILE)
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the certificate signing key must be an EC P-256 key")
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return IssuerKey(pem, der)


def _dev_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    return path.read_bytes()


def public_keys(settings: Settings) -> list[dict[str, Any]]:
    """What verifiers download: each key's id, its JWK and its DER (SubjectPublicKeyInfo, base64)."""
    key = issuer_key(settings)
    return [
        {
            "kid": base64.b64encode(key.kid).decode(),
            "alg": "ES256",
            "jwk": key.jwk(),
            "public_key_der": base64.b64encode(key.public_der).decode(),
        }
    ]


# --- the patient's immunizations ------------------------------------------------------------------------------------

_IMMUNIZATIONS = RECORD_TABLES["immunizations"]


async def immunizations_of(conn: AsyncConnection, *, person_id: uuid.UUID) -> list[MedicalRecord]:
    """The patient's completed immunizations (given, not entered in error), oldest first."""
    t = _IMMUNIZATIONS
    stmt = select(t).where(t.c.person_id == person_id, t.c.status == "completed").order_by(t.c.date, t.c.inserted_at)
    rows = (await conn.execute(stmt)).mappings().all()
    return [r for r in (medical_record("immunizations", row) for row in rows) if not r.content.get("not_given")]


# --- issue ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VaccinationCertificate:
    hc1: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    hcert: dict[str, Any]
    vaccinations: list[dict[str, Any]]  # every completed immunization, for the Ukrainian print form

    def qr_svg(self) -> str:
        return str(_qr(self.hc1).svg_inline(scale=4))


def _qr(text: str) -> segno.QRCode:
    # Quartile error correction, as the DCC guidelines recommend for codes shown on phones and printed.
    return segno.make_qr(text, error="q", boost_error=False)


def icao(name: str) -> str:
    """The machine-readable form of a name (ICAO 9303): Latin capitals, anything else becomes `<`."""
    latin = kmu55(name.strip().lower()).upper()
    return "".join(ch if "A" <= ch <= "Z" else "<" for ch in latin)


def _code_of(record: MedicalRecord) -> str:
    coding = (record.content.get("vaccine_code") or {}).get("coding") or [{}]
    return str(coding[0].get("code") or "")


def _day(record: MedicalRecord) -> date:
    raw = record.content.get("date")
    when = datetime.fromisoformat(raw) if isinstance(raw, str) else record.inserted_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(KYIV).date()


def _vaccination_entry(doses: list[MedicalRecord], issuer: str) -> dict[str, Any]:
    """The DCC entry of the latest dose; the dose number counts the COVID-19 doses so far (a booster: 3/3)."""
    last = doses[-1]
    vaccine = VACCINES[_code_of(last)]
    number = len(doses)
    return {
        "tg": COVID19,
        "vp": vaccine.vp,
        "mp": vaccine.mp,
        "ma": vaccine.ma,
        "dn": number,
        "sd": max(number, vaccine.series),
        "dt": _day(last).isoformat(),
        "co": issuer,
        "is": ISSUER_NAME,
        "ci": f"URN:UVCI:01:{issuer}:{last.id.hex.upper()}",
    }


async def issue(conn: AsyncConnection, *, settings: Settings, person_id: uuid.UUID) -> VaccinationCertificate:
    """The patient's certificate as of now: 404 for an unknown patient, 409 without a COVID-19 vaccination."""
    person = await repository.get_person(conn, person_id=person_id)
    if person is None:
        raise NotFound("Patient not found")
    records = await immunizations_of(conn, person_id=person_id)
    covid = [r for r in records if _code_of(r) in VACCINES]
    if not covid:
        raise Conflict("The patient has no completed COVID-19 vaccination")
    issuer = settings.certificate_issuer
    hcert: dict[str, Any] = {
        "ver": SCHEMA_VERSION,
        "nam": {
            "fn": person.last_name,
            "fnt": icao(person.last_name),
            "gn": person.first_name,
            "gnt": icao(person.first_name),
        },
        "dob": person.birth_date.isoformat(),
        "v": [_vaccination_entry(covid, issuer)],
    }
    now = clock.now().replace(microsecond=0)
    expires = now + timedelta(days=settings.certificate_validity_days)
    claims = {ISS: issuer, IAT: int(now.timestamp()), EXP: int(expires.timestamp()), HCERT_CLAIM: {HCERT_V1: hcert}}
    key = issuer_key(settings)
    signer = COSEKey.from_pem(key.private_pem, alg="ES256")
    signed = COSE.new().encode_and_sign(cbor2.dumps(claims), signer, protected={ALG: ES256, KID: key.kid})
    assert isinstance(signed, bytes)
    hc1 = PREFIX + base45.b45encode(zlib.compress(signed, 9)).decode()
    names = codes.load().vaccine_codes.names
    vaccinations = [
        {"date": _day(r).isoformat(), "vaccine_code": _code_of(r), "vaccine": names.get(_code_of(r), _code_of(r))}
        for r in records
    ]
    kid = base64.b64encode(key.kid).decode()
    return VaccinationCertificate(hc1, kid, now, expires, hcert, vaccinations)


# --- verify (offline: the text and the published keys only) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedCertificate:
    kid: str
    issuer: str
    issued_at: datetime
    expires_at: datetime
    hcert: dict[str, Any]


def verify(hc1: str, keys: Sequence[Mapping[str, Any]], *, now: datetime | None = None) -> VerifiedCertificate:
    """Check a certificate against published keys (`public_keys` items, or bare JWKs); raise CertificateInvalid."""
    text = hc1.strip()
    if not text.startswith(PREFIX):
        raise CertificateInvalid("not a health certificate: the text does not start with HC1:")
    try:
        signed = zlib.decompress(base45.b45decode(text[len(PREFIX) :]))
        message = cbor2.loads(signed)
    except (ValueError, zlib.error, cbor2.CBORDecodeError) as exc:
        raise CertificateInvalid("the certificate is damaged: it does not decode") from exc
    parts = message.value if isinstance(message, cbor2.CBORTag) and message.tag == 18 else message
    if not isinstance(parts, list) or len(parts) != 4 or not isinstance(parts[0], bytes):
        raise CertificateInvalid("the certificate is not a COSE_Sign1 message")
    try:
        protected = cbor2.loads(parts[0]) if parts[0] else {}
    except cbor2.CBORDecodeError as exc:
        raise CertificateInvalid("the certificate's protected header does not decode") from exc
    kid = protected.get(KID) if isinstance(protected, dict) else None
    if not isinstance(kid, bytes) or protected.get(ALG) != ES256:
        raise CertificateInvalid("the certificate names no ES256 key")
    jwk = _key_for(kid, keys)
    try:
        # COSE_Key of the JWK's point: EC2 (1: 2), P-256 (-1: 1), x (-2), y (-3), ES256 (3: -7), key id (2)
        point = {-2: _b64url_decode(str(jwk["x"])), -3: _b64url_decode(str(jwk["y"]))}
        public = COSEKey.new({1: 2, -1: 1, 3: ES256, 2: kid} | point)
        payload = COSE.new().decode(signed, public)
        claims = cbor2.loads(payload)
    except Exception as exc:  # the COSE library's refusals: a signature that does not match the content
        raise CertificateInvalid(
            "the signature does not match: the certificate was altered or not issued here"
        ) from exc
    try:
        issued = datetime.fromtimestamp(claims[IAT], UTC)
        expires = datetime.fromtimestamp(claims[EXP], UTC)
        hcert = claims[HCERT_CLAIM][HCERT_V1]
        issuer = str(claims[ISS])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CertificateInvalid("the certificate's claims are incomplete") from exc
    if expires <= (now or datetime.now(UTC)):
        raise CertificateInvalid(f"the certificate expired on {expires.date().isoformat()}")
    return VerifiedCertificate(base64.b64encode(kid).decode(), issuer, issued, expires, hcert)


def _key_for(kid: bytes, keys: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    wanted = base64.b64encode(kid).decode()
    for item in keys:
        jwk = item.get("jwk", item)
        if isinstance(jwk, Mapping) and (item.get("kid") == wanted or jwk.get("kid") == wanted):
            return jwk
    raise CertificateInvalid(f"unknown signing key {wanted}: not among the published keys")
