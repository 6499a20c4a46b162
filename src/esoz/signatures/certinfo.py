"""Who signed: the holder's identity as the real system reports it (`signer` of a signature)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from asn1crypto import core, x509

from esoz.signatures import oids


@dataclass(frozen=True)
class Signer:
    """Fields follow the real DS API's `signer` object, plus certificate facts we keep for audit."""

    common_name: str | None
    given_name: str | None
    surname: str | None
    title: str | None
    country_name: str | None
    locality_name: str | None
    organization_name: str | None
    organizational_unit_name: str | None
    drfo: str | None
    edrpou: str | None
    serial_number: str  # certificate serial, upper-case hex
    issuer: str
    not_before: datetime
    not_after: datetime
    is_stamp: bool

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["not_before"] = self.not_before.isoformat()
        data["not_after"] = self.not_after.isoformat()
        return data


def _name_attr(name: x509.Name, key: str) -> str | None:
    values = name.native.get(key)
    if values is None:
        return None
    if isinstance(values, list):  # multi-valued RDNs: keep the first, as the real system does
        values = values[0] if values else None
    return str(values) if values is not None else None


def _string_value(value: core.Asn1Value) -> str | None:
    """A DirectoryString-ish value of an unknown attribute, whatever string type the QTSP chose."""
    try:
        parsed = core.Asn1Value.load(value.dump())
        native = parsed.native
    except (ValueError, TypeError, RecursionError):
        return None
    if isinstance(native, bytes):
        try:
            return native.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return native if isinstance(native, str) else None


def directory_attributes(cert: x509.Certificate) -> dict[str, str]:
    """OID -> first string value of the subjectDirectoryAttributes extension (DRFO, EDRPOU, UNZR...)."""
    result: dict[str, str] = {}
    for ext in cert["tbs_certificate"]["extensions"]:
        if ext["extn_id"].dotted != oids.SUBJECT_DIRECTORY_ATTRIBUTES:
            continue
        try:
            attrs = ext["extn_value"].parsed
            for attr in attrs:
                oid = attr["type"].dotted
                values = attr["values"]
                # Unknown types are parsed as a plain SET OF ANY: read the first member.
                parsed_values = values.parsed if hasattr(values, "parsed") else values
                for item in parsed_values:
                    text = _string_value(item)
                    if text is not None:
                        result.setdefault(oid, text.strip())
                        break
        except (ValueError, TypeError, KeyError, RecursionError):
            continue  # a malformed extension yields no identity, and the DRFO check then fails
    return result


def signer_from_certificate(cert: x509.Certificate) -> Signer:
    # The same doctors sign all day: parse each certificate's identity once per process.
    return _signer_from_der(cert.dump())


@lru_cache(maxsize=4096)
def _signer_from_der(der: bytes) -> Signer:
    cert = x509.Certificate.load(der)
    subject = cert.subject
    attrs = directory_attributes(cert)
    drfo = attrs.get(oids.DRFO)
    edrpou = attrs.get(oids.EDRPOU)
    validity = cert["tbs_certificate"]["validity"]
    return Signer(
        common_name=_name_attr(subject, "common_name"),
        given_name=_name_attr(subject, "given_name"),
        surname=_name_attr(subject, "surname"),
        title=_name_attr(subject, "title"),
        country_name=_name_attr(subject, "country_name"),
        locality_name=_name_attr(subject, "locality_name"),
        organization_name=_name_attr(subject, "organization_name"),
        organizational_unit_name=_name_attr(subject, "organizational_unit_name"),
        drfo=drfo,
        edrpou=edrpou,
        serial_number=format(cert.serial_number, "X"),
        issuer=cert.issuer.human_friendly,
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        # An organisation seal ("stamp") carries the EDRPOU but no natural person's DRFO.
        is_stamp=drfo is None and edrpou is not None,
    )
