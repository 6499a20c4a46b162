"""How long does verifying a signed document take when its certificate was already checked?

    python bench/signatures_verify.py [--n 2000]

Prints, per verification of a ~1.5 KB prescription JSON signed with ECDSA P-256 (CAdES-BES):
  ecdsa verify     - cryptography's ECDSA check of the signed attributes alone
  signature math   - pyhanko's integrity check: content digest, signed attributes, signing-certificate-v2
                     binding and the ECDSA check (what every signature needs, cached certificate or not)
  cache hit        - verify_cms with the certificate in the per-process cache (the common case)
  cache hit (svc)  - the same through verify_signed_document(conn=None, settings=...)
  cache miss       - full chain + CRL revocation validation (first signature of a certificate)
Nothing here touches the network or the database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms
from asn1crypto import x509 as asn1x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.validation.generic_cms import extract_certs_for_validation, validate_sig_integrity

from esoz.settings import Settings
from esoz.signatures import devpki, service
from esoz.signatures.cache import MemoryCertCache, NoCache
from esoz.signatures.revocation import StaticRevocation
from esoz.signatures.service import verify_cms, verify_signed_document
from esoz.signatures.signing import async_sign
from esoz.signatures.trust import TrustStore
from esoz.signatures.verifier import VerifyContext, _digest_fn

DER = serialization.Encoding.DER


def payload() -> bytes:
    item = {"inn": "Метформін", "dosage": "500 мг", "qty": 60, "instruction": "по 1 таблетці двічі на день"}
    doc = {
        "id": "0195a4e4-2f0a-7c5e-9d3b-4a1f2e3d4c5b",
        "status": "NEW",
        "person": {"id": "0195a4e4-0000-7000-8000-000000000001", "first_name": "Тарас", "last_name": "Шевченко"},
        "employee": {"id": "0195a4e4-0000-7000-8000-000000000002", "tax_id": "3012345678"},
        "medication_request": [dict(item, n=i) for i in range(8)],
        "created_at": "2026-11-26T10:00:00Z",
    }
    return json.dumps(doc, ensure_ascii=False).encode()


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - t)
    return samples


def report(name: str, samples: list[float]) -> None:
    us = sorted(s * 1e6 for s in samples)
    p50, p99 = us[len(us) // 2], us[int(len(us) * 0.99)]
    print(f"{name:<16} n={len(us):>5}  mean {statistics.fmean(us):8.1f} µs  p50 {p50:8.1f} µs  p99 {p99:8.1f} µs")


async def main(n: int) -> None:
    ca = devpki.make_ca("bench QTSP")
    doctor = devpki.issue_cert(ca, name="Петренко Олена Іванівна", tax_id="3012345678")
    content = payload()
    der = await async_sign(content, doctor.cert, doctor.key)
    b64 = base64.b64encode(der).decode()
    trust = TrustStore.from_certs([asn1x509.Certificate.load(ca.cert.public_bytes(DER))])
    revocation = StaticRevocation(crls=[devpki.make_crl(ca, {}).public_bytes(DER)])
    print(f"content {len(content)} B, CMS {len(der)} B, base64 {len(b64)} B")

    sd = cms.ContentInfo.load(der)["content"]
    si, cert = sd["signer_infos"][0], extract_certs_for_validation(sd).signer_cert

    public_key = doctor.cert.public_key()
    signed_attrs = si["signed_attrs"].untag().dump()
    signature = si["signature"].native

    async def ecdsa() -> None:
        public_key.verify(signature, signed_attrs, ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr,call-arg]

    async def math() -> None:
        intact, valid = validate_sig_integrity(si, cert, "data", _digest_fn(content)("sha256"))
        assert intact and valid

    warm = MemoryCertCache()

    def ctx(cache: object) -> VerifyContext:
        return VerifyContext(trust=trust, revocation=revocation, cache=cache, now=datetime.now(UTC))  # type: ignore[arg-type]

    async def hit() -> None:
        doc = await verify_cms(b64, ctx(warm))
        assert doc.signatures[0].cache_hit

    async def miss() -> None:
        await verify_cms(b64, ctx(NoCache()))

    await verify_cms(b64, ctx(warm))  # warm the cache
    report("ecdsa verify", await timed(ecdsa, n))
    report("signature math", await timed(math, n))
    report("cache hit", await timed(hit, n))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "ca.pem").write_bytes(ca.cert_pem)
        settings = Settings(env="prod", signatures_trust_paths=[folder / "ca.pem"], data_dir=folder)
        # conn=None: no database; prime the per-process cache layer the service consults first
        service._memory_cache.remember_until(
            hashlib.sha256(cert.dump()).digest(), service.trust_store_for(settings).key, time.monotonic() + 3600
        )

        async def svc() -> None:
            doc = await verify_signed_document(None, b64, settings=settings)
            assert doc.signatures[0].cache_hit

        report("cache hit (svc)", await timed(svc, n))
    report("cache miss", await timed(miss, max(50, n // 20)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    asyncio.run(main(parser.parse_args().n))
