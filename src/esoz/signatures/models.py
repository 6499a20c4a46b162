"""Tables of the signatures domain (SQLAlchemy Core)."""

from sqlalchemy import Column, DateTime, Index, LargeBinary, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from esoz.core.db import metadata

# CRLs downloaded by the refresh job (allowlisted hosts only) or imported from files. A refresh inserts a
# new row, so a row id names immutable bytes and parsed CRLs can be cached by id in each process.
signature_crls = Table(
    "signature_crls",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("issuer_name_hash", LargeBinary, nullable=False),  # sha256 of the issuer Name DER
    Column("issuer", Text, nullable=False),
    Column("source", Text, nullable=False),  # URL or file path it came from
    Column("this_update", DateTime(timezone=True), nullable=False),
    Column("next_update", DateTime(timezone=True)),
    Column("der", LargeBinary, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_signature_crls_issuer_name_hash_this_update", signature_crls.c.issuer_name_hash, signature_crls.c.this_update)

# Certificates whose chain, key usage and revocation status were verified recently (the real system
# caches for 30 minutes); `trust_key` names the trust store the check was made against.
signature_cert_checks = Table(
    "signature_cert_checks",
    metadata,
    Column("cert_sha256", LargeBinary, primary_key=True),
    Column("trust_key", Text, primary_key=True),
    Column("checked_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Every accepted CMS, linked to the document it signed (media storage of the real system).
signed_contents = Table(
    "signed_contents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("entity_type", Text, nullable=False),  # e.g. "medication_request_request"
    Column("entity_id", UUID(as_uuid=True), nullable=False),
    Column("cms", LargeBinary, nullable=False),  # DER of the ContentInfo exactly as received
    Column("content_sha256", LargeBinary, nullable=False),
    Column("signers", JSONB, nullable=False),  # [Signer.as_json()], stamps included
    Column("signed_at", DateTime(timezone=True), nullable=False),  # timestamp time, else verification time
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
Index("ix_signed_contents_entity_type_entity_id", signed_contents.c.entity_type, signed_contents.c.entity_id)
