"""Identity tables: users, roles, OAuth clients and MIS connections, tokens, factors, codes, limits.

Secrets never sit in the clear: passwords are Argon2id hashes, token/secret/code values are SHA-256
digests of high-entropy random strings (a slow hash adds nothing there), and the plain value is shown
once, when issued.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from esoz.core.db import metadata


def _ts(name: str = "inserted_at") -> Column[datetime]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("email", Text, nullable=False),
    Column("party_id", UUID(as_uuid=True), ForeignKey("parties.id"), index=True),
    Column("tax_id", Text),
    Column("password_hash", Text, nullable=False),
    Column("password_set_at", DateTime(timezone=True), nullable=False),
    Column("is_blocked", Boolean, nullable=False, server_default=text("false")),
    Column("block_reason", Text),
    # wrong second-factor codes in a row (USER_OTP_ERROR_MAX blocks the user)
    Column("otp_error_counter", Integer, nullable=False, server_default=text("0")),
    Column("settings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _ts(),
    _ts("updated_at"),
    Index("uq_users_email", func.lower(text("email")), unique=True),
)

password_history = Table(
    "password_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("password_hash", Text, nullable=False),
    _ts(),
)

# Failed password logins: the per-account lock and the per-IP stuffing guard count these in a
# sliding window; a success deletes the account's rows (the real system clears login_hstr).
# `account` is the digest of the lower-cased e-mail, so unknown e-mails lock exactly like known ones.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("account", Text, nullable=False),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE")),
    Column("ip", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_account_at", "account", "at"),
    Index("ix_login_failures_ip_at", "ip", "at"),
)

# An OAuth client. For MSP/pharmacy legal entities client.id = legal_entity.id (as in the real system).
clients = Table(
    "clients",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("client_type", Text, nullable=False),
    Column("legal_entity_id", UUID(as_uuid=True), ForeignKey("legal_entities.id"), index=True),
    Column("is_blocked", Boolean, nullable=False, server_default=text("false")),
    Column("block_reason", Text),
    _ts(),
)

# A MIS (consumer) connected to a client (legal entity): its secret authenticates the MIS backend.
connections = Table(
    "connections",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("client_id", UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("consumer_id", UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("secret_hash", Text, nullable=False),
    Column("redirect_uri", Text, nullable=False),
    _ts(),
    Index("uq_connections_client_consumer", "client_id", "consumer_id", unique=True),
)

# A role per legal entity (client); client_id NULL = a global role (e.g. NHS ADMIN).
user_roles = Table(
    "user_roles",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", Text, nullable=False),
    Column("client_id", UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE")),
    _ts(),
    Index(
        "uq_user_roles_user_role_client",
        "user_id",
        "role",
        text("coalesce(client_id, '00000000-0000-0000-0000-000000000000'::uuid)"),
        unique=True,
    ),
)

# The user's approval of a client (consent), with the scopes granted.
apps = Table(
    "apps",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("scope", Text, nullable=False),
    _ts(),
    _ts("updated_at"),
    Index("uq_apps_user_client", "user_id", "client_id", unique=True),
)

# Every token kind in one table, as the real system: access_token, refresh_token, authorization_code,
# 2fa_access_token, change_password_token. `family_id` ties a code to the tokens it produced and every
# rotated refresh token to its predecessors, so a replay revokes the whole family.
tokens = Table(
    "tokens",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("value_hash", Text, nullable=False, unique=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", UUID(as_uuid=True), ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("mis_client_id", UUID(as_uuid=True)),
    Column("scope", Text, nullable=False, server_default=text("''")),
    Column("family_id", UUID(as_uuid=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),  # idle timeout of access tokens (updated ≤ once a minute)
    Column("revoked_at", DateTime(timezone=True)),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _ts(),
    Index("ix_tokens_live", "user_id", "client_id", "name", postgresql_where=text("revoked_at IS NULL")),
    Index("ix_tokens_family", "family_id"),
)

authentication_factors = Table(
    "authentication_factors",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("type", Text, nullable=False),  # SMS | TOTP
    Column("factor", Text),  # phone for SMS; the base32 secret for TOTP
    Column("is_active", Boolean, nullable=False, server_default=text("false")),
    # TOTP replay guard: the last accepted time step; a code of that step or earlier is refused
    Column("last_timecode", BigInteger),
    _ts(),
    Index("uq_authentication_factors_user_type", "user_id", "type", unique=True),
)

# SMS codes, bound to the session token they were sent for (`token_id`) or to a factor being approved.
otps = Table(
    "otps",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", Text, nullable=False),  # login | factor
    Column("token_id", UUID(as_uuid=True)),  # the session token the code was sent for
    Column("phone", Text, nullable=False),
    Column("code_hash", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("status", Text, nullable=False, server_default=text("'NEW'")),
    _ts(),
    Index("ix_otps_user_inserted", "user_id", "inserted_at"),
)

credentials_recovery_requests = Table(
    "credentials_recovery_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    _ts(),
)
