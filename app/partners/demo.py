"""The demo partner: what `rewardgate demo` seeds and `rewardgate serve` seeds in development,
so a newcomer lands in a working catalog with keys that work.

Seeding is idempotent: the partner, program and members are created once, and the welcome
points are earned under fixed idempotency keys. The demo's API keys are derived from the
member-token secret, so every run prints the same keys while only their hashes are stored.
Member tokens are issued afresh on every run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database, insert_ignoring_conflicts
from app.partners.auth import derived_key, hash_key, issue_member_token
from app.partners.models import ApiKey, ApiKeyRole, Partner
from app.points import ledger
from app.points.models import Program
from app.points.programs import create_program, member_account
from app.points.service import EarnRequest, earn_points
from app.settings import DEVELOPMENT_MEMBER_TOKEN_SECRET

__all__ = ["DEMO_MEMBERS", "DemoSeed", "public_demo_key_hashes", "seed_demo"]

DEMO_SLUG = "demo"
DEMO_MEMBERS = (("alice", 50_000), ("bob", 20_000), ("carol", 5_000))


@dataclass(frozen=True)
class DemoSeed:
    api_key: str
    ops_key: str
    program_id: uuid.UUID
    members: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "apiKey": self.api_key,
            "opsKey": self.ops_key,
            "programId": str(self.program_id),
            "members": self.members,
        }


def public_demo_key_hashes() -> frozenset[str]:
    """Hashes of the demo keys a development database holds: derived from the development
    secret, which is public, so anyone can compute them. Production refuses them (a database
    seeded in development and then served in production would otherwise let them in)."""
    return frozenset(
        hash_key(derived_key(role, DEVELOPMENT_MEMBER_TOKEN_SECRET, "demo"))
        for role in (ApiKeyRole.PARTNER, ApiKeyRole.OPS)
    )


async def seed_demo(
    database: Database, *, secret: str, now: datetime, token_lifetime: timedelta
) -> DemoSeed:
    program = await database.write(lambda session: _partner_and_program(session, secret))
    for member, points in DEMO_MEMBERS:
        await earn_points(
            database,
            program,
            EarnRequest(
                member_id=member,
                points=points,
                reason="Demo welcome bonus",
                idempotency_key=f"demo-welcome-{member}",
            ),
            now=now,
        )
    members = []
    async with database.session() as session:
        for member, _ in DEMO_MEMBERS:
            token, _ = issue_member_token(
                secret,
                partner_id=program.partner_id,
                program_id=program.id,
                member_id=member,
                now=now,
                lifetime=token_lifetime,
            )
            _, account = await member_account(session, program.id, member, now=now)
            balance = await ledger.balance_at(session, account.id, now=now)
            members.append({"id": member, "token": token, "points": balance.available})
    return DemoSeed(
        api_key=derived_key(ApiKeyRole.PARTNER, secret, "demo"),
        ops_key=derived_key(ApiKeyRole.OPS, secret, "demo"),
        program_id=program.id,
        members=members,
    )


async def _partner_and_program(session: AsyncSession, secret: str) -> Program:
    partner = (await session.exec(select(Partner).where(Partner.slug == DEMO_SLUG))).first()
    if partner is None:
        partner = Partner(slug=DEMO_SLUG, name="Demo Rewards Partner")
        session.add(partner)
        await session.flush()
    program = (await session.exec(select(Program).where(Program.partner_id == partner.id))).first()
    if program is None:
        program = await create_program(
            session,
            partner_id=partner.id,
            name="Demo Points",
            currency="USD",
            point_value=Decimal("0.01"),
            markup_percent=Decimal(0),
            points_lifetime_days=365,
        )
    keys = [
        (ApiKeyRole.PARTNER, program.id, "demo partner key"),
        (ApiKeyRole.OPS, None, "demo ops key"),
    ]
    await insert_ignoring_conflicts(
        session,
        ApiKey,
        [
            ApiKey(
                partner_id=partner.id,
                program_id=program_id,
                role=role,
                prefix=derived_key(role, secret, "demo")[:12],
                key_hash=hash_key(derived_key(role, secret, "demo")),
                label=label,
            ).model_dump()
            for role, program_id, label in keys
        ],
    )
    return program
