"""Identity: users, password history, login failures, OAuth clients and MIS connections, roles, approvals,
tokens, second factors, SMS codes, credentials recovery, rate-limit counters.

Revision ID: 0003_identity
Revises: 0001_foundation
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_identity"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DDL = [
    """
CREATE TABLE users (
    id UUID NOT NULL,
    email TEXT NOT NULL,
    party_id UUID,
    tax_id TEXT,
    password_hash TEXT NOT NULL,
    password_set_at TIMESTAMP WITH TIME ZONE NOT NULL,
    is_blocked BOOLEAN DEFAULT false NOT NULL,
    block_reason TEXT,
    otp_error_counter INTEGER DEFAULT 0 NOT NULL,
    settings JSONB DEFAULT '{}'::jsonb NOT NULL,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT fk_users_party_id_parties FOREIGN KEY(party_id) REFERENCES parties (id)
)
    """,
    """
CREATE INDEX ix_users_party_id ON users (party_id)
    """,
    """
CREATE UNIQUE INDEX uq_users_email ON users (lower(email))
    """,
    """
CREATE TABLE password_history (
    id BIGSERIAL NOT NULL,
    user_id UUID NOT NULL,
    password_hash TEXT NOT NULL,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_password_history PRIMARY KEY (id),
    CONSTRAINT fk_password_history_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)
    """,
    """
CREATE INDEX ix_password_history_user_id ON password_history (user_id)
    """,
    """
CREATE TABLE login_failures (
    id BIGSERIAL NOT NULL,
    account TEXT NOT NULL,
    user_id UUID,
    ip TEXT,
    at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_login_failures PRIMARY KEY (id),
    CONSTRAINT fk_login_failures_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)
    """,
    """
CREATE INDEX ix_login_failures_ip_at ON login_failures (ip, at)
    """,
    """
CREATE INDEX ix_login_failures_account_at ON login_failures (account, at)
    """,
    """
CREATE TABLE clients (
    id UUID NOT NULL,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    legal_entity_id UUID,
    is_blocked BOOLEAN DEFAULT false NOT NULL,
    block_reason TEXT,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_clients PRIMARY KEY (id),
    CONSTRAINT fk_clients_legal_entity_id_legal_entities FOREIGN KEY(legal_entity_id) REFERENCES legal_entities (id)
)
    """,
    """
CREATE INDEX ix_clients_legal_entity_id ON clients (legal_entity_id)
    """,
    """
CREATE TABLE connections (
    id UUID NOT NULL,
    client_id UUID NOT NULL,
    consumer_id UUID NOT NULL,
    secret_hash TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_connections PRIMARY KEY (id),
    CONSTRAINT fk_connections_client_id_clients FOREIGN KEY(client_id) REFERENCES clients (id) ON DELETE CASCADE,
    CONSTRAINT fk_connections_consumer_id_clients FOREIGN KEY(consumer_id) REFERENCES clients (id) ON DELETE CASCADE
)
    """,
    """
CREATE UNIQUE INDEX uq_connections_client_consumer ON connections (client_id, consumer_id)
    """,
    """
CREATE TABLE user_roles (
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    role TEXT NOT NULL,
    client_id UUID,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_user_roles PRIMARY KEY (id),
    CONSTRAINT fk_user_roles_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_roles_client_id_clients FOREIGN KEY(client_id) REFERENCES clients (id) ON DELETE CASCADE
)
    """,
    """
CREATE UNIQUE INDEX uq_user_roles_user_role_client
    ON user_roles (user_id, role, coalesce(client_id, '00000000-0000-0000-0000-000000000000'::uuid))
    """,
    """
CREATE TABLE apps (
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    client_id UUID NOT NULL,
    scope TEXT NOT NULL,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_apps PRIMARY KEY (id),
    CONSTRAINT fk_apps_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_apps_client_id_clients FOREIGN KEY(client_id) REFERENCES clients (id) ON DELETE CASCADE
)
    """,
    """
CREATE UNIQUE INDEX uq_apps_user_client ON apps (user_id, client_id)
    """,
    """
CREATE TABLE tokens (
    id UUID NOT NULL,
    name TEXT NOT NULL,
    value_hash TEXT NOT NULL,
    user_id UUID NOT NULL,
    client_id UUID NOT NULL,
    mis_client_id UUID,
    scope TEXT DEFAULT '' NOT NULL,
    family_id UUID NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at TIMESTAMP WITH TIME ZONE,
    last_used_at TIMESTAMP WITH TIME ZONE,
    revoked_at TIMESTAMP WITH TIME ZONE,
    details JSONB DEFAULT '{}'::jsonb NOT NULL,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_tokens PRIMARY KEY (id),
    CONSTRAINT uq_tokens_value_hash UNIQUE (value_hash),
    CONSTRAINT fk_tokens_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT fk_tokens_client_id_clients FOREIGN KEY(client_id) REFERENCES clients (id) ON DELETE CASCADE
)
    """,
    """
CREATE INDEX ix_tokens_family ON tokens (family_id)
    """,
    """
CREATE INDEX ix_tokens_live ON tokens (user_id, client_id, name) WHERE revoked_at IS NULL
    """,
    """
CREATE TABLE authentication_factors (
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    type TEXT NOT NULL,
    factor TEXT,
    is_active BOOLEAN DEFAULT false NOT NULL,
    last_timecode BIGINT,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_authentication_factors PRIMARY KEY (id),
    CONSTRAINT fk_authentication_factors_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)
    """,
    """
CREATE UNIQUE INDEX uq_authentication_factors_user_type ON authentication_factors (user_id, type)
    """,
    """
CREATE TABLE otps (
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    purpose TEXT NOT NULL,
    token_id UUID,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    attempts INTEGER DEFAULT 0 NOT NULL,
    status TEXT DEFAULT 'NEW' NOT NULL,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_otps PRIMARY KEY (id),
    CONSTRAINT fk_otps_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)
    """,
    """
CREATE INDEX ix_otps_user_inserted ON otps (user_id, inserted_at)
    """,
    """
CREATE TABLE credentials_recovery_requests (
    id UUID NOT NULL,
    user_id UUID NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at TIMESTAMP WITH TIME ZONE,
    inserted_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_credentials_recovery_requests PRIMARY KEY (id),
    CONSTRAINT fk_credentials_recovery_requests_user_id_users FOREIGN KEY(user_id)
        REFERENCES users (id) ON DELETE CASCADE
)
    """,
    """
CREATE TABLE rate_limit_counters (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count INTEGER NOT NULL,
    CONSTRAINT pk_rate_limit_counters PRIMARY KEY (key, window_start)
)
    """,
]

TABLES = [
    "users",
    "password_history",
    "login_failures",
    "clients",
    "connections",
    "user_roles",
    "apps",
    "tokens",
    "authentication_factors",
    "otps",
    "credentials_recovery_requests",
    "rate_limit_counters",
]


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
