"""Database-backed parts: the CRL store, the verified-certificate cache, the CMS store, and the
service entry point wired from settings (real PostgreSQL via the `db_url`/`pg` fixtures)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from sigfixtures import CONTENT, DOCTOR_NAME, DOCTOR_TAX_ID, Pki, asn1, days, sign_b64
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core.db import make_engine
from esoz.core.errors import ApiError
from esoz.settings import Settings
from esoz.signatures import devpki
from esoz.signatures.cache import DbCertCache, MemoryCertCache
from esoz.signatures.devpki import DevPki
from esoz.signatures.jobs import jobs, refresh_crls_job, refresh_crls_with_engine
from esoz.signatures.revocation import StoredRevocation, refresh_crls
from esoz.signatures.service import verify_cms, verify_signed_document
from esoz.signatures.signer_checks import check_content, check_signer_drfo
from esoz.signatures.storage import default_store, store_signed_content
from esoz.signatures.trust import TrustStore


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[AsyncConnection]:
    engine = make_engine(db_url, 2)
    async with engine.connect() as c:
        yield await c.execution_options(isolation_level="AUTOCOMMIT")
    await engine.dispose()


def _count(pg: psycopg.Connection, table: str) -> int:
    row = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return row[0]


async def test_crl_from_the_database_is_evidence(conn: AsyncConnection, pki: Pki, tmp_path: Path) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID)
    revoked = devpki.issue_cert(pki.ca, name="Коваль Іван", tax_id="2012345670")
    crl_file = tmp_path / "qtsp.crl"
    crl_file.write_bytes(pki.crl({revoked.cert.serial_number: datetime.now(UTC) - days(1)}))
    assert await refresh_crls(conn, pki.trust, urls=[], hosts=[], files=[crl_file]) == 1

    revocation = StoredRevocation(conn=conn)
    doc = await verify_cms(await sign_b64(CONTENT, doctor), pki.ctx(revocation))
    assert doc.signer is not None and doc.signer.drfo == DOCTOR_TAX_ID
    with pytest.raises(ApiError) as info:
        await verify_cms(await sign_b64(CONTENT, revoked), pki.ctx(revocation))
    assert info.value.reason == "revoked"  # type: ignore[attr-defined]


async def test_crl_of_an_untrusted_issuer_is_not_stored(
    conn: AsyncConnection, pki: Pki, tmp_path: Path, pg: psycopg.Connection
) -> None:
    before = _count(pg, "signature_crls")
    forged = tmp_path / "forged.crl"
    forged.write_bytes(pki.crl(ca=pki.other_ca))
    junk = tmp_path / "junk.crl"
    junk.write_bytes(b"not a crl")
    assert await refresh_crls(conn, pki.trust, urls=["http://127.0.0.1:9/crl"], hosts=[], files=[forged, junk]) == 0
    assert _count(pg, "signature_crls") == before


async def test_verified_certificate_is_shared_through_the_table(
    conn: AsyncConnection, pki: Pki, pg: psycopg.Connection
) -> None:
    doctor = devpki.issue_cert(pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID)
    signed = await sign_b64(CONTENT, doctor)
    first = await verify_cms(signed, pki.ctx(cache=DbCertCache(conn, MemoryCertCache(), 1800)))
    assert not first.signatures[0].cache_hit
    row = pg.execute(
        "SELECT expires_at - checked_at FROM signature_cert_checks WHERE cert_sha256 = %s",
        (first.signatures[0].cert_sha256,),
    ).fetchone()
    assert row is not None and row[0].total_seconds() == 1800
    # another worker (empty memory layer) gets the hit from the table
    second = await verify_cms(signed, pki.ctx(cache=DbCertCache(conn, MemoryCertCache(), 1800)))
    assert second.signatures[0].cache_hit


@pytest.fixture
def dev_settings(tmp_path: Path, db_url: str) -> Settings:
    DevPki.init(tmp_path / "pki")
    return Settings(env="dev", database_url=db_url, data_dir=tmp_path, log_level="WARNING")


async def test_end_to_end_with_settings_and_storage(
    conn: AsyncConnection, dev_settings: Settings, pg: psycopg.Connection
) -> None:
    pki = DevPki.load(dev_settings.data_dir / "pki")
    _, _, doctor = pki.issue(tax_id=DOCTOR_TAX_ID, name=DOCTOR_NAME, ocsp_url="http://127.0.0.1:8000/dev/ocsp")
    signed = await sign_b64(CONTENT, doctor)

    doc = await verify_signed_document(conn, signed, settings=dev_settings)  # dev OCSP answered in-process
    check_signer_drfo(doc.signer, DOCTOR_TAX_ID)
    check_content(doc.content, {"id": "9b1c", "status": "NEW", "medication_request": {"qty": 60, "inn": "Метформін"}})
    entity_id = uuid.uuid4()
    row_id = await store_signed_content(conn, doc, entity_type="medication_request_request", entity_id=entity_id)

    [stored] = await default_store.list_for(conn, entity_type="medication_request_request", entity_id=entity_id)
    assert stored.id == row_id and stored.cms == doc.cms_der
    assert stored.signers[0]["drfo"] == DOCTOR_TAX_ID
    row = pg.execute("SELECT content_sha256 FROM signed_contents WHERE id = %s", (row_id,)).fetchone()
    assert row is not None and len(row[0]) == 32


async def test_crl_job_imports_the_dev_crl(
    conn: AsyncConnection, dev_settings: Settings, pg: psycopg.Connection
) -> None:
    before = _count(pg, "signature_crls")
    assert await refresh_crls_job(conn, dev_settings) == 1
    assert await refresh_crls_job(conn, dev_settings) == 0  # the same CRL is not stored twice
    assert _count(pg, "signature_crls") == before + 1


async def test_rejected_signature_writes_nothing(
    conn: AsyncConnection, dev_settings: Settings, pki: Pki, pg: psycopg.Connection
) -> None:
    counts = {t: _count(pg, t) for t in ("signed_contents", "signature_cert_checks", "signature_crls")}
    rogue = devpki.issue_cert(pki.other_ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID)  # not the dev CA
    for bad in ("not base64!", await sign_b64(CONTENT, rogue)):
        with pytest.raises(ApiError) as info:
            await verify_signed_document(conn, bad, settings=dev_settings)
        assert info.value.status in (400, 422)
    assert {t: _count(pg, t) for t in counts} == counts


def test_trust_store_from_a_folder_of_pem_and_der(tmp_path: Path, pki: Pki) -> None:
    (tmp_path / "a.pem").write_bytes(pki.ca.cert_pem + pki.other_ca.cert_pem)
    (tmp_path / "b.cer").write_bytes(pki.ca.cert.public_bytes(serialization.Encoding.DER))
    (tmp_path / "notes.txt").write_text("ignored")
    store = TrustStore.from_paths([tmp_path])
    assert len(store.anchors) == 2
    assert store.key == TrustStore.from_certs([asn1(pki.other_ca), asn1(pki.ca)]).key


async def test_worker_job_refreshes_with_its_own_transactions(db_url: str, tmp_path: Path) -> None:
    DevPki.init(tmp_path / "pki")  # a new CA, so its CRL is not stored yet
    settings = Settings(env="dev", database_url=db_url, data_dir=tmp_path, log_level="WARNING")
    [job] = jobs(settings)
    assert job.name == "signatures.refresh_crls" and job.run_with_engine is not None
    engine = make_engine(db_url, 1)
    try:
        assert await refresh_crls_with_engine(engine, settings) == 1
        assert await job.run_with_engine(engine) == 0
    finally:
        await engine.dispose()
