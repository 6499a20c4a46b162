"""Outbox rows keep the W3C trace context of the request that wrote them, so the delivery continues its trace.

Revision ID: 0020_outbox_trace
Revises: 0008_bench_indexes (the delivery branch; outbox is created in 0004_delivery)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_outbox_trace"
down_revision: str | Sequence[str] | None = "0008_bench_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: nothing is rewritten, and rows written with tracing off stay NULL.
    op.add_column("outbox", sa.Column("traceparent", sa.Text))


def downgrade() -> None:
    op.drop_column("outbox", "traceparent")
