"""The catalog snapshot: rewards, options, offers, prices per price class, vendor status.

Revision ID: 0004_catalog
Revises: 0003_rates_quotes
Create Date: 2026-11-23 16:55:12.415026
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

from app._types import ExactDecimal, UTCDateTime

revision: str = "0004_catalog"
down_revision: str | None = "0003_rates_quotes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_state")),
    )
    op.create_table(
        "price_class",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("point_value", ExactDecimal(20, 8), nullable=False),
        sa.Column("markup_percent", ExactDecimal(7, 4), nullable=False),
        sa.Column("rates_source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("rates_as_of", sa.Date(), nullable=True),
        sa.Column("priced_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_class")),
        sa.UniqueConstraint(
            "currency",
            "point_value",
            "markup_percent",
            name=op.f("uq_price_class_currency_point_value_markup_percent"),
        ),
    )
    op.create_table(
        "reward",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("brand", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("brand_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("image_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("countries", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward")),
        sa.UniqueConstraint("key", name=op.f("uq_reward_key")),
    )
    with op.batch_alter_table("reward", schema=None) as batch_op:
        batch_op.create_index("ix_reward_brand", ["brand_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_reward_currency"), ["currency"], unique=False)
        batch_op.create_index(batch_op.f("ix_reward_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_reward_listing", ["available", "name_key", "id"], unique=False)

    op.create_table(
        "vendor_status",
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("products", sa.Integer(), nullable=False),
        sa.Column("calls_last_refresh", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("vendor", name=op.f("pk_vendor_status")),
    )
    op.create_table(
        "reward_country",
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("country", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["reward.id"], name=op.f("fk_reward_country_reward_id_reward")
        ),
        sa.PrimaryKeyConstraint("reward_id", "country", name=op.f("pk_reward_country")),
    )
    op.create_table(
        "reward_option",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("value_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("face_value", ExactDecimal(20, 6), nullable=True),
        sa.Column("min_value", ExactDecimal(20, 6), nullable=True),
        sa.Column("max_value", ExactDecimal(20, 6), nullable=True),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["reward.id"], name=op.f("fk_reward_option_reward_id_reward")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reward_option")),
        sa.UniqueConstraint(
            "reward_id", "value_key", name=op.f("uq_reward_option_reward_id_value_key")
        ),
    )
    with op.batch_alter_table("reward_option", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reward_option_reward_id"), ["reward_id"], unique=False)

    op.create_table(
        "reward_price",
        sa.Column("price_class_id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("min_points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_class_id"],
            ["price_class.id"],
            name=op.f("fk_reward_price_price_class_id_price_class"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["reward.id"], name=op.f("fk_reward_price_reward_id_reward")
        ),
        sa.PrimaryKeyConstraint("price_class_id", "reward_id", name=op.f("pk_reward_price")),
    )
    with op.batch_alter_table("reward_price", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reward_price_points", ["price_class_id", "min_points", "reward_id"], unique=False
        )

    op.create_table(
        "offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("option_id", sa.Uuid(), nullable=False),
        sa.Column("reward_id", sa.Uuid(), nullable=False),
        sa.Column("vendor", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "vendor_product_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False
        ),
        sa.Column("countries", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("cost_amount", ExactDecimal(20, 6), nullable=True),
        sa.Column("cost_currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("min_value", ExactDecimal(20, 6), nullable=True),
        sa.Column("max_value", ExactDecimal(20, 6), nullable=True),
        sa.Column("step", ExactDecimal(20, 6), nullable=True),
        sa.Column("cost_rate", ExactDecimal(30, 15), nullable=True),
        sa.Column("fee_percent", ExactDecimal(9, 4), nullable=True),
        sa.Column("fee_fixed", ExactDecimal(20, 6), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["option_id"], ["reward_option.id"], name=op.f("fk_offer_option_id_reward_option")
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["reward.id"], name=op.f("fk_offer_reward_id_reward")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer")),
        sa.UniqueConstraint(
            "vendor",
            "vendor_product_id",
            "option_id",
            name=op.f("uq_offer_vendor_vendor_product_id_option_id"),
        ),
    )
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offer_option_id"), ["option_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offer_reward_id"), ["reward_id"], unique=False)

    op.create_table(
        "option_price",
        sa.Column("price_class_id", sa.Uuid(), nullable=False),
        sa.Column("option_id", sa.Uuid(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offer.id"], name=op.f("fk_option_price_offer_id_offer")
        ),
        sa.ForeignKeyConstraint(
            ["option_id"],
            ["reward_option.id"],
            name=op.f("fk_option_price_option_id_reward_option"),
        ),
        sa.ForeignKeyConstraint(
            ["price_class_id"],
            ["price_class.id"],
            name=op.f("fk_option_price_price_class_id_price_class"),
        ),
        sa.PrimaryKeyConstraint("price_class_id", "option_id", name=op.f("pk_option_price")),
    )


def downgrade() -> None:
    op.drop_table("option_price")
    with op.batch_alter_table("offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offer_reward_id"))
        batch_op.drop_index(batch_op.f("ix_offer_option_id"))

    op.drop_table("offer")
    with op.batch_alter_table("reward_price", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_price_points")

    op.drop_table("reward_price")
    with op.batch_alter_table("reward_option", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reward_option_reward_id"))

    op.drop_table("reward_option")
    op.drop_table("reward_country")
    op.drop_table("vendor_status")
    with op.batch_alter_table("reward", schema=None) as batch_op:
        batch_op.drop_index("ix_reward_listing")
        batch_op.drop_index(batch_op.f("ix_reward_kind"))
        batch_op.drop_index(batch_op.f("ix_reward_currency"))
        batch_op.drop_index("ix_reward_brand")

    op.drop_table("reward")
    op.drop_table("price_class")
    op.drop_table("catalog_state")
