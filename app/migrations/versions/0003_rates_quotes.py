"""Stored exchange rates and locked quotes.

Revision ID: 0003_rates_quotes
Revises: 0002_points_ledger
Create Date: 2026-11-23 16:39:36.034281
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from app._types import ExactDecimal, UTCDateTime

revision: str = "0003_rates_quotes"
down_revision: str | None = "0002_points_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fx_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("per_eur", ExactDecimal(24, 10), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fx_rate")),
        sa.UniqueConstraint(
            "source", "as_of", "currency", name=op.f("uq_fx_rate_source_as_of_currency")
        ),
    )
    op.create_table(
        "quote",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("reward_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("option_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("face_amount", ExactDecimal(20, 6), nullable=False),
        sa.Column("face_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("price_amount", ExactDecimal(20, 6), nullable=False),
        sa.Column("price_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("rate", ExactDecimal(30, 15), nullable=False),
        sa.Column("rate_source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("rate_as_of", sa.Date(), nullable=False),
        sa.Column("markup_percent", ExactDecimal(7, 4), nullable=False),
        sa.Column("point_value", ExactDecimal(20, 8), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_quote_points_not_negative")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_quote_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_quote_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quote")),
    )
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quote_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quote_program_id"), ["program_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quote_program_id"))
        batch_op.drop_index(batch_op.f("ix_quote_member_id"))

    op.drop_table("quote")
    op.drop_table("fx_rate")
