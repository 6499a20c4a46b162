"""`esoz pki init|issue`, `esoz sign` and the dev OCSP route, end to end (openssl where present)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import typer
import uvicorn
from asn1crypto import x509 as asn1x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from fastapi import FastAPI
from sigfixtures import CONTENT
from tests.processes import free_port
from typer.testing import CliRunner

from esoz.settings import Settings
from esoz.signatures.api import router
from esoz.signatures.cli import pki_app, sign
from esoz.signatures.devpki import DevPki
from esoz.signatures.revocation import StoredRevocation
from esoz.signatures.service import dev_responder_for, trust_store_for, verify_cms

app = typer.Typer()
app.add_typer(pki_app, name="pki")
app.command("sign")(sign)
app.command("noop", hidden=True)(lambda: None)  # keep `sign` a sub-command, as under `esoz`

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("pki")
    runner = CliRunner()
    result = runner.invoke(app, ["pki", "init", "--dir", str(root)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        ["pki", "issue", "--dir", str(root), "--tax-id", "3012345678", "--name", "Петренко Олена Іванівна",
         "--edrpou", "38782323", "--out", str(root / "out")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cert, key = root / "out" / "3012345678.pem", root / "out" / "3012345678.key.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    doc = root / "draft.json"
    doc.write_bytes(CONTENT)
    result = runner.invoke(app, ["sign", str(doc), "--cert", str(cert), "--key", str(key)])
    assert result.exit_code == 0, result.output
    return SimpleNamespace(root=root, cert=cert, key=key, doc=doc, b64=result.output.strip())


async def test_signed_with_esoz_sign_verifies_via_the_dev_ca(issued: SimpleNamespace, pki) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(env="dev", signatures_pki_dir=issued.root, data_dir=issued.root)
    ctx = pki.ctx(
        StoredRevocation(conn=None, dev_responder=dev_responder_for(settings)), trust=trust_store_for(settings)
    )
    doc = await verify_cms(issued.b64, ctx)
    assert doc.signer.drfo == "3012345678" and doc.signer.edrpou == "38782323"
    assert doc.content["medication_request"]["qty"] == 60


def test_prod_never_trusts_the_dev_ca(issued: SimpleNamespace) -> None:
    settings = Settings(env="prod", signatures_pki_dir=issued.root, signatures_trust_dev_ca=True)
    assert trust_store_for(settings).anchors == ()
    assert dev_responder_for(settings) is None


@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
def test_openssl_cms_verify_accepts_esoz_sign_output(issued: SimpleNamespace, tmp_path: Path) -> None:
    sig = tmp_path / "doc.p7s"
    sig.write_bytes(base64.b64decode(issued.b64))
    out = subprocess.run(
        [OPENSSL, "cms", "-verify", "-inform", "DER", "-in", str(sig), "-CAfile", str(issued.root / "ca.pem")],
        capture_output=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == CONTENT
    assert b"Verification successful" in out.stderr


@pytest.fixture(scope="module")
def ocsp_server(issued: SimpleNamespace) -> Iterator[str]:
    web = FastAPI()
    web.include_router(router)
    web.state.settings = Settings(env="dev", signatures_pki_dir=issued.root)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _request(issued: SimpleNamespace) -> bytes:
    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    ca = x509.load_pem_x509_certificate((issued.root / "ca.pem").read_bytes())
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, ca, hashes.SHA1()).build()
    return req.public_bytes(serialization.Encoding.DER)


def test_dev_ocsp_route_answers_good_then_revoked(issued: SimpleNamespace, ocsp_server: str) -> None:
    body = _request(issued)
    resp = httpx.post(f"{ocsp_server}/dev/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"})
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/ocsp-response"
    answer = ocsp.load_der_ocsp_response(resp.content)
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD

    get = httpx.get(f"{ocsp_server}/dev/ocsp/{base64.b64encode(body).decode()}")
    assert ocsp.load_der_ocsp_response(get.content).certificate_status == ocsp.OCSPCertStatus.GOOD

    garbage = httpx.post(f"{ocsp_server}/dev/ocsp", content=b"garbage")
    assert ocsp.load_der_ocsp_response(garbage.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
def test_openssl_ocsp_client_against_the_dev_route(issued: SimpleNamespace, ocsp_server: str) -> None:
    out = subprocess.run(
        [OPENSSL, "ocsp", "-issuer", str(issued.root / "ca.pem"), "-cert", str(issued.cert),
         "-url", f"{ocsp_server}/dev/ocsp", "-CAfile", str(issued.root / "ca.pem")],
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr.decode()
    assert b": good" in out.stdout
    assert b"Response verify OK" in out.stderr


def test_dev_ocsp_route_is_absent_in_prod(issued: SimpleNamespace) -> None:
    web = FastAPI()
    web.include_router(router)
    web.state.settings = Settings(env="prod", signatures_pki_dir=issued.root)

    from esoz.core.errors import ApiError

    @web.exception_handler(ApiError)
    async def _render(request, exc: ApiError):  # type: ignore[no-untyped-def]
        from fastapi.responses import JSONResponse

        return JSONResponse({"error": exc.body()}, status_code=exc.status)

    transport = httpx.ASGITransport(app=web)

    async def call() -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.post("/dev/ocsp", content=_request(issued))).status_code

    import asyncio

    assert asyncio.run(call()) == 404


def test_dev_ca_cert_parses_with_asn1crypto(issued: SimpleNamespace) -> None:
    cert = asn1x509.Certificate.load(
        x509.load_pem_x509_certificate((issued.root / "ca.pem").read_bytes()).public_bytes(serialization.Encoding.DER)
    )
    assert cert.ca and DevPki.exists(issued.root)


def test_demo_credentials_are_issued_once(tmp_path: Path) -> None:
    pki = DevPki.init(tmp_path / "pki")
    people = [("3012345678", "Петренко Олена Іванівна", "38782323"), ("ЯЯ999998", "Коваль Іван", None)]
    first = pki.ensure_demo_credentials(people)
    again = pki.ensure_demo_credentials(people)
    assert first == again and set(first) == {"3012345678", "ЯЯ999998"}
    cert = x509.load_pem_x509_certificate(Path(first["3012345678"]["cert"]).read_bytes())
    assert cert.issuer == pki.ca.cert.subject
