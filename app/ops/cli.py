"""``rewardgate ops``: the ops actions from a terminal (the same code as the GraphQL ones).

A redemption is named by its uuid or by its GraphQL global id. Actions are audited with the
actor ``cli:<user>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import getpass
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from app._cli_common import fail, settings_or_exit
from app.log import configure_logging
from app.ops.actions import OpsRefused, OpsResult, cancel, history, replay
from app.redemption.models import Redemption, RedemptionStatus
from app.redemption.service import RedemptionService
from app.runtime import open_services

__all__ = ["ops_cli"]

T = TypeVar("T")
ops_cli = typer.Typer(help="Stuck redemptions: list, replay, cancel, show.", no_args_is_help=True)
_console = Console(width=160)


def redemption_id_of(text: str) -> uuid.UUID:
    """A redemption's uuid, from the uuid itself or its global id (``Redemption:<uuid>``)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        pass
    try:
        kind, _, raw = base64.b64decode(text, validate=True).decode().partition(":")
        if kind == "Redemption":
            return uuid.UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    fail(f"{text!r} is not a redemption id (a uuid or a Redemption global id)", code=2)


def _run(work: Callable[[RedemptionService], Awaitable[T]]) -> T:
    settings = settings_or_exit()
    configure_logging(settings)

    async def go() -> T:
        async with open_services(settings) as services:
            return await work(services.redemptions)

    try:
        return asyncio.run(go())
    except OpsRefused as refused:
        fail(f"{refused.code}: {refused.message}")


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@ops_cli.command("failed")
def ops_failed(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
) -> None:
    """Redemptions waiting for ops (NEEDS_OPS), oldest first, as a table."""

    async def read(service: RedemptionService) -> list[Redemption]:
        async with service.database.session() as session:
            return list(
                (
                    await session.exec(
                        select(Redemption)
                        .where(Redemption.status == RedemptionStatus.NEEDS_OPS)
                        .order_by(col(Redemption.updated_at))
                        .limit(limit)
                    )
                ).all()
            )

    rows = _run(read)
    table = Table("id", "vendor", "points", "face value", "since", "reason", box=None)
    for row in rows:
        table.add_row(
            str(row.id),
            row.vendor,
            str(row.points),
            f"{row.face_amount.normalize():f} {row.face_currency}",
            row.updated_at.strftime("%Y-%m-%d %H:%M"),
            (row.failure_reason or "")[:80],
        )
    _console.print(table)
    _console.print(f"{len(rows)} redemption(s) need ops")


def _say(result: OpsResult) -> None:
    row = result.redemption
    typer.echo(f"{row.id}: {row.status} ({result.outcome})")
    if row.failure_reason and row.status != RedemptionStatus.COMPLETED:
        typer.echo(f"  {row.failure_reason}")


@ops_cli.command("replay")
def ops_replay(redemption: Annotated[str, typer.Argument(help="Its uuid or global id.")]) -> None:
    """Run the redemption's saga again under the same vendor key."""
    redemption_id = redemption_id_of(redemption)
    _say(_run(lambda service: replay(service, redemption_id, actor=_actor())))


@ops_cli.command("cancel")
def ops_cancel(
    redemption: Annotated[str, typer.Argument(help="Its uuid or global id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
) -> None:
    """Cancel at the vendor where it allows; refund only what is proven undone."""
    redemption_id = redemption_id_of(redemption)
    _say(_run(lambda service: cancel(service, redemption_id, actor=_actor(), reason=reason)))


@ops_cli.command("show")
def ops_show(redemption: Annotated[str, typer.Argument(help="Its uuid or global id.")]) -> None:
    """The redemption's whole history: states, vendor calls, ops actions, ledger entries."""
    redemption_id = redemption_id_of(redemption)
    found = _run(lambda service: history(service, redemption_id))
    row = found.redemption
    _console.print(
        f"[bold]{row.id}[/bold]  {row.status}  {row.points} points  "
        f"{row.face_amount.normalize():f} {row.face_currency}  {row.vendor} "
        f"(key {row.vendor_key}, order {row.vendor_reference or '-'})  runs {row.runs}"
    )
    events = Table(
        "at", "kind", "action", "before", "after", "outcome", "actor", "detail", box=None
    )
    for event in found.events:
        events.add_row(
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.kind,
            event.action,
            event.status_before or "",
            event.status_after or "",
            event.outcome or "",
            event.actor or "",
            (event.detail or "")[:70],
        )
    _console.print(events)
    ledger = Table("at", "ledger entry", "points", box=None)
    for entry in found.ledger:
        ledger.add_row(
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"), entry.kind, str(entry.points)
        )
    _console.print(ledger)
