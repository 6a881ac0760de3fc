"""Reading the catalog: filtered, sorted pages with keyset cursors, in the database.

A cursor holds the sort key of the last row of a page; the next page is the rows after that key
(``WHERE (key…) > (…) ORDER BY key… LIMIT n``), so pages are stable while the snapshot does
not change and cost the same deep in the catalog as at its start. Points are the viewer's
price class (`app.catalog.prices`).

Reads are plain functions of a synchronous connection, run by `Database.read`: a page and its
options in one transaction and, on SQLite, one thread hop.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    literal,
    or_,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator
from sqlmodel import col

from app._types import InternedUuid
from app.catalog import _search
from app.catalog.models import OptionPrice, Reward, RewardCountry, RewardOption, RewardPrice

__all__ = [
    "MAX_PAGE",
    "InvalidCursor",
    "Listed",
    "ListedOption",
    "RewardFilter",
    "RewardPage",
    "RewardSort",
    "get_reward",
    "list_options",
    "list_rewards",
]

MAX_PAGE = 100
_MAX_KEY_TEXT = 1_000


class InvalidCursor(ValueError):
    """A cursor whose key does not fit the sort it is used with."""


class RewardSort(StrEnum):
    RELEVANCE = "RELEVANCE"
    POINTS_ASC = "POINTS_ASC"
    POINTS_DESC = "POINTS_DESC"
    NAME_ASC = "NAME_ASC"


@dataclass(frozen=True)
class RewardFilter:
    kinds: tuple[str, ...] = ()
    brand: str | None = None
    search: str | None = None
    country: str | None = None
    currency: str | None = None
    min_points: int | None = None
    max_points: int | None = None


@dataclass(frozen=True, slots=True)
class Listed:
    """A reward as the catalog shows it, in one price class (a plain row: pages are read often
    and an ORM object costs more to build than the query that filled it)."""

    id: uuid.UUID
    kind: str
    name: str
    brand: str
    description: str | None
    image_url: str | None
    countries: str
    currency: str
    available: bool
    min_points: int | None


@dataclass(frozen=True, slots=True)
class ListedOption:
    id: uuid.UUID
    reward_id: uuid.UUID
    currency: str
    face_value: Decimal | None
    min_value: Decimal | None
    max_value: Decimal | None
    price_class_id: uuid.UUID | None
    points: int | None


@dataclass
class RewardPage:
    items: list[Listed] = field(default_factory=list)
    cursors: list[list[Any]] = field(default_factory=list)  # each item's sort key
    has_next: bool = False


_ID = InternedUuid()
_SHOWN = (
    type_coerce(col(Reward.id), _ID),
    col(Reward.kind),
    col(Reward.name),
    col(Reward.brand),
    col(Reward.description),
    col(Reward.image_url),
    col(Reward.countries),
    col(Reward.currency),
    col(Reward.available),
    col(RewardPrice.min_points),
)


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _parameters(price_class_id: uuid.UUID, wanted: RewardFilter, dialect: str) -> dict[str, Any]:
    """The values of a filter, by the names its statement binds them to; an unused filter has
    none (and its condition is not in the statement). A SQLite search of three characters or
    more goes through the trigram index (`app.catalog._search`)."""
    values: dict[str, Any] = {"price_class": price_class_id}
    if wanted.kinds:
        values["kinds"] = list(wanted.kinds)
    if wanted.brand:
        values["brand"] = wanted.brand.lower()
    if wanted.currency:
        values["currency"] = wanted.currency.upper()
    if wanted.search:
        if dialect == "sqlite" and len(wanted.search) >= _search.MIN_INDEXED:
            values["search_glob"] = _search.glob_pattern(wanted.search)
        else:
            values["search"] = f"%{_escape(wanted.search.lower())}%"
        values["prefix"] = f"{_escape(wanted.search.lower())}%"
    if wanted.country:
        values["country"] = wanted.country.upper()
    if wanted.min_points is not None:
        values["min_points"] = wanted.min_points
    if wanted.max_points is not None:
        values["max_points"] = wanted.max_points
    return values


def _conditions(used: frozenset[str]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        col(Reward.available).is_(True),
        col(RewardPrice.price_class_id) == bindparam("price_class"),
    ]
    if "kinds" in used:
        conditions.append(col(Reward.kind).in_(bindparam("kinds", expanding=True)))
    if "brand" in used:
        conditions.append(col(Reward.brand_key) == bindparam("brand"))
    if "currency" in used:
        conditions.append(col(Reward.currency) == bindparam("currency"))
    if "search" in used:
        conditions.append(col(Reward.search_text).like(bindparam("search"), escape="\\"))
    if "country" in used:
        listed = exists().where(
            col(RewardCountry.reward_id) == Reward.id,
            col(RewardCountry.country) == bindparam("country"),
        )
        conditions.append(or_(col(Reward.countries) == "", listed))
    if "min_points" in used:
        conditions.append(col(RewardPrice.min_points) >= bindparam("min_points"))
    if "max_points" in used:
        conditions.append(col(RewardPrice.min_points) <= bindparam("max_points"))
    return conditions


def _rewards(used: frozenset[str]) -> Any:
    """What a page reads from: rewards with their prices, or, for a search through SQLite's
    trigram index, the index's matches first. Given ``reward.id IN (matches)`` SQLite's
    planner starts from the price index and probes the matches for every reward (9 ms a page
    at 50,000 rewards); from a materialised list of the matches it looks up only those
    (under 1 ms)."""
    rewards: Any = Reward.__table__  # type: ignore[attr-defined]
    prices: Any = RewardPrice.__table__  # type: ignore[attr-defined]
    priced = col(RewardPrice.reward_id) == Reward.id
    if "search_glob" not in used:
        return rewards.join(prices, priced)
    found = (
        text(_search.SQLITE_MATCHES)
        .columns(column("reward_id", _ID))
        .cte("found")
        .prefix_with("MATERIALIZED")
    )
    return found.join(rewards, col(Reward.id) == found.c.reward_id).join(prices, priced)


def _sort_key(sort: RewardSort, search: bool) -> tuple[list[Any], bool]:
    """The columns a sort orders by (the reward id last, to break ties) and whether it is
    descending."""
    # Points orders break ties on reward_price.reward_id (equal to reward.id by the join) so the
    # whole key comes from one index: (price_class_id, min_points, reward_id).
    if sort is RewardSort.POINTS_ASC:
        return [col(RewardPrice.min_points), col(RewardPrice.reward_id)], False
    if sort is RewardSort.POINTS_DESC:
        return [col(RewardPrice.min_points), col(RewardPrice.reward_id)], True
    if sort is RewardSort.NAME_ASC or not search:
        return [col(Reward.name_key), col(Reward.id)], False
    prefix: BindParameter[str] = bindparam("prefix")
    rank = case(
        (col(Reward.name_key).like(prefix, escape="\\"), literal(0)),
        (col(Reward.brand_key).like(prefix, escape="\\"), literal(1)),
        else_=literal(2),
    )
    return [rank, col(Reward.name_key), col(Reward.id)], False


@lru_cache(maxsize=512)
def _page_statement(
    sort: RewardSort, used: frozenset[str], after: bool
) -> tuple[Select[Any], tuple[type, ...]]:
    """A page's statement for one shape of query, built once: what varies between requests
    is bound at execution (SQLAlchemy then reuses its compiled form as well), and the Python
    types of its sort key, which cursors must match."""
    key, descending = _sort_key(sort, "prefix" in used)
    statement = (
        select_columns(*_SHOWN, *key[:-1])
        .select_from(_rewards(used))
        .where(and_(*_conditions(used)))
    )
    if after:
        position = tuple_(*key)
        bound = tuple_(*(bindparam(f"after_{i}", type_=c.type) for i, c in enumerate(key)))
        statement = statement.where(position < bound if descending else position > bound)
    order = [column.desc() if descending else column.asc() for column in key]
    return statement.order_by(*order).limit(bindparam("limit")), tuple(map(_python_type, key))


def _python_type(column: Any) -> type:
    """What a key column holds (sqlmodel's AutoString does not say: it wraps a String)."""
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(kind, String):
        return str
    return int if isinstance(kind, Integer) else uuid.UUID


def list_rewards(
    connection: Connection,
    price_class_id: uuid.UUID,
    *,
    wanted: RewardFilter,
    sort: RewardSort,
    first: int,
    after: list[Any] | None = None,
) -> RewardPage:
    """One page: at most ``first`` (capped at `MAX_PAGE`) rewards after the cursor ``after``."""
    size = max(1, min(first, MAX_PAGE))
    values = _parameters(price_class_id, wanted, connection.dialect.name)
    statement, key_types = _page_statement(sort, frozenset(values), after is not None)
    if after is not None:
        values.update((f"after_{i}", value) for i, value in enumerate(_typed(after, key_types)))
    values["limit"] = size + 1
    rows = connection.execute(statement, values).all()
    shown = len(_SHOWN)
    page = RewardPage(has_next=len(rows) > size)
    for row in rows[:size]:
        page.items.append(Listed(*row[:shown]))
        page.cursors.append([*row[shown:], str(row[0])])
    return page


_ONE_REWARD = (
    select_columns(*_SHOWN)
    .outerjoin(
        RewardPrice,
        (col(RewardPrice.reward_id) == Reward.id)
        & (col(RewardPrice.price_class_id) == bindparam("price_class")),
    )
    .where(col(Reward.id) == bindparam("reward"))
)


def get_reward(
    connection: Connection, price_class_id: uuid.UUID, reward_id: uuid.UUID
) -> Listed | None:
    """One reward by id, available or not, priced in the class (None points: unpriced)."""
    row = connection.execute(
        _ONE_REWARD, {"price_class": price_class_id, "reward": reward_id}
    ).first()
    return Listed(*row) if row is not None else None


_OPTIONS = (
    select_columns(
        type_coerce(col(RewardOption.id), _ID),
        type_coerce(col(RewardOption.reward_id), _ID),
        col(Reward.currency),
        col(RewardOption.face_value),
        col(RewardOption.min_value),
        col(RewardOption.max_value),
        type_coerce(col(OptionPrice.price_class_id), _ID),
        col(OptionPrice.points),
    )
    .join(Reward, col(Reward.id) == RewardOption.reward_id)
    .outerjoin(
        OptionPrice,
        (col(OptionPrice.option_id) == RewardOption.id)
        & col(OptionPrice.price_class_id).in_(bindparam("price_classes", expanding=True)),
    )
    .where(col(RewardOption.reward_id).in_(bindparam("rewards", expanding=True)))
)


def list_options(
    connection: Connection, price_classes: set[uuid.UUID], reward_ids: list[uuid.UUID]
) -> list[ListedOption]:
    """Every option of the rewards, with its points in each of the classes that prices it
    (an unpriced option comes once, without a class)."""
    rows = connection.execute(
        _OPTIONS, {"price_classes": list(price_classes), "rewards": reward_ids}
    )
    return [ListedOption(*row) for row in rows]


@lru_cache(maxsize=128)
def _count_statement(used: frozenset[str]) -> Select[Any]:
    return select_columns(func.count()).select_from(_rewards(used)).where(and_(*_conditions(used)))


def count_rewards(
    connection: Connection, price_class_id: uuid.UUID, *, wanted: RewardFilter
) -> int:
    values = _parameters(price_class_id, wanted, connection.dialect.name)
    return int(connection.execute(_count_statement(frozenset(values)), values).scalar_one())


def _typed(values: list[Any], types: tuple[type, ...]) -> list[Any]:
    """Cursor values back to their column types (the reward id is last); `InvalidCursor` for
    values that do not fit them."""
    if len(values) != len(types):
        raise InvalidCursor(f"a cursor of {len(values)} values for a key of {len(types)}")
    for value, expected in zip(values[:-1], types[:-1], strict=True):
        if type(value) is not expected:  # exactly: a bool is not an int here
            raise InvalidCursor(f"{value!r} is not a {expected.__name__}")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise InvalidCursor("a number past what a column holds")
        if isinstance(value, str) and (len(value) > _MAX_KEY_TEXT or "\x00" in value):
            raise InvalidCursor("text no column holds")
    try:
        return [*values[:-1], uuid.UUID(str(values[-1]))]
    except ValueError:
        raise InvalidCursor(f"{values[-1]!r} is not a reward id") from None
