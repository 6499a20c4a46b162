"""`esoz pki init|issue|refresh-crls` and `esoz sign` (mounted by esoz.cli)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, get_args

import typer

from esoz.settings import get_settings
from esoz.signatures.devpki import DevPki, KeyAlgorithm, Usage, load_issued
from esoz.signatures.signing import async_sign

pki_app = typer.Typer(help="Development PKI: a CA, an OCSP responder, a CRL and signing certificates.")

DirOption = Annotated[Path | None, typer.Option("--dir", help="PKI folder (default: ESOZ_DATA_DIR/pki)")]


def _pki_dir(folder: Path | None) -> Path:
    if folder is not None:
        return folder
    from esoz.signatures.service import pki_dir

    return pki_dir(get_settings())


@pki_app.command("init")
def init(
    folder: DirOption = None,
    alg: Annotated[str, typer.Option(help="ec-p256 | ec-p384 | rsa")] = "ec-p256",
    force: Annotated[bool, typer.Option("--force", help="replace an existing CA")] = False,
) -> None:
    """Create the dev CA, its OCSP responder certificate and an empty CRL."""
    target = _pki_dir(folder)
    existed = DevPki.exists(target)
    pki = DevPki.init(target, alg=_alg(alg), force=force)
    state = "kept existing" if existed and not force else "created"
    typer.echo(f"{state} dev CA {pki.folder / 'ca.pem'}; OCSP responder {pki.folder / 'ocsp.pem'}; CRL {pki.crl_path}")


@pki_app.command("issue")
def issue(
    tax_id: Annotated[str, typer.Option("--tax-id", help="РНОКПП or passport series+number (DRFO attribute)")],
    name: Annotated[str, typer.Option("--name", help="full name: 'Прізвище Ім'я По батькові'")],
    edrpou: Annotated[str | None, typer.Option("--edrpou", help="employer's EDRPOU")] = None,
    organization: Annotated[str | None, typer.Option("--organization")] = None,
    ocsp_url: Annotated[str | None, typer.Option("--ocsp-url", help="AIA OCSP URL (default: esoz's /dev/ocsp)")] = None,
    alg: Annotated[str, typer.Option(help="ec-p256 | ec-p384 | rsa")] = "ec-p256",
    usage: Annotated[str, typer.Option(help="signing | key_agreement | stamp")] = "signing",
    out: Annotated[Path | None, typer.Option("--out", help="folder for the cert and key")] = None,
    folder: DirOption = None,
) -> None:
    """Issue a signing certificate carrying the Ukrainian DRFO attribute; prints the cert and key paths."""
    target = _pki_dir(folder)
    if not DevPki.exists(target):
        raise typer.BadParameter(f"no dev PKI in {target}; run `esoz pki init` first")
    key_usage = _usage(usage)
    settings = get_settings()
    url = ocsp_url or f"http://{settings.host}:{settings.port}/dev/ocsp"
    cert_path, key_path, issued = DevPki.load(target).issue(
        tax_id=tax_id,
        name=name,
        edrpou=edrpou,
        organization=organization,
        ocsp_url=url,
        alg=_alg(alg),
        usage=key_usage,
        out_dir=out,
    )
    typer.echo(f"cert {cert_path}\nkey {key_path}\nserial {issued.cert.serial_number:X}")


@pki_app.command("refresh-crls")
def refresh_crls() -> None:
    """Download allowlisted CRLs (ESOZ_SIGNATURES_CRL_URLS) and import local ones into the database."""
    from esoz.core.embedded import database_url
    from esoz.signatures.jobs import refresh_crls_once

    settings = get_settings()
    with database_url(settings.database_url, settings.pg_data_dir) as url:
        stored = asyncio.run(refresh_crls_once(url, settings))
    typer.echo(f"stored {stored} CRL(s)")


def sign(
    file: Annotated[Path, typer.Argument(help="the JSON to sign, exactly as the API returned it")],
    cert: Annotated[Path, typer.Option("--cert", help="signer certificate (PEM)")],
    key: Annotated[Path, typer.Option("--key", help="signer private key (PEM, unencrypted)")],
    chain: Annotated[list[Path] | None, typer.Option("--chain", help="extra certificates to embed")] = None,
) -> None:
    """Print the base64 CMS (CAdES-BES, content attached) an MIS would send as `signed_data`."""
    import base64

    from cryptography import x509

    issued = load_issued(cert, key)
    extra = [x509.load_pem_x509_certificate(p.read_bytes()) for p in chain or []]
    der = asyncio.run(async_sign(file.read_bytes(), issued.cert, issued.key, chain=extra))
    typer.echo(base64.b64encode(der).decode("ascii"))


# typer takes the choices as plain strings; these turn them into the Literal types of devpki
_ALGORITHMS: tuple[KeyAlgorithm, ...] = get_args(KeyAlgorithm)
_USAGES: tuple[Usage, ...] = get_args(Usage)


def _alg(value: str) -> KeyAlgorithm:
    for alg in _ALGORITHMS:
        if alg == value:
            return alg
    raise typer.BadParameter("alg must be ec-p256, ec-p384 or rsa")


def _usage(value: str) -> Usage:
    for usage in _USAGES:
        if usage == value:
            return usage
    raise typer.BadParameter("usage must be signing, key_agreement or stamp")


__all__ = ["Usage", "pki_app", "sign"]
