"""Token cache invalidation: triggers that NOTIFY `esoz_auth` when a change can alter what an access
token grants, so every worker's cache (identity/token_cache.py) evicts it at once.

Payloads: `token:<value_hash>`, `user:<id>`, `client:<id>`, `all` (TRUNCATE). Only the columns the token
check reads fire: the idle-timeout touch (last_used_at moving forward) stays silent, so the hot path costs
no notification; the effective last use moving backwards does notify (the cache would overrate it).

Revision ID: 0010_token_notify
Revises: 0003_identity (the tokens, users and clients tables are created there)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_token_notify"
down_revision: str | Sequence[str] | None = "0003_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DDL = [
    """
CREATE FUNCTION esoz_auth_notify_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('esoz_auth', 'token:' || OLD.value_hash);
    IF TG_OP = 'UPDATE' AND NEW.value_hash IS DISTINCT FROM OLD.value_hash THEN
        PERFORM pg_notify('esoz_auth', 'token:' || NEW.value_hash);
    END IF;
    RETURN NULL;
END
$$
    """,
    """
CREATE FUNCTION esoz_auth_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('esoz_auth', 'user:' || OLD.id);
    RETURN NULL;
END
$$
    """,
    """
CREATE FUNCTION esoz_auth_notify_client() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('esoz_auth', 'client:' || OLD.id);
    RETURN NULL;
END
$$
    """,
    """
CREATE FUNCTION esoz_auth_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('esoz_auth', 'all');
    RETURN NULL;
END
$$
    """,
    """
CREATE TRIGGER esoz_auth_token_update AFTER UPDATE ON tokens FOR EACH ROW
WHEN (
    OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
    OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
    OR OLD.scope IS DISTINCT FROM NEW.scope
    OR OLD.name IS DISTINCT FROM NEW.name
    OR OLD.value_hash IS DISTINCT FROM NEW.value_hash
    OR OLD.user_id IS DISTINCT FROM NEW.user_id
    OR OLD.client_id IS DISTINCT FROM NEW.client_id
    OR OLD.mis_client_id IS DISTINCT FROM NEW.mis_client_id
    OR coalesce(NEW.last_used_at, NEW.inserted_at) < coalesce(OLD.last_used_at, OLD.inserted_at)
)
EXECUTE FUNCTION esoz_auth_notify_token()
    """,
    # Pruning long-expired tokens (identity/jobs.py) deletes thousands at once and none can be cached: only
    # an unrevoked token (a revoked one notified then) expired less than a day ago (clock skew) notifies.
    """
CREATE TRIGGER esoz_auth_token_delete AFTER DELETE ON tokens FOR EACH ROW
WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now() - interval '1 day')
EXECUTE FUNCTION esoz_auth_notify_token()
    """,
    """
CREATE TRIGGER esoz_auth_user_update AFTER UPDATE ON users FOR EACH ROW
WHEN (OLD.is_blocked IS DISTINCT FROM NEW.is_blocked OR OLD.id IS DISTINCT FROM NEW.id)
EXECUTE FUNCTION esoz_auth_notify_user()
    """,
    """
CREATE TRIGGER esoz_auth_user_delete AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION esoz_auth_notify_user()
    """,
    """
CREATE TRIGGER esoz_auth_client_update AFTER UPDATE ON clients FOR EACH ROW
WHEN (
    OLD.is_blocked IS DISTINCT FROM NEW.is_blocked
    OR OLD.client_type IS DISTINCT FROM NEW.client_type
    OR OLD.legal_entity_id IS DISTINCT FROM NEW.legal_entity_id
    OR OLD.id IS DISTINCT FROM NEW.id
)
EXECUTE FUNCTION esoz_auth_notify_client()
    """,
    """
CREATE TRIGGER esoz_auth_client_delete AFTER DELETE ON clients FOR EACH ROW EXECUTE FUNCTION esoz_auth_notify_client()
    """,
    *(
        f"CREATE TRIGGER esoz_auth_{table}_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION esoz_auth_notify_all()"
        for table in ("tokens", "users", "clients")
    ),
]

TRIGGERS = {
    "tokens": ("esoz_auth_token_update", "esoz_auth_token_delete", "esoz_auth_tokens_truncate"),
    "users": ("esoz_auth_user_update", "esoz_auth_user_delete", "esoz_auth_users_truncate"),
    "clients": ("esoz_auth_client_update", "esoz_auth_client_delete", "esoz_auth_clients_truncate"),
}


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)


def downgrade() -> None:
    for table, names in TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for kind in ("token", "user", "client", "all"):
        op.execute(f"DROP FUNCTION IF EXISTS esoz_auth_notify_{kind}()")
