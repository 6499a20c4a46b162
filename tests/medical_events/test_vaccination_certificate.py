"""The vaccination certificate: EU DCC (CBOR, COSE_Sign1 ES256, zlib, base45, HC1:) that verifies offline with the
published key only, and fails when altered after issue; read as the patient's whole record is."""

import json
import sys
import uuid
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import base45
import cbor2
import httpx
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "referrals"))

from me_world import Clinic, Patient, World, count, poll, ref
from records_world import Records, package

from esoz.medical_events import certificate
from esoz.signatures.devpki import DevPki

VACCINES = "eHealth/vaccine_codes"


@pytest.fixture
def api(server: str, nhs_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30, headers=nhs_headers) as c:
        yield c


@pytest.fixture
def world(api: httpx.Client, dev_pki: DevPki, headers_for: Callable[..., dict[str, str]]) -> World:
    return World(api, dev_pki, headers_for)


def immunize(pg: psycopg.Connection, patient: Patient, code: str, days_ago: int, status: str = "completed") -> str:
    """An immunization as an accepted encounter package stores it (the package flow has its own tests)."""
    record_id = str(uuid.uuid4())
    when = datetime.now(UTC) - timedelta(days=days_ago)
    content = {
        "id": record_id,
        "status": status,
        "not_given": False,
        "vaccine_code": {"coding": [{"system": VACCINES, "code": code}], "text": ""},
        "date": when.isoformat(),
        "primary_source": True,
    }
    pg.execute(
        "INSERT INTO immunizations (id, person_id, episode_id, encounter_id, status, legal_entity_id, author_id,"
        " vaccine_code, date, content) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (record_id, patient.id, uuid.uuid4(), uuid.uuid4(), status, uuid.uuid4(), uuid.uuid4(), code, when,
         json.dumps(content)),
    )  # fmt: skip
    pg.commit()
    return record_id


def published_keys(server: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server}/api/vaccination_certificates/keys")  # no token: verifiers need none
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def certificate_of(api: httpx.Client, patient: Patient, headers: dict[str, str] | None = None) -> httpx.Response:
    return api.get(f"/api/patients/{patient.id}/vaccination_certificate", headers=headers)


def test_the_certificate_verifies_offline_and_fails_when_altered(
    api: httpx.Client, world: World, pg: psycopg.Connection, server: str
) -> None:
    patient = world.patient()
    immunize(pg, patient, "COVID19_Pfizer", 200)
    last = immunize(pg, patient, "COVID19_Pfizer", 170)
    immunize(pg, patient, "Influenza", 30)
    immunize(pg, patient, "COVID19_Moderna", 10, status="entered_in_error")

    answer = certificate_of(api, patient)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    data = answer.json()["data"]
    hc1 = data["certificate"]
    assert hc1.startswith("HC1:") and data["qr_svg"].startswith("<svg")
    entry = data["payload"]["v"][0]
    assert (entry["dn"], entry["sd"], entry["mp"], entry["tg"]) == (2, 2, "EU/1/20/1528", "840539006")
    assert entry["ci"].endswith(uuid.UUID(last).hex.upper())
    assert [v["vaccine_code"] for v in data["vaccinations"]] == ["COVID19_Pfizer", "COVID19_Pfizer", "Influenza"]

    keys = published_keys(server)
    verified = certificate.verify(hc1, keys)
    assert verified.hcert == data["payload"] and verified.kid == data["kid"] and verified.issuer == "UA"
    assert verified.hcert["nam"]["fnt"].isupper()
    assert certificate.verify(hc1, [k["jwk"] for k in keys]).hcert == data["payload"]  # bare JWKs do too

    # altered after issue: the dose number changed inside the signed payload, re-encoded faithfully
    signed = cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:])))
    claims = cbor2.loads(signed.value[2])
    claims[-260][1]["v"][0]["dn"] = 3
    signed.value[2] = cbor2.dumps(claims)
    forged = "HC1:" + base45.b45encode(zlib.compress(cbor2.dumps(signed))).decode()
    with pytest.raises(certificate.CertificateInvalid, match="signature does not match"):
        certificate.verify(forged, keys)
    # one character of the text changed
    flipped = hc1[:-5] + ("0" if hc1[-5] != "0" else "1") + hc1[-4:]
    with pytest.raises(certificate.CertificateInvalid):
        certificate.verify(flipped, keys)
    with pytest.raises(certificate.CertificateInvalid, match="HC1"):
        certificate.verify(hc1[4:], keys)
    with pytest.raises(certificate.CertificateInvalid, match="unknown signing key"):
        certificate.verify(hc1, [])
    with pytest.raises(certificate.CertificateInvalid, match="expired"):
        certificate.verify(hc1, keys, now=datetime.now(UTC) + timedelta(days=366))

    # the read is in the patient's access history
    seen = "SELECT count(*) FROM audit_log WHERE action = 'vaccination_certificate.read' AND person_id = %s"
    poll(lambda: count(pg, seen, patient.id) >= 1)


def test_the_print_form_is_ukrainian_with_the_qr(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    patient = world.patient()
    immunize(pg, patient, "COVID19_Janssen", 40)
    answer = api.get(f"/api/patients/{patient.id}/vaccination_certificate/print_form")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Сертифікат про вакцинацію" in answer.text and "<svg" in answer.text and "Доза 1 з 1" in answer.text


def test_no_covid_vaccination_or_unknown_patient(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    patient = world.patient()
    immunize(pg, patient, "MMR", 400)
    none = certificate_of(api, patient)
    assert none.status_code == 409, none.text
    assert none.json()["error"]["type"] == "request_conflict"
    unknown = api.get(f"/api/patients/{uuid.uuid4()}/vaccination_certificate")
    assert unknown.status_code == 404, unknown.text


def test_another_clinic_needs_the_patients_approval(api: httpx.Client, world: World, pg: psycopg.Connection) -> None:
    clinic, patient = world.clinic(), world.patient()
    immunize(pg, patient, "COVID19_AstraZeneca", 90)
    refused = certificate_of(api, patient, clinic.headers)
    assert refused.status_code == 403, refused.text
    assert "approvals" in refused.json()["error"]["message"]

    body = {"patient": ref("patient", patient.id), "granted_to": ref("legal_entity", clinic.legal_entity_id),
            "access_level": "read"}  # fmt: skip
    created = api.post(f"/api/patients/{patient.id}/approvals", json=body, headers=clinic.headers)
    assert created.status_code == 201, created.text
    text = world.wait_sms(patient.phone, "медичних записів")["text"]
    code = int(text.split()[1])
    approval = f"/api/patients/{patient.id}/approvals/{created.json()['data']['id']}"
    assert api.patch(approval, json={"code": code}, headers=clinic.headers).status_code == 200
    opened = certificate_of(api, patient, clinic.headers)
    assert opened.status_code == 200, opened.text


def test_esoz_certificate_verify(
    api: httpx.Client, world: World, pg: psycopg.Connection, server: str, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from esoz.cli import app as cli

    patient = world.patient()
    immunize(pg, patient, "COVID19_Moderna", 60)
    hc1 = certificate_of(api, patient).json()["data"]["certificate"]
    saved = tmp_path / "keys.json"
    saved.write_text(httpx.get(f"{server}/api/vaccination_certificates/keys").text, encoding="utf-8")
    runner = CliRunner()

    for keys in (str(saved), f"{server}/api/vaccination_certificates/keys"):
        good = runner.invoke(cli, ["certificate", "verify", hc1, "--keys", keys])
        assert good.exit_code == 0, good.output
        assert "ДІЙСНИЙ" in good.output and "EU/1/20/1507" in good.output

    signed = cbor2.loads(zlib.decompress(base45.b45decode(hc1[4:])))
    claims = cbor2.loads(signed.value[2])
    claims[-260][1]["dob"] = "1900-01-01"
    signed.value[2] = cbor2.dumps(claims)
    altered = tmp_path / "altered.txt"
    altered.write_text("HC1:" + base45.b45encode(zlib.compress(cbor2.dumps(signed))).decode(), encoding="utf-8")
    bad = runner.invoke(cli, ["certificate", "verify", str(altered), "--keys", str(saved)])
    assert bad.exit_code == 1, bad.output
    assert "НЕДІЙСНИЙ" in bad.output


def test_an_immunization_of_a_signed_package_makes_the_certificate(
    api: httpx.Client, records: Records, clinic: Clinic, patient: Patient, server: str
) -> None:
    episode = records.open_episode(clinic, patient)
    body = package(clinic, episode)
    assert records.submit(clinic, patient, body).status_code == 202
    immunization = body["immunizations"][0]
    assert immunization["vaccine_code"]["coding"][0]["code"] == "COVID19_Pfizer"

    answer = certificate_of(api, patient)
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    entry = data["payload"]["v"][0]
    assert (entry["dn"], entry["sd"]) == (1, 2)
    assert entry["ci"].endswith(uuid.UUID(immunization["id"]).hex.upper())
    assert certificate.verify(data["certificate"], published_keys(server)).hcert == data["payload"]
    # the clinic that wrote the record, without the patient's declaration or approval, is refused
    assert certificate_of(api, patient, clinic.headers).status_code == 403


def test_the_issuer_key_is_configured_in_production(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from esoz.core.errors import ApiError
    from esoz.settings import Settings

    with pytest.raises(ApiError) as refused:  # no dev key in production
        certificate.issuer_key(Settings(env="prod", data_dir=tmp_path))
    assert refused.value.status == 503
    assert not (tmp_path / "pki" / certificate.DEV_KEY_FILE).exists()

    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "issuer.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    configured = certificate.issuer_key(Settings(env="prod", data_dir=tmp_path, certificate_signing_key=pem))
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert configured.public_der == der and len(configured.kid) == 8

    other_curve = tmp_path / "p384.pem"
    other_curve.write_bytes(
        ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="P-256"):
        certificate.issuer_key(Settings(env="prod", data_dir=tmp_path, certificate_signing_key=other_curve))
