"""Reading the catalog: filtered, sorted pages with keyset cursors, in the database.

A cursor holds the sort key of the last row of a page; the next page is the rows after that key
(``WHERE (key…) > (…) ORDER BY key… LIMIT n``), so pages are stable while the snapshot does
not change and cost the same deep in the catalog as at its start. Points are the viewer's
price class (`app.catalog.prices`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, tuple_
from sqlalchemy import select as select_columns
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.models import OptionPrice, Reward, RewardCountry, RewardOption, RewardPrice

__all__ = [
    "MAX_PAGE",
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


_SHOWN = (
    col(Reward.id),
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


def _conditions(price_class_id: uuid.UUID, wanted: RewardFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        col(Reward.available).is_(True),
        col(RewardPrice.price_class_id) == price_class_id,
    ]
    if wanted.kinds:
        conditions.append(col(Reward.kind).in_(wanted.kinds))
    if wanted.brand:
        conditions.append(col(Reward.brand_key) == wanted.brand.lower())
    if wanted.currency:
        conditions.append(col(Reward.currency) == wanted.currency.upper())
    if wanted.search:
        term = f"%{_escape(wanted.search.lower())}%"
        conditions.append(col(Reward.search_text).like(term, escape="\\"))
    if wanted.country:
        listed = exists().where(
            col(RewardCountry.reward_id) == Reward.id,
            col(RewardCountry.country) == wanted.country.upper(),
        )
        conditions.append(or_(col(Reward.countries) == "", listed))
    if wanted.min_points is not None:
        conditions.append(col(RewardPrice.min_points) >= wanted.min_points)
    if wanted.max_points is not None:
        conditions.append(col(RewardPrice.min_points) <= wanted.max_points)
    return conditions


def _sort_key(sort: RewardSort, search: str | None) -> tuple[list[Any], bool]:
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
    prefix = f"{_escape(search.lower())}%"
    rank = case(
        (col(Reward.name_key).like(prefix, escape="\\"), literal(0)),
        (col(Reward.brand_key).like(prefix, escape="\\"), literal(1)),
        else_=literal(2),
    )
    return [rank, col(Reward.name_key), col(Reward.id)], False


async def list_rewards(
    session: AsyncSession,
    price_class_id: uuid.UUID,
    *,
    wanted: RewardFilter,
    sort: RewardSort,
    first: int,
    after: list[Any] | None = None,
) -> RewardPage:
    """One page: at most ``first`` (capped at `MAX_PAGE`) rewards after the cursor ``after``."""
    size = max(1, min(first, MAX_PAGE))
    key, descending = _sort_key(sort, wanted.search)
    statement = (
        select_columns(*_SHOWN, *key[:-1])
        .join(RewardPrice, col(RewardPrice.reward_id) == Reward.id)
        .where(and_(*_conditions(price_class_id, wanted)))
    )
    if after is not None and len(after) == len(key):
        position = tuple_(*key)
        bound = tuple_(*(literal(value) for value in _typed(after)))
        statement = statement.where(position < bound if descending else position > bound)
    order = [column.desc() if descending else column.asc() for column in key]
    connection = await session.connection()
    rows = (await connection.execute(statement.order_by(*order).limit(size + 1))).all()
    shown = len(_SHOWN)
    page = RewardPage(has_next=len(rows) > size)
    for row in rows[:size]:
        page.items.append(Listed(*row[:shown]))
        page.cursors.append([*row[shown:], str(row[0])])
    return page


async def get_reward(
    session: AsyncSession, price_class_id: uuid.UUID, reward_id: uuid.UUID
) -> Listed | None:
    """One reward by id, available or not, priced in the class (None points: unpriced)."""
    connection = await session.connection()
    row = (
        await connection.execute(
            select_columns(*_SHOWN)
            .outerjoin(
                RewardPrice,
                (col(RewardPrice.reward_id) == Reward.id)
                & (col(RewardPrice.price_class_id) == price_class_id),
            )
            .where(col(Reward.id) == reward_id)
        )
    ).first()
    return Listed(*row) if row is not None else None


async def list_options(
    session: AsyncSession, price_classes: set[uuid.UUID], reward_ids: list[uuid.UUID]
) -> list[ListedOption]:
    """Every option of the rewards, with its points in each of the classes that prices it
    (an unpriced option comes once, without a class)."""
    connection = await session.connection()
    rows = await connection.execute(
        select_columns(
            col(RewardOption.id),
            col(RewardOption.reward_id),
            col(Reward.currency),
            col(RewardOption.face_value),
            col(RewardOption.min_value),
            col(RewardOption.max_value),
            col(OptionPrice.price_class_id),
            col(OptionPrice.points),
        )
        .join(Reward, col(Reward.id) == RewardOption.reward_id)
        .outerjoin(
            OptionPrice,
            (col(OptionPrice.option_id) == RewardOption.id)
            & col(OptionPrice.price_class_id).in_(price_classes),
        )
        .where(col(RewardOption.reward_id).in_(reward_ids))
    )
    return [ListedOption(*row) for row in rows]


async def count_rewards(
    session: AsyncSession, price_class_id: uuid.UUID, *, wanted: RewardFilter
) -> int:
    statement = (
        select(func.count())
        .select_from(Reward)
        .join(RewardPrice, col(RewardPrice.reward_id) == Reward.id)
        .where(and_(*_conditions(price_class_id, wanted)))
    )
    return int((await session.exec(statement)).one())


def _typed(values: list[Any]) -> list[Any]:
    """Cursor values back to their column types (the reward id is last)."""
    return [*values[:-1], uuid.UUID(str(values[-1]))]
