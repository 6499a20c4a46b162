"""A refused signature says what was wrong in esoz's own words: no library exception class or message ever
reaches an error body (they describe the server's internals, not the caller's input)."""

import asyncio
import base64
import random
import re
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from sigfixtures import CONTENT, Pki, sign_b64

from esoz.core.errors import ApiError
from esoz.signatures import errors
from esoz.signatures.cache import MemoryCertCache
from esoz.signatures.devpki import DevPki, Issued, issue_cert
from esoz.signatures.service import verify_cms

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_factories import created, legal_entity_body, person_body

# A Python exception class as it would appear in a body: ValueError, asn1crypto's ..., pyhanko's ...Error.
CLASS_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:Error|Exception|Failure|Warning|Indeterminate)\b|\bNoneType\b")
ESOZ_DETAILS = {value for name, value in vars(errors).items() if name.startswith("DETAIL_")}


def _descriptions(body: dict) -> list[str]:
    return [rule["description"] for entry in body.get("invalid") or [] for rule in entry["rules"]]


async def _garbage(signer: Issued) -> list[bytes]:
    good = base64.b64decode(await sign_b64(CONTENT, signer))
    return [
        b"\x30\x82garbage that is no CMS at all",
        b"hello",
        good[: len(good) // 2],
        good[:40] + b"\xff" * 40 + good[80:],
        b"\x30\x80" * 1000,
    ]


@pytest.fixture
def patient_url(server: str, nhs_headers: dict[str, str]) -> str:
    with httpx.Client(base_url=server, headers=nhs_headers, timeout=30) as api:
        person = created(api.post("/admin/persons", json={"person": person_body()}))
    return f"/api/patients/{person['id']}/service_requests"


@pytest.fixture
def clinic_headers(server: str, nhs_headers: dict[str, str], headers_for: Callable[..., dict[str, str]]) -> dict:
    with httpx.Client(base_url=server, headers=nhs_headers, timeout=30) as api:
        le = created(api.post("/admin/legal_entities", json=legal_entity_body("PRIMARY_CARE")))
    return headers_for(uuid.UUID(le["id"]))


def test_malformed_cms_over_http_names_no_exception(
    client: httpx.Client, patient_url: str, clinic_headers: dict, dev_pki: DevPki
) -> None:
    doctor = issue_cert(dev_pki.ca, name="Петренко Олена Іванівна", tax_id="3012345678", edrpou="38782323")
    refused_container = 0
    for blob in asyncio.run(_garbage(doctor)):
        response = client.post(
            patient_url, json={"signed_data": base64.b64encode(blob).decode()}, headers=clinic_headers
        )
        assert response.status_code in (400, 422), response.text
        error = response.json()["error"]
        assert not CLASS_NAME.search(orjson.dumps(error).decode()), error
        if response.status_code == 400:
            assert error["message"] == errors.CONTAINER
            assert _descriptions(error) == [errors.DETAIL_CONTAINER]
            refused_container += 1
    assert refused_container >= 3


async def test_no_rejection_carries_a_library_message(pki: Pki) -> None:
    """Seeded mutations of a good CMS reach every layer (container, certificates, signature, chain): each refusal
    says esoz's own text."""
    good = base64.b64decode(await sign_b64(CONTENT, pki.doctor))
    cache = MemoryCertCache()
    rnd = random.Random(14)
    seen: set[str] = set()
    for i in range(300):
        mutated = bytearray(good)
        for _ in range(rnd.randint(1, 4)):
            mutated[rnd.randrange(len(mutated))] = rnd.randrange(256)
        if rnd.random() < 0.2:
            mutated = mutated[: rnd.randrange(len(mutated))]
        try:
            await verify_cms(base64.b64encode(bytes(mutated)).decode(), pki.ctx(cache=cache if i % 2 else None))
        except ApiError as err:
            body = err.body()
            assert not CLASS_NAME.search(orjson.dumps(body).decode()), body
            if err.status == 400:
                seen.update(_descriptions(body))
    assert errors.DETAIL_CONTAINER in seen
    assert seen & ESOZ_DETAILS
