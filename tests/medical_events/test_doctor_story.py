"""A doctor's story, through HTTP end to end: the family doctor opens an episode and submits a signed encounter
package (a diagnosis, an observation, an immunization) and reads it back; a doctor of another clinic is refused,
asks the patient for an approval, the patient's SMS code opens the record, and the read is in the audit; the
patient's vaccination certificate verifies offline and fails once altered."""

import uuid

import httpx
import me_world
import psycopg
import pytest
from reads_world import ReadsWorld
from records_world import Records, package

from esoz.medical_events import certificate
from esoz.settings import Settings
from esoz.signatures.devpki import DevPki


def test_a_doctors_story(
    api: httpx.Client, client: httpx.Client, db_url: str, settings: Settings, pg: psycopg.Connection,
    dev_pki: DevPki, server: str,
) -> None:  # fmt: skip
    rw = ReadsWorld(api, db_url, settings, pg)
    home, other, patient = rw.clinic(), rw.clinic(), rw.patient()
    rw.declare(patient, home)
    party = pg.execute(
        "SELECT tax_id, last_name || ' ' || first_name || ' ' || coalesce(second_name, '') FROM parties WHERE id = %s",
        (home.doctor.party_id,),
    ).fetchone()
    assert party is not None
    _, _, cert = dev_pki.issue(tax_id=party[0], name=party[1].strip(), ocsp_url=me_world.OCSP_URL)
    family = me_world.Clinic(
        home.legal_entity_id, home.division_id, me_world.Doctor(home.doctor.id, party[0], cert), home.doctor.headers
    )
    records = Records(client, me_world.World(api, dev_pki, lambda *_: {}))
    me_patient = me_world.Patient(patient.id, patient.phone)

    # the family doctor: an episode, then the signed package of the visit
    episode = records.open_episode(family, me_patient)
    body = package(family, episode)
    submitted = records.submit(family, me_patient, body)
    assert submitted.status_code == 202, submitted.text
    written = {
        "conditions": body["conditions"][0]["id"],
        "observations": body["observations"][0]["id"],
        "immunizations": body["immunizations"][0]["id"],
    }

    def read(kind: str, headers: dict[str, str]) -> httpx.Response:
        return client.get(f"/api/patients/{patient.id}/{kind}", headers=headers)

    for kind, record_id in written.items():
        answer = read(kind, home.doctor.headers)
        assert answer.status_code == 200, answer.text
        assert [r["id"] for r in answer.json()["data"]] == [record_id]
    encounter = client.get(
        f"/api/patients/{patient.id}/encounters/{body['encounter']['id']}", headers=home.doctor.headers
    )
    assert encounter.status_code == 200, encounter.text

    # a doctor of another clinic: refused, naming the approval; the patient's code opens the record
    refused = read("conditions", other.doctor.headers)
    assert refused.status_code == 403 and "approval" in refused.json()["error"]["message"]
    rw.approve(patient, other)
    opened = read("conditions", other.doctor.headers)
    assert opened.status_code == 200, opened.text
    assert [c["id"] for c in opened.json()["data"]] == [written["conditions"]]
    me_world.poll(lambda: [r for r in rw.read_rows(patient, "condition.read") if str(r[1]) == other.legal_entity_id])

    # the vaccination certificate of the immunization: verifies offline with the published keys, not once altered
    issued = api.get(f"/api/patients/{patient.id}/vaccination_certificate")
    assert issued.status_code == 200, issued.text
    hc1 = issued.json()["data"]["certificate"]
    keys = httpx.get(f"{server}/api/vaccination_certificates/keys").json()["data"]
    verified = certificate.verify(hc1, keys)
    assert verified.hcert["v"][0]["ci"].endswith(uuid.UUID(written["immunizations"]).hex.upper())
    altered = hc1[:-5] + ("0" if hc1[-5] != "0" else "1") + hc1[-4:]
    with pytest.raises(certificate.CertificateInvalid):
        certificate.verify(altered, keys)
