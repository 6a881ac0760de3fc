"""Baseline: the start of the revision chain.

The foundation owns no domain tables yet; it establishes the chain (and with it the
``alembic_version`` table that readiness checks) so that every later issue adds its tables as
one revision on top of this one.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
