"""Redemptions: the saga's row (lease, vendor key, state), its history, the vendor webhooks
received; quotes name the catalog ids and the offer they priced.

Revision ID: 0007_redemptions
Revises: 0006_search_index
Create Date: 2026-12-02 14:36:04.425011
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from app._types import ExactDecimal, UTCDateTime

revision: str = "0007_redemptions"
down_revision: str | None = "0006_search_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("woken", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_webhook")),
        sa.UniqueConstraint("vendor", "event_id", name=op.f("uq_vendor_webhook_vendor_event_id")),
    )
    op.create_table(
        "redemption",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("option_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("face_amount", ExactDecimal(20, 6), nullable=False),
        sa.Column("face_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("quoted_amount", ExactDecimal(20, 6), nullable=False),
        sa.Column("quoted_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("charged_amount", ExactDecimal(20, 6), nullable=True),
        sa.Column("charged_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
        sa.Column("posted_points", sa.BigInteger(), nullable=True),
        sa.Column("offers", sa.Text(), nullable=False),
        sa.Column("order_details", sa.Text(), nullable=False),
        sa.Column("offer_index", sa.Integer(), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "vendor_product_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("vendor_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("vendor_hold", sa.Text(), nullable=True),
        sa.Column("vendor_reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("vendor_status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("vendor_raw_status", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("delivery", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("failure_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("locked_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("points > 0", name=op.f("ck_redemption_points_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_account.id"],
            name=op.f("fk_redemption_account_id_ledger_account"),
        ),
        sa.ForeignKeyConstraint(["hold_id"], ["hold.id"], name=op.f("fk_redemption_hold_id_hold")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_redemption_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_redemption_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quote.id"], name=op.f("fk_redemption_quote_id_quote")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_redemption_hold_id")),
        sa.UniqueConstraint(
            "member_id", "idempotency_key", name=op.f("uq_redemption_member_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("redemption", schema=None) as batch_op:
        batch_op.create_index("ix_redemption_due", ["next_run_at"], unique=False)
        batch_op.create_index(
            "ix_redemption_member_created", ["member_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_redemption_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_redemption_status"), ["status"], unique=False)

    op.create_table(
        "redemption_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status_before", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("status_after", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemption.id"],
            name=op.f("fk_redemption_event_redemption_id_redemption"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_event")),
    )
    with op.batch_alter_table("redemption_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_redemption_event_redemption", ["redemption_id", "id"], unique=False
        )

    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reward_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("option_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("offer_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quote", schema=None) as batch_op:
        batch_op.drop_column("offer_id")
        batch_op.drop_column("option_id")
        batch_op.drop_column("reward_id")

    with op.batch_alter_table("redemption_event", schema=None) as batch_op:
        batch_op.drop_index("ix_redemption_event_redemption")

    op.drop_table("redemption_event")
    with op.batch_alter_table("redemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redemption_status"))
        batch_op.drop_index(batch_op.f("ix_redemption_program_id"))
        batch_op.drop_index("ix_redemption_member_created")
        batch_op.drop_index("ix_redemption_due")

    op.drop_table("redemption")
    op.drop_table("vendor_webhook")
