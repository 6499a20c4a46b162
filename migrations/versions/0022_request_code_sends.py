"""The SMS codes a person or declaration request has sent (the first and each resend), so that resends are
limited per request as an approval's are.

Revision ID: 0022_request_code_sends
Revises: 0019_registry_requests
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_request_code_sends"
down_revision: str | Sequence[str] | None = "0019_registry_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("declaration_requests", "person_requests"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN otp_sends integer NOT NULL DEFAULT 0")
        # A request made before this column sent its one code if it has one.
        op.execute(f"UPDATE {table} SET otp_sends = 1 WHERE otp_hash IS NOT NULL")


def downgrade() -> None:
    for table in ("declaration_requests", "person_requests"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS otp_sends")
