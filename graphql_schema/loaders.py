"""This request's DataLoaders, one per (entity, key): every nested field that reads the
database goes through one, so a page of N items costs a constant number of queries."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection
from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from app.catalog.listing import ListedOption, list_options
from app.points.ledger import Balance
from app.points.models import Program
from app.points.service import member_balances

if TYPE_CHECKING:
    from graphql_schema.catalog.types import RewardOption
    from graphql_schema.context import Context

__all__ = ["Loaders", "RewardKey", "options_for"]

MemberKey = tuple[uuid.UUID, str]
RewardKey = tuple[uuid.UUID, uuid.UUID]  # (price class, reward)


class Loaders:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.program_by_id: DataLoader[uuid.UUID, Program | None] = DataLoader(self._programs)
        self.balance_by_member: DataLoader[MemberKey, Balance] = DataLoader(self._balances)
        self.options_by_reward: DataLoader[RewardKey, list[RewardOption]] = DataLoader(
            self._options
        )

    async def _programs(self, ids: list[uuid.UUID]) -> list[Program | None]:
        async with self.context.database.session() as session:
            rows = (await session.exec(select(Program).where(col(Program.id).in_(ids)))).all()
        found = {program.id: program for program in rows}
        return [found.get(program_id) for program_id in ids]

    async def _balances(self, keys: list[MemberKey]) -> list[Balance]:
        async with self.context.database.session() as session:
            found = await member_balances(session, keys, now=self.context.now())
        return [found[key] for key in keys]

    async def _options(self, keys: list[RewardKey]) -> list[list[RewardOption]]:
        """Every option of the rewards asked for together, with their points, in one
        statement."""
        return await self.context.database.read(
            lambda connection: options_for(connection, keys), short=True
        )


def options_for(connection: Connection, keys: list[RewardKey]) -> list[list[RewardOption]]:
    """Each key's options, fixed values ascending then the range; an option a class does not
    price is listed without points."""
    from graphql_schema.catalog.types import option_type

    classes = {price_class for price_class, _ in keys}
    rows = list_options(connection, classes, [reward_id for _, reward_id in keys])
    found: dict[RewardKey, list[tuple[tuple[int, Decimal], RewardOption]]] = {}
    for row in rows:
        for key_class in classes if row.price_class_id is None else (row.price_class_id,):
            found.setdefault((key_class, row.reward_id), []).append((_order(row), option_type(row)))
    return [[o for _, o in sorted(found.get(key, []), key=lambda p: p[0])] for key in keys]


def _order(option: ListedOption) -> tuple[int, Decimal]:
    """Fixed values in ascending order, then the range."""
    if option.face_value is not None:
        return (0, option.face_value)
    return (1, option.min_value or Decimal(0))
