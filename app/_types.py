"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import decimal
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Numeric, String, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import SQLModel

__all__ = ["NAMING_CONVENTION", "ExactDecimal", "InternedUuid", "UTCDateTime", "utcnow"]

# Deterministic constraint names, so migrations can drop and alter them on both backends. Set
# here, before any table is declared (every model module imports this one).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in and out, on every backend.

    SQLite has no time zones: SQLAlchemy hands back naive datetimes there. This type refuses
    naive datetimes on the way in (a naive time is a bug waiting for a server in another zone)
    and returns aware UTC datetimes on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A `Decimal` that stays exact on every backend.

    PostgreSQL's ``NUMERIC(p, s)`` is exact. SQLite has no decimal type: its NUMERIC affinity
    stores a REAL, which would put a float in a money path; there the value is stored as text
    (money columns are never sorted or summed in SQL, points are integers).
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"{type(value).__name__} is not a Decimal")
        try:
            exact = value.quantize(Decimal(1).scaleb(-self.scale), context=self._context)
        except decimal.InvalidOperation:
            raise ValueError(f"{value} does not fit in {self.precision} digits") from None
        if exact != value:
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if exact.adjusted() >= self.precision - self.scale:
            raise ValueError(f"{value} does not fit in {self.precision} digits")
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-self.scale), context=self._context)

    @property
    def _context(self) -> decimal.Context:
        # The ambient context has 28 digits: too few for a NUMERIC(40, 24).
        return decimal.Context(prec=self.precision + 1)


class InternedUuid(Uuid[uuid.UUID]):
    """A `Uuid` column read back as one shared `uuid.UUID` per id, for hot read paths.

    SQLite stores ids as hex text, and `uuid.UUID` parses text in pure Python: a catalog page
    with its options converts some 130 ids, a tenth of the request. Pages repeat ids (each
    option carries its reward's) and serve the same rewards over and over, so each text is
    converted once (a bounded LRU; UUIDs are immutable, sharing them is safe). PostgreSQL
    returns native UUIDs: unchanged there.
    """

    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.supports_native_uuid and self.native_uuid:
            return super().result_processor(dialect, coltype)  # type: ignore[no-untyped-call]
        return _uuid_of_text


@lru_cache(maxsize=16_384)
def _uuid_of_text(text: str | None) -> uuid.UUID | None:
    return None if text is None else uuid.UUID(text)
