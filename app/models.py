"""The gateway's tables, gathered in one place so the metadata Alembic compares is complete.

Each domain defines its SQLModel tables in its own package; importing them here registers them
on `metadata`. A domain that adds tables adds one import line below and one migration.
"""

from sqlmodel import SQLModel

from app import _types
from app import idempotency as _idempotency
from app.catalog import models as _catalog
from app.partners import models as _partners
from app.points import models as _points
from app.pricing import models as _pricing
from app.redemption import models as _redemption

__all__ = ["metadata"]

metadata = SQLModel.metadata
assert metadata.naming_convention == _types.NAMING_CONVENTION

_TABLE_MODULES = (_catalog, _idempotency, _partners, _points, _pricing, _redemption)
