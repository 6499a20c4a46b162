"""Routes of the vaccination certificate: the patient's certificate (JSON with the QR, and a Ukrainian print form)
and the issuer's public keys, published without authentication so that verifiers work offline."""

import html
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from esoz.core import envelope
from esoz.core.auth import AuthContext
from esoz.core.db import ReadConn
from esoz.core.patient_data import patient_data
from esoz.core.schemas import Envelope
from esoz.medical_events import access, certificate
from esoz.medical_events.read_auth import ImmunizationRead

router = APIRouter(prefix="/api", tags=["vaccination certificate"])

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "forbidden: no active declaration with the patient and no approval of the whole record"},
    404: {"description": "not_found: patient"},
    409: {"description": "request_conflict: the patient has no completed COVID-19 vaccination"},
}


class Vaccination(BaseModel):
    date: str
    vaccine_code: str
    vaccine: str = Field(description="the vaccine's Ukrainian name")


class CertificateOut(BaseModel):
    certificate: str = Field(description="the QR code's text: `HC1:` + base45(zlib(COSE_Sign1(CBOR CWT)))")
    kid: str = Field(description="base64 id of the signing key among GET /api/vaccination_certificates/keys")
    issued_at: str
    expires_at: str
    payload: dict[str, Any] = Field(description="the signed health data (EU DCC HCERT v1.3.0)")
    vaccinations: list[Vaccination] = Field(description="every completed immunization of the patient")
    qr_svg: str = Field(description="the QR code as an SVG image")


class PublicKey(BaseModel):
    kid: str
    alg: str
    jwk: dict[str, str]
    public_key_der: str = Field(description="base64 DER SubjectPublicKeyInfo")


async def _issue(
    conn: AsyncConnection, request: Request, auth: AuthContext, patient_id: uuid.UUID
) -> certificate.VaccinationCertificate:
    """The certificate carries the patient's immunization history, so it is read as the whole record is: by НСЗУ,
    the doctor of the patient's active declaration, or the holder of an approval of the whole record."""
    if not auth.sees_everything and not (await access.reader_of(conn, auth, person_id=patient_id)).whole_record:
        raise access.refused(person_id=patient_id)
    return await certificate.issue(conn, settings=request.app.state.settings, person_id=patient_id)


@router.get(
    "/patients/{patient_id}/vaccination_certificate",
    response_model=Envelope[CertificateOut],
    responses=ERRORS,
    summary="Get the patient's vaccination certificate",
    openapi_extra=patient_data("vaccination_certificate", person="path:patient_id", id="path:patient_id"),
)
async def get_certificate(request: Request, conn: ReadConn, auth: ImmunizationRead, patient_id: uuid.UUID) -> Response:
    """esoz extension (the contract has no certificate): the EU Digital COVID Certificate of the latest COVID-19
    dose, signed by esoz's issuer key (ES256); verify it offline with the keys of
    `GET /api/vaccination_certificates/keys` (`esoz certificate verify`). Readable by the doctor of the patient's
    active declaration, the holder of an approval of the whole record, and НСЗУ."""
    issued = await _issue(conn, request, auth, patient_id)
    data = {
        "certificate": issued.hc1,
        "kid": issued.kid,
        "issued_at": issued.issued_at.isoformat(),
        "expires_at": issued.expires_at.isoformat(),
        "payload": issued.hcert,
        "vaccinations": issued.vaccinations,
        "qr_svg": issued.qr_svg(),
    }
    return envelope.ok(request, data)


@router.get(
    "/patients/{patient_id}/vaccination_certificate/print_form",
    response_class=HTMLResponse,
    responses=ERRORS,
    summary="Print the patient's vaccination certificate",
    openapi_extra=patient_data(
        "vaccination_certificate",
        person="path:patient_id",
        id="path:patient_id",
        action="vaccination_certificate.print",
    ),
)
async def print_certificate(
    request: Request, conn: ReadConn, auth: ImmunizationRead, patient_id: uuid.UUID
) -> Response:
    """The certificate as a Ukrainian HTML page with its QR code, to print or show."""
    issued = await _issue(conn, request, auth, patient_id)
    return HTMLResponse(render_print_form(issued))


@router.get(
    "/vaccination_certificates/keys",
    response_model=Envelope[list[PublicKey]],
    summary="The public keys that vaccination certificates are signed with",
)
async def keys(request: Request) -> Response:
    """Public, no token: what a verifier downloads once to check certificates offline (JWK and DER)."""
    return envelope.ok(request, certificate.public_keys(request.app.state.settings))


def render_print_form(issued: certificate.VaccinationCertificate) -> str:
    name = issued.hcert["nam"]
    entry = issued.hcert["v"][0]
    rows = "".join(
        f"<tr><td>{html.escape(v['date'])}</td><td>{html.escape(v['vaccine'])}</td></tr>" for v in issued.vaccinations
    )
    return f"""<!doctype html>
<html lang="uk"><head><meta charset="utf-8"><title>Сертифікат про вакцинацію</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:1em auto}}td,th{{padding:.2em .6em;text-align:left}}</style>
</head><body>
<h1>Сертифікат про вакцинацію від COVID-19</h1>
<p><b>{html.escape(name["fn"])} {html.escape(name["gn"])}</b> ({html.escape(name["fnt"])} {html.escape(name["gnt"])}),
дата народження {html.escape(issued.hcert["dob"])}</p>
<p>Доза {entry["dn"]} з {entry["sd"]}, дата вакцинації {html.escape(entry["dt"])}.
Ідентифікатор сертифіката: {html.escape(entry["ci"])}</p>
<p>Виданий {issued.issued_at.date().isoformat()}, дійсний до {issued.expires_at.date().isoformat()}.
Видавець: {html.escape(entry["is"])}.</p>
{issued.qr_svg()}
<h2>Щеплення</h2>
<table><tr><th>Дата</th><th>Вакцина</th></tr>{rows}</table>
<p>Справжність перевіряється за QR-кодом і відкритим ключем ЕСОЗ.</p>
</body></html>"""
