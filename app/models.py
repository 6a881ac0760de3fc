"""The gateway's tables, gathered in one place so the metadata Alembic compares is complete.

Each domain defines its SQLModel tables in its own package; importing them here registers them
on `metadata`. A domain that adds tables adds one import line below and one migration.
"""

from sqlmodel import SQLModel

__all__ = ["metadata"]

# Deterministic constraint names, so migrations can drop and alter them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata
metadata.naming_convention = NAMING_CONVENTION
