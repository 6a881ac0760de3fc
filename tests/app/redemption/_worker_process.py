"""One gateway process's redemption worker, alone, for the two-process test: it claims and
runs due redemptions until none are left, printing the ids it claimed (one JSON line per
claim). Settings come from the environment, as a gateway's do."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import orjson
from sqlmodel import col, func, select

from app.redemption.models import Redemption, RedemptionStatus
from app.redemption.worker import Worker
from app.runtime import open_services
from app.settings import load_settings


async def main() -> None:
    settings = load_settings(env_file=None)
    start_at = float(os.environ["START_AT"])
    async with open_services(settings) as services:
        worker = Worker(services.redemptions)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        idle = 0
        while idle < 3:
            claimed = await worker.run_once()
            if claimed:
                sys.stdout.write(orjson.dumps([str(i) for i in claimed]).decode() + "\n")
                sys.stdout.flush()
            await services.redemptions.drain(60)
            async with services.database.session() as session:
                left = (
                    await session.exec(
                        select(func.count())
                        .select_from(Redemption)
                        .where(
                            col(Redemption.status).in_(
                                [RedemptionStatus.POINTS_RESERVED, RedemptionStatus.VENDOR_PENDING]
                            )
                        )
                    )
                ).one()
            idle = idle + 1 if not claimed and not left else 0
            await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main())
