"""Cryptographic verification: the good path and every bad input of security.md 17–19.

No database: trust store, CRLs and OCSP answers are handed in through the VerifyContext.
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from asn1crypto import cms, core, keys
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from sigfixtures import CONTENT, DOCTOR_NAME, DOCTOR_TAX_ID, Pki, asn1, days, sign_b64

from esoz.core.errors import ApiError
from esoz.signatures import devpki, errors
from esoz.signatures.cache import MemoryCertCache
from esoz.signatures.revocation import StaticRevocation
from esoz.signatures.service import Limits, verify_cms
from esoz.signatures.signing import async_sign


async def rejected(b64: object, ctx, **kwargs) -> ApiError:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        await verify_cms(b64, ctx, **kwargs)
    return info.value


def assert_400(err: ApiError, message: str, reason: str) -> None:
    assert (err.status, err.type, err.message) == (400, "request_malformed", message)
    assert err.reason == reason  # type: ignore[attr-defined]


def assert_422(err: ApiError, description: str, rule: str = "invalid") -> None:
    assert (err.status, err.type) == (422, "validation_failed")
    assert err.invalid is not None
    [entry] = err.invalid
    assert entry["entry"] == "$.signed_data"
    assert entry["rules"][0]["rule"] == rule
    assert entry["rules"][0]["description"] == description


def _content_info(sd: cms.SignedData) -> str:
    info = cms.ContentInfo({"content_type": "signed_data", "content": sd})
    return base64.b64encode(info.dump()).decode()


def _signed_data(b64: str) -> cms.SignedData:
    return cms.ContentInfo.load(base64.b64decode(b64))["content"]


# --- the good path ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ec-p256", "ec-p384", "rsa"])
async def test_valid_signature_returns_content_and_signer(pki: Pki, alg: devpki.KeyAlgorithm) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, edrpou="38782323", alg=alg)
    doc = await verify_cms(await sign_b64(CONTENT, doctor), pki.ctx())
    assert doc.content == {"id": "9b1c", "status": "NEW", "medication_request": {"inn": "Метформін", "qty": 60}}
    assert doc.stamps == []
    signer = doc.signer
    assert signer is not None
    assert (signer.drfo, signer.edrpou, signer.surname, signer.given_name) == (
        DOCTOR_TAX_ID,
        "38782323",
        "Петренко",
        "Олена Іванівна",
    )
    assert signer.common_name == DOCTOR_NAME
    assert signer.serial_number == format(doctor.cert.serial_number, "X")
    assert signer.not_before <= datetime.now(UTC) <= signer.not_after
    assert not signer.is_stamp
    assert not doc.signatures[0].timestamped


async def test_bom_and_trailing_nul_are_stripped_as_the_real_system_does(pki: Pki) -> None:
    doc = await verify_cms(await sign_b64(b"\xef\xbb\xbf" + CONTENT + b"\x00\x00", pki.doctor), pki.ctx())
    assert doc.content["status"] == "NEW"


async def test_two_signatures_when_two_are_required(pki: Pki) -> None:
    second = devpki.issue_cert(pki.ca, name="Коваль Іван Петрович", tax_id="2012345670")
    nested = await sign_b64(base64.b64decode(await sign_b64(CONTENT, pki.doctor)), second)
    doc = await verify_cms(nested, pki.ctx(), required_signatures=2)
    assert [s.signer.drfo for s in doc.signatures] == ["2012345670", DOCTOR_TAX_ID]
    assert doc.content["id"] == "9b1c"


async def test_stamp_over_a_signature(pki: Pki) -> None:
    stamp = devpki.issue_cert(pki.ca, name="КНП Клініка №1", tax_id=None, edrpou="38782323", usage="stamp")
    signed = await sign_b64(base64.b64decode(await sign_b64(CONTENT, pki.doctor)), stamp)
    doc = await verify_cms(signed, pki.ctx(), required_signatures=1, required_stamps=1)
    assert doc.stamp is not None and doc.stamp.edrpou == "38782323" and doc.stamp.is_stamp
    err = await rejected(signed, pki.ctx())
    assert_400(
        err,
        "document must contain 1 signature and 0 stamps but contains 1 signature and 1 stamp",
        "signature_count",
    )


# --- input format -----------------------------------------------------------------------------------------


async def test_not_base64(pki: Pki) -> None:
    assert_422(await rejected("this is *not* base64!", pki.ctx()), errors.NOT_BASE64)
    assert_422(await rejected({"signed": 1}, pki.ctx()), errors.NOT_BASE64)
    assert_422(await rejected("", pki.ctx()), errors.NOT_BASE64)


async def test_base64_of_garbage(pki: Pki) -> None:
    err = await rejected(base64.b64encode(b"\x30\x82garbage that is no CMS at all").decode(), pki.ctx())
    assert_400(err, errors.CONTAINER, "container")
    err = await rejected(base64.b64encode(b"hello").decode(), pki.ctx())
    assert_400(err, errors.CONTAINER, "container")


async def test_signed_content_that_is_not_json(pki: Pki) -> None:
    err = await rejected(await sign_b64(b'{"id": "9b1c", ', pki.doctor), pki.ctx())
    assert_422(err, errors.MALFORMED_CONTENT)


async def test_ten_mebibyte_cms_is_refused_before_decoding(pki: Pki) -> None:
    huge = base64.b64encode(b"\x30" * (10 * 1024 * 1024)).decode()
    started = time.monotonic()
    err = await rejected(huge, pki.ctx(), limits=Limits(max_cms_bytes=512 * 1024))
    assert time.monotonic() - started < 5  # bounded: no parsing of the payload happened
    assert_422(err, "signed data must be at most 524288 bytes", rule="length")


async def test_five_hundred_embedded_certificates(pki: Pki) -> None:
    sd = _signed_data(await sign_b64(CONTENT, pki.doctor))
    cert = sd["certificates"][0]
    bloated = cms.SignedData(
        {
            "version": sd["version"],
            "digest_algorithms": sd["digest_algorithms"],
            "encap_content_info": sd["encap_content_info"],
            "certificates": cms.CertificateSet([cert] * 500),
            "signer_infos": sd["signer_infos"],
        }
    )
    started = time.monotonic()
    err = await rejected(_content_info(bloated), pki.ctx(), limits=Limits(max_cms_bytes=2 * 1024 * 1024))
    assert time.monotonic() - started < 5
    assert_422(err, "signed data contains 500 certificates, at most 16 are accepted", rule="length")


# --- structure and integrity ------------------------------------------------------------------------------


async def test_two_signatures_where_one_is_needed(pki: Pki) -> None:
    other = devpki.issue_cert(pki.ca, name="Коваль Іван Петрович", tax_id="2012345670")
    sd1 = _signed_data(await sign_b64(CONTENT, pki.doctor))
    sd2 = _signed_data(await sign_b64(CONTENT, other))
    merged = cms.SignedData(
        {
            "version": sd1["version"],
            "digest_algorithms": sd1["digest_algorithms"],
            "encap_content_info": sd1["encap_content_info"],
            "certificates": cms.CertificateSet([*sd1["certificates"], *sd2["certificates"]]),
            "signer_infos": cms.SignerInfos([sd1["signer_infos"][0], sd2["signer_infos"][0]]),
        }
    )
    err = await rejected(_content_info(merged), pki.ctx())
    assert_400(
        err, "document must contain 1 signature and 0 stamps but contains 2 signatures and 0 stamps", "signature_count"
    )
    # ...and the same envelope is fine where two signatures are the rule
    doc = await verify_cms(_content_info(merged), pki.ctx(), required_signatures=2)
    assert {s.signer.drfo for s in doc.signatures} == {DOCTOR_TAX_ID, "2012345670"}


async def test_detached_signature_is_refused(pki: Pki) -> None:
    detached = base64.b64encode(await async_sign(CONTENT, pki.doctor.cert, pki.doctor.key, detached=True)).decode()
    assert_400(await rejected(detached, pki.ctx()), errors.CONTAINER, "detached")


async def test_detached_signature_over_other_bytes_with_content_attached(pki: Pki) -> None:
    sd = _signed_data(
        base64.b64encode(await async_sign(b'{"other": true}', pki.doctor.cert, pki.doctor.key, detached=True)).decode()
    )
    grafted = cms.SignedData(
        {
            "version": sd["version"],
            "digest_algorithms": sd["digest_algorithms"],
            "encap_content_info": {"content_type": "data", "content": CONTENT},
            "certificates": sd["certificates"],
            "signer_infos": sd["signer_infos"],
        }
    )
    assert_400(await rejected(_content_info(grafted), pki.ctx()), errors.DATA_SIGNATURE, "signature")


async def test_content_changed_by_one_byte(pki: Pki) -> None:
    der = base64.b64decode(await sign_b64(CONTENT, pki.doctor))
    assert der.count(b'"qty": 60') == 1
    tampered = base64.b64encode(der.replace(b'"qty": 60', b'"qty": 61')).decode()
    assert_400(await rejected(tampered, pki.ctx()), errors.DATA_SIGNATURE, "signature")


async def test_tampered_content_is_caught_on_a_cache_hit_too(pki: Pki) -> None:
    cache = MemoryCertCache()
    good = await sign_b64(CONTENT, pki.doctor)
    first = await verify_cms(good, pki.ctx(cache=cache))
    second = await verify_cms(good, pki.ctx(cache=cache))
    assert (first.signatures[0].cache_hit, second.signatures[0].cache_hit) == (False, True)
    tampered = base64.b64encode(base64.b64decode(good).replace(b'"qty": 60', b'"qty": 61')).decode()
    assert_400(await rejected(tampered, pki.ctx(cache=cache)), errors.DATA_SIGNATURE, "signature")


# --- certificate status -----------------------------------------------------------------------------------


async def test_untrusted_ca(pki: Pki) -> None:
    rogue = devpki.issue_cert(pki.other_ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID)
    revocation = StaticRevocation(crls=[pki.crl(ca=pki.other_ca), pki.crl()])
    err = await rejected(await sign_b64(CONTENT, rogue), pki.ctx(revocation))
    assert_400(err, errors.ROOT_NOT_FOUND, "untrusted")


async def test_expired_certificate(pki: Pki) -> None:
    now = datetime.now(UTC)
    old = devpki.issue_cert(
        pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, not_before=now - days(800), not_after=now - days(70)
    )
    assert_400(await rejected(await sign_b64(CONTENT, old), pki.ctx()), errors.EXPIRED, "expired")


async def test_revoked_before_signing(pki: Pki) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID)
    crl = pki.crl({doctor.cert.serial_number: datetime.now(UTC) - days(1)})
    err = await rejected(await sign_b64(CONTENT, doctor), pki.ctx(StaticRevocation(crls=[crl])))
    assert_400(err, errors.REVOCATION, "revoked")


async def test_no_revocation_evidence_is_a_rejection(pki: Pki) -> None:
    # The pyhanko trap: with "hard-fail", a cert without CRLDP/AIA and no evidence would pass.
    err = await rejected(await sign_b64(CONTENT, pki.doctor), pki.ctx(StaticRevocation()))
    assert_400(err, errors.REVOCATION, "no_revocation_info")


async def test_revoked_in_crl_without_crldp_is_still_caught(pki: Pki) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID)  # no CRLDP, no AIA
    crl = pki.crl({doctor.cert.serial_number: datetime.now(UTC) - days(1)})
    err = await rejected(await sign_b64(CONTENT, doctor), pki.ctx(StaticRevocation(crls=[crl])))
    assert err.reason == "revoked"  # type: ignore[attr-defined]


async def test_key_agreement_only_certificate(pki: Pki) -> None:
    pair = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, usage="key_agreement")
    assert_400(await rejected(await sign_b64(CONTENT, pair), pki.ctx()), errors.KEY_USAGE, "key_usage")


OCSP_URL = "http://ocsp.qtsp.test/"  # pyhanko consults OCSP answers only for certs that name a responder


async def test_good_ocsp_answer_is_evidence(pki: Pki) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url=OCSP_URL)
    ocsp = devpki.ocsp_response_for(pki.ca, pki.ocsp, doctor.cert, {})
    doc = await verify_cms(await sign_b64(CONTENT, doctor), pki.ctx(StaticRevocation(ocsps=[ocsp])))
    assert doc.signer is not None and doc.signer.drfo == DOCTOR_TAX_ID


async def test_revoked_ocsp_answer(pki: Pki) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url=OCSP_URL)
    ocsp = devpki.ocsp_response_for(
        pki.ca, pki.ocsp, doctor.cert, {doctor.cert.serial_number: datetime.now(UTC) - days(2)}
    )
    err = await rejected(await sign_b64(CONTENT, doctor), pki.ctx(StaticRevocation(ocsps=[ocsp])))
    assert_400(err, errors.REVOCATION, "revoked")


# --- CAdES-T ----------------------------------------------------------------------------------------------


def _timestamper(pki: Pki, at: datetime) -> DummyTimeStamper:
    key = keys.PrivateKeyInfo.load(
        pki.tsa.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return DummyTimeStamper(tsa_cert=asn1(pki.tsa), tsa_key=key, certs_to_embed=[asn1(pki.tsa)], fixed_dt=at)


async def test_timestamped_signature_uses_the_timestamp_time(pki: Pki) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - days(1 / 144)  # ten minutes ago
    signed = await sign_b64(CONTENT, pki.doctor, timestamper=_timestamper(pki, at))
    doc = await verify_cms(signed, pki.ctx(require_timestamp=True))
    assert doc.signatures[0].timestamped
    assert doc.signed_at == at


async def test_revoked_after_the_timestamp_is_accepted(pki: Pki) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, not_before=now - days(10))
    signed = await sign_b64(CONTENT, doctor, timestamper=_timestamper(pki, now - days(3)))
    revoked_later = StaticRevocation(crls=[pki.crl({doctor.cert.serial_number: now - days(1)})])
    doc = await verify_cms(signed, pki.ctx(revoked_later))
    assert doc.signed_at == now - days(3)
    revoked_before = StaticRevocation(crls=[pki.crl({doctor.cert.serial_number: now - days(5)})])
    assert_400(await rejected(signed, pki.ctx(revoked_before)), errors.REVOCATION, "revoked")


async def test_timestamp_outside_certificate_validity(pki: Pki) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, not_before=now - days(1))
    signed = await sign_b64(CONTENT, doctor, timestamper=_timestamper(pki, now - days(3)))
    err = await rejected(signed, pki.ctx())
    assert_400(err, errors.TIMESTAMP_OUTSIDE_VALIDITY, "expired")


async def test_timestamp_required_but_missing(pki: Pki) -> None:
    err = await rejected(await sign_b64(CONTENT, pki.doctor), pki.ctx(require_timestamp=True))
    assert_400(err, errors.NO_TIMESTAMP, "no_timestamp")


async def test_untrusted_timestamp_authority(pki: Pki) -> None:
    rogue_tsa = devpki.make_service_cert(pki.other_ca, "rogue TSA", "tsa", alg="rsa")
    rogue = Pki(pki.ca, pki.other_ca, pki.doctor, rogue_tsa, pki.ocsp, pki.trust)
    signed = await sign_b64(CONTENT, pki.doctor, timestamper=_timestamper(rogue, datetime.now(UTC) - days(1)))
    assert_400(await rejected(signed, pki.ctx()), errors.TIMESTAMP_SIGNATURE, "timestamp")


async def test_unparsable_signed_attributes_never_raise_500(pki: Pki) -> None:
    sd = _signed_data(await sign_b64(CONTENT, pki.doctor))
    si = sd["signer_infos"][0]
    broken = cms.SignerInfo(
        {
            "version": si["version"],
            "sid": si["sid"],
            "digest_algorithm": si["digest_algorithm"],
            "signed_attrs": si["signed_attrs"],
            "signature_algorithm": si["signature_algorithm"],
            "signature": core.OctetString(b"\x00" * 8),
        }
    )
    forged = cms.SignedData(
        {
            "version": sd["version"],
            "digest_algorithms": sd["digest_algorithms"],
            "encap_content_info": sd["encap_content_info"],
            "certificates": sd["certificates"],
            "signer_infos": cms.SignerInfos([broken]),
        }
    )
    assert_400(await rejected(_content_info(forged), pki.ctx()), errors.DATA_SIGNATURE, "signature")


@pytest.mark.parametrize("cached", [False, True])
async def test_content_type_not_matching_the_signed_attribute(pki: Pki, cached: bool) -> None:
    cache = MemoryCertCache()
    good = await sign_b64(CONTENT, pki.doctor)
    if cached:
        await verify_cms(good, pki.ctx(cache=cache))
    sd = _signed_data(good)
    relabelled = cms.SignedData(
        {
            "version": sd["version"],
            "digest_algorithms": sd["digest_algorithms"],
            "encap_content_info": {"content_type": "1.3.6.1.4.1.99999.1", "content": core.OctetString(CONTENT)},
            "certificates": sd["certificates"],
            "signer_infos": sd["signer_infos"],
        }
    )
    err = await rejected(_content_info(relabelled), pki.ctx(cache=cache))
    assert (err.status, err.type) == (400, "request_malformed")
    assert err.message in (errors.CONTAINER, errors.DATA_SIGNATURE)


async def test_deeply_nested_garbage_is_a_400(pki: Pki) -> None:
    err = await rejected(base64.b64encode(b"\x30\x80" * 100_000).decode(), pki.ctx())
    assert_400(err, errors.CONTAINER, "container")


async def test_mutated_envelopes_are_refused_never_crash(pki: Pki) -> None:
    """Seeded byte flips and truncations: every outcome is a 400/422, or the original content intact
    (flips in unsigned bookkeeping such as the digestAlgorithms set do not matter)."""
    import random

    good = base64.b64decode(await sign_b64(CONTENT, pki.doctor))
    cache = MemoryCertCache()
    await verify_cms(base64.b64encode(good).decode(), pki.ctx(cache=cache))
    rnd = random.Random(4)
    for i in range(400):
        mutated = bytearray(good)
        for _ in range(rnd.randint(1, 4)):
            mutated[rnd.randrange(len(mutated))] = rnd.randrange(256)
        if rnd.random() < 0.2:
            mutated = mutated[: rnd.randrange(len(mutated))]
        try:
            doc = await verify_cms(base64.b64encode(bytes(mutated)).decode(), pki.ctx(cache=cache if i % 2 else None))
        except ApiError as err:
            assert err.status in (400, 422)
        else:
            assert doc.content_bytes == CONTENT
