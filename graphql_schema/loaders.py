"""This request's DataLoaders, one per (entity, key): every nested field that reads the
database goes through one, so a page of N items costs a constant number of queries."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlmodel import col, select
from strawberry.dataloader import DataLoader

from app.points.ledger import Balance
from app.points.models import Program
from app.points.service import member_balances

if TYPE_CHECKING:
    from graphql_schema.context import Context

__all__ = ["Loaders"]

MemberKey = tuple[uuid.UUID, str]


class Loaders:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.program_by_id = DataLoader[uuid.UUID, Program | None](self._programs)
        self.balance_by_member = DataLoader[MemberKey, Balance](self._balances)

    async def _programs(self, ids: list[uuid.UUID]) -> list[Program | None]:
        async with self.context.database.session() as session:
            rows = (await session.exec(select(Program).where(col(Program.id).in_(ids)))).all()
        found = {program.id: program for program in rows}
        return [found.get(program_id) for program_id in ids]

    async def _balances(self, keys: list[MemberKey]) -> list[Balance]:
        async with self.context.database.session() as session:
            found = await member_balances(session, keys, now=self.context.now())
        return [found[key] for key in keys]
