"""Revocation sources: nothing named in a certificate is contacted unless allowlisted (security.md 19).

The OCSP responders here are real HTTP servers on loopback, not patched functions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sigfixtures import CONTENT, DOCTOR_NAME, DOCTOR_TAX_ID, Pki, asn1, days, sign_b64

from esoz.core.errors import ApiError
from esoz.signatures import devpki, errors
from esoz.signatures.devpki import DevPki
from esoz.signatures.revocation import StoredRevocation, is_allowed_url
from esoz.signatures.service import verify_cms
from esoz.signatures.trust import TrustStore


class Responder:
    """A loopback HTTP server that counts hits and answers with `answer(request_body)`."""

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.hits += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                data = answer(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/ocsp-response")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ocsp"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dev_pki(tmp_path: Path) -> DevPki:
    return DevPki.init(tmp_path / "pki")


@pytest.fixture
def responder(dev_pki: DevPki) -> Iterator[Responder]:
    r = Responder(dev_pki.respond)
    yield r
    r.close()


def test_url_policy() -> None:
    assert is_allowed_url("http://ocsp.qtsp.ua/services/ocsp/", ["OCSP.qtsp.ua"])
    assert not is_allowed_url("http://ocsp.qtsp.ua.evil.example/", ["ocsp.qtsp.ua"])
    assert not is_allowed_url("http://127.0.0.1:8080/ocsp", [])
    assert not is_allowed_url("http://169.254.169.254/latest/meta-data/", ["169.254.169.254"])  # never
    assert not is_allowed_url("ftp://ocsp.qtsp.ua/", ["ocsp.qtsp.ua"])
    assert not is_allowed_url("http://user:pw@ocsp.qtsp.ua/", ["ocsp.qtsp.ua"])
    assert is_allowed_url("http://127.0.0.1:8080/ocsp", ["127.0.0.1"])  # only when an operator says so


def _trust(pki: DevPki) -> TrustStore:
    return TrustStore.from_certs([asn1(pki.ca)])


async def _verify(b64: str, trust: TrustStore, revocation: StoredRevocation, pki: Pki):  # type: ignore[no-untyped-def]
    return await verify_cms(b64, pki.ctx(revocation, trust=trust))


async def test_loopback_ocsp_url_is_never_contacted(dev_pki: DevPki, responder: Responder, pki: Pki) -> None:
    doctor = devpki.issue_cert(dev_pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url=responder.url)
    signed = await sign_b64(CONTENT, doctor)
    with pytest.raises(ApiError) as info:
        await _verify(signed, _trust(dev_pki), StoredRevocation(conn=None, ocsp_hosts=[]), pki)
    assert (info.value.status, info.value.message) == (400, errors.REVOCATION)
    assert info.value.reason == "no_revocation_info"  # type: ignore[attr-defined]
    assert responder.hits == 0


async def test_metadata_address_is_never_contacted_even_if_allowlisted(dev_pki: DevPki, pki: Pki) -> None:
    calls: list[str] = []

    async def recording_poster(url: str, body: bytes, seconds: float) -> bytes | None:
        calls.append(url)
        return None

    doctor = devpki.issue_cert(
        dev_pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url="http://169.254.169.254/latest/meta-data/"
    )
    revocation = StoredRevocation(conn=None, ocsp_hosts=["169.254.169.254"], poster=recording_poster)
    with pytest.raises(ApiError) as info:
        await _verify(await sign_b64(CONTENT, doctor), _trust(dev_pki), revocation, pki)
    assert info.value.reason == "no_revocation_info"  # type: ignore[attr-defined]
    assert calls == []


async def test_allowlisted_responder_is_asked(dev_pki: DevPki, responder: Responder, pki: Pki) -> None:
    doctor = devpki.issue_cert(dev_pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url=responder.url)
    revocation = StoredRevocation(conn=None, ocsp_hosts=["127.0.0.1"], ocsp_timeout=1.5)
    doc = await _verify(await sign_b64(CONTENT, doctor), _trust(dev_pki), revocation, pki)
    assert doc.signer is not None and doc.signer.drfo == DOCTOR_TAX_ID
    assert responder.hits == 1


async def test_allowlisted_responder_says_revoked(dev_pki: DevPki, responder: Responder, pki: Pki) -> None:
    doctor = devpki.issue_cert(dev_pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url=responder.url)
    dev_pki.revoke(doctor.cert.serial_number, datetime.now(UTC) - days(1))
    revocation = StoredRevocation(conn=None, ocsp_hosts=["127.0.0.1"])
    with pytest.raises(ApiError) as info:
        await _verify(await sign_b64(CONTENT, doctor), _trust(dev_pki), revocation, pki)
    assert info.value.reason == "revoked"  # type: ignore[attr-defined]


async def test_dev_ca_is_answered_in_process(dev_pki: DevPki, responder: Responder, pki: Pki) -> None:
    doctor = devpki.issue_cert(dev_pki.ca, name=DOCTOR_NAME, tax_id=DOCTOR_TAX_ID, ocsp_url=responder.url)

    def dev(cert, request: bytes) -> bytes | None:  # type: ignore[no-untyped-def]
        return dev_pki.respond(request)

    revocation = StoredRevocation(conn=None, ocsp_hosts=[], dev_responder=dev)
    doc = await _verify(await sign_b64(CONTENT, doctor), _trust(dev_pki), revocation, pki)
    assert doc.signer is not None
    assert responder.hits == 0  # no HTTP at all
