"""Ledger guards and exact quote rates: indexes for the sweep's searches, CHECKs on expired
amounts and allocations, quotes keep the two per-EUR rates their points were computed from
(and a shown rate wide enough for every pair of the snapshot).

Revision ID: 0005_ledger_guards
Revises: 0004_catalog
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app._types import ExactDecimal

revision: str = "0005_ledger_guards"
down_revision: str | None = "0004_catalog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hold_status"))
        batch_op.create_index(
            batch_op.f("ix_hold_status_expires_at"), ["status", "expires_at"], unique=False
        )
    with op.batch_alter_table("points_lot", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_points_lot_state_expires_at"), ["state", "expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_points_lot_state_activates_at"), ["state", "activates_at"], unique=False
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_points_lot_expired_range"),
            "expired_amount >= 0 AND expired_amount <= original",
        )
    with op.batch_alter_table("lot_allocation", schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f("ck_lot_allocation_amount_not_negative"), "amount >= 0"
        )
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.alter_column(
            "rate", existing_type=ExactDecimal(30, 15), type_=ExactDecimal(40, 24)
        )
        batch_op.add_column(sa.Column("price_currency_per_eur", ExactDecimal(40, 24)))
        batch_op.add_column(sa.Column("program_currency_per_eur", ExactDecimal(40, 24)))
    # Quotes made before: their rate was the one used, as a direct rate (1 : rate).
    op.execute(
        "UPDATE quote SET price_currency_per_eur = '1', program_currency_per_eur = rate "
        "WHERE price_currency_per_eur IS NULL"
    )
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.alter_column(
            "price_currency_per_eur", existing_type=ExactDecimal(40, 24), nullable=False
        )
        batch_op.alter_column(
            "program_currency_per_eur", existing_type=ExactDecimal(40, 24), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_column("program_currency_per_eur")
        batch_op.drop_column("price_currency_per_eur")
        batch_op.alter_column(
            "rate", existing_type=ExactDecimal(40, 24), type_=ExactDecimal(30, 15)
        )
    with op.batch_alter_table("lot_allocation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_lot_allocation_amount_not_negative"), type_="check")
    with op.batch_alter_table("points_lot", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_points_lot_expired_range"), type_="check")
        batch_op.drop_index(batch_op.f("ix_points_lot_state_activates_at"))
        batch_op.drop_index(batch_op.f("ix_points_lot_state_expires_at"))
    with op.batch_alter_table("hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hold_status_expires_at"))
        batch_op.create_index(batch_op.f("ix_hold_status"), ["status"], unique=False)
