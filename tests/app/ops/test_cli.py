"""``rewardgate ops`` on a stuck redemption: listed, shown, cancelled, replayed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from app import cli
from app._types import utcnow
from app.redemption.models import Redemption, RedemptionStatus
from tests.app.ops.test_actions import _stuck
from tests.app.redemption.conftest import Harness

pytestmark = pytest.mark.asyncio
runner = CliRunner()


async def _invoke(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(runner.invoke, cli.cli, list(args))
    return result.exit_code, result.output


async def test_the_ops_commands(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDGATE_DATABASE_URL", harness.settings.database_url)
    if harness.settings.database_schema:
        monkeypatch.setenv("REWARDGATE_DATABASE_SCHEMA", harness.settings.database_schema)
    monkeypatch.setenv("REWARDGATE_LOG_LEVEL", "WARNING")
    first = await _stuck(harness, "tango")
    second = await _stuck(harness, "tango")
    # The commands run on the real clock, the harness's is days ahead: settle them back.
    await harness.database.write(
        lambda session: session.exec(
            update(Redemption).values(updated_at=utcnow() - timedelta(hours=1))
        )
    )

    code, listed = await _invoke("ops", "failed")
    assert code == 0, listed
    assert str(first.id) in listed
    assert str(second.id) in listed
    assert "2 redemption(s) need ops" in listed

    code, shown = await _invoke("ops", "show", str(first.id))
    assert code == 0, shown
    assert "NEEDS_OPS" in shown
    assert first.vendor_key in shown
    assert "hold" in shown

    code, said = await _invoke("ops", "cancel", str(first.id), "--reason", "member asked")
    assert code == 0, said
    assert "COMPENSATED (REFUNDED_ORDER_ABSENT)" in said
    assert (await harness.get(first.id)).status == RedemptionStatus.COMPENSATED

    code, said = await _invoke("ops", "replay", str(second.id))
    assert code == 0, said
    assert "COMPLETED (REPLAYED)" in said

    code, said = await _invoke("ops", "cancel", str(second.id), "--reason", "late")
    assert code == 1
    assert "ALREADY_COMPLETED" in said
    code, said = await _invoke("ops", "show", "not-an-id")
    assert code == 2
