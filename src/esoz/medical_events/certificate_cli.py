"""`esoz certificate verify` (mounted by esoz.cli): check a vaccination certificate offline against published keys."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from esoz.medical_events import certificate

certificate_app = typer.Typer(help="Vaccination certificates (EU DCC format): offline verification.")


def _keys(source: str) -> list[dict[str, Any]]:
    """The keys of `GET /api/vaccination_certificates/keys` (a URL, or that answer / a JWKS saved as a file)."""
    if source.startswith(("http://", "https://")):
        answer = httpx.get(source, timeout=10)
        answer.raise_for_status()
        raw: Any = answer.json()
    else:
        raw = json.loads(Path(source).read_text(encoding="utf-8"))
    if isinstance(raw, dict):
        raw = raw.get("data", raw.get("keys", raw))
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise typer.BadParameter("no keys found: expected the keys route's answer, a JWKS or a list of keys")
    return [k for k in raw if isinstance(k, dict)]


def _text(value: str) -> str:
    if value == "-":
        return sys.stdin.read().strip()
    if value.startswith(certificate.PREFIX):
        return value.strip()
    return Path(value).read_text(encoding="utf-8").strip()


@certificate_app.command("verify")
def verify(
    value: Annotated[str, typer.Argument(help="the certificate text (HC1:...), a file holding it, or - for stdin")],
    keys: Annotated[
        str,
        typer.Option("--keys", help="URL of GET /api/vaccination_certificates/keys, or that answer saved as a file"),
    ],
) -> None:
    """Check the signature and the expiry with the public keys only; exit code 1 when the certificate is invalid."""
    try:
        found = certificate.verify(_text(value), _keys(keys))
    except certificate.CertificateInvalid as exc:
        typer.echo(f"НЕДІЙСНИЙ: {exc}", err=True)
        raise typer.Exit(1) from exc
    name, entry = found.hcert.get("nam", {}), (found.hcert.get("v") or [{}])[0]
    typer.echo(f"ДІЙСНИЙ: {name.get('fn', '')} {name.get('gn', '')}, дата народження {found.hcert.get('dob', '')}")
    typer.echo(f"доза {entry.get('dn')} з {entry.get('sd')}, {entry.get('dt')}, {entry.get('mp')}")
    typer.echo(f"видавець {found.issuer}, ключ {found.kid}, дійсний до {found.expires_at.date().isoformat()}")
