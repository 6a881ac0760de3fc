"""The redemption saga: reserve the points, place the vendor order, settle or compensate.

::

    POINTS_RESERVED ──order──▶ VENDOR_PENDING ──poll──▶ COMPLETED (hold posted)
          │  └──────────── fulfilled at once ─────────▶ COMPLETED
          │ proven failed, no other offer            │ proven failed
          ▼                                          ▼
     COMPENSATED (hold voided)                  COMPENSATED
          any state: deadline passed, order lost, ledger refused ──▶ NEEDS_OPS (hold kept)

`Saga.drive` runs one redemption as far as it can go now. It runs only under the
redemption's lease: ``locked_by`` holds the token of one claim (`new_lease`: this process and
a random part), taken by the service when it creates the redemption, by the worker when it
picks a due one, by an ops action; a later claim, even by the same process, is another token.
Every state change is one transaction whose ``UPDATE`` is fenced by the lease and the status
it started from, and the ledger movement that goes with it (post, void) is in that same
transaction; nothing is sent to a vendor before the state it is sent from is committed.

The rules that keep exactly one order per redemption:

* The vendor key is derived from the redemption id and the attempt (`vendor_key`). A new
  attempt (a new key, or failing over to the next offer) is minted only when the last one is
  proven to have made nothing: the vendor refused it, or it was never sent.
* A key that may have been sent before (anything but the run that minted it) is looked up at
  the vendor first (``lookup_order``); an ambiguous answer is always resolved by a lookup,
  never by a refund or a blind resend.
* Any exception an adapter raises that is not a `VendorError` is taken as ambiguous.

Named hook points (``before:<call>``, ``after:<call>``, ``committed:<status>``) let tests crash
the runner at every step boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, TypeVar

import orjson
from sqlalchemy import bindparam, insert, update
from sqlalchemy.sql import ClauseElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import Database, execute
from app.log import get_logger
from app.points import ledger
from app.redemption.delivery import DeliveryCipher
from app.redemption.models import Redemption, RedemptionEvent, RedemptionStatus
from app.redemption.requests import load_details, vendor_key
from vendors import (
    AmbiguousOutcome,
    Delivery,
    Hold,
    InvalidOrderRequest,
    Money,
    OrderRequest,
    OrderResult,
    OrderStatus,
    PermanentVendorError,
    TransientVendorError,
    TwoPhaseAdapter,
    VendorAdapter,
    VendorAuthError,
    VendorError,
    VendorUnavailable,
)

__all__ = [
    "Hook",
    "LeaseLost",
    "Saga",
    "SagaPolicy",
    "event_row",
    "fenced_update",
    "insert_events",
    "new_lease",
]

T = TypeVar("T")
Hook = Callable[[str], Awaitable[None]]
Clock = Callable[[], datetime]
_logger = get_logger(__name__)

# A vendor hold this close to its end is held again rather than committed.
_HOLD_MARGIN = timedelta(seconds=30)
# The claim the current `Saga.drive` runs under (each run is a task of its own).
_LEASE: contextvars.ContextVar[str] = contextvars.ContextVar("redemption_lease")
_DETAIL = 1000
_REFERENCE = 200
_MICRO = Decimal("0.000001")


class LeaseLost(Exception):
    """Another runner took the redemption (this one's lease lapsed): stop without writing."""


@dataclass(frozen=True)
class SagaPolicy:
    lease: timedelta = timedelta(seconds=30)
    retry_base: float = 2.0
    retry_max: float = 300.0
    deadlines: Mapping[str, timedelta] = field(default_factory=dict)
    default_deadline: timedelta = timedelta(hours=72)

    def deadline(self, vendor: str) -> timedelta:
        return self.deadlines.get(vendor, self.default_deadline)

    def backoff(self, runs: int, at_least: float | None = None) -> timedelta:
        wait = min(self.retry_max, self.retry_base * 2 ** min(max(runs - 1, 0), 20))
        return timedelta(seconds=max(wait, at_least or 0.0))


@dataclass
class _Event:
    kind: str
    action: str
    outcome: str | None = None
    detail: str | None = None


@dataclass
class _Step:
    """What one step decided: the state to commit, and whether to go on in this run."""

    status: RedemptionStatus
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    post: int | None = None  # points to post
    void: bool = False
    go_on: bool = False  # run the next step now (the key it leads to is fresh)
    next_run_at: datetime | None = None


def event_row(
    redemption_id: uuid.UUID,
    at: datetime,
    kind: str,
    action: str,
    *,
    before: str | None = None,
    after: str | None = None,
    outcome: str | None = None,
    detail: str | None = None,
    actor: str | None = None,
) -> dict[str, Any]:
    return {
        "redemption_id": redemption_id,
        "at": at,
        "kind": kind,
        "action": action,
        "status_before": before,
        "status_after": after,
        "outcome": outcome[:64] if outcome else None,
        "detail": detail[:_DETAIL] if detail else None,
        "actor": actor,
    }


class Saga:
    def __init__(
        self,
        database: Database,
        adapters: Mapping[str, VendorAdapter],
        cipher: DeliveryCipher,
        policy: SagaPolicy,
        *,
        clock: Clock,
        hook: Hook | None = None,
    ) -> None:
        self.database = database
        self.adapters = adapters
        self.cipher = cipher
        self.policy = policy
        self.clock = clock
        self.hook = hook

    async def drive(
        self,
        redemption_id: uuid.UUID,
        *,
        fresh: bool,
        lease: str,
        created: Redemption | None = None,
    ) -> Redemption | None:
        """Run the redemption until it is terminal, waits (a retry or a poll is due later) or
        needs ops, under the claim ``lease``. ``fresh``: its current vendor key was minted by
        the caller's own transaction just now, so it cannot have been sent. ``created``: the
        row as that transaction committed it (not read back). None when the lease is not (or
        no longer) this claim's."""
        row = created if created is not None else await self._load(redemption_id)
        if row is None or row.locked_by != lease:
            return None
        held = _LEASE.set(lease)
        try:
            while True:
                step = await self._step(row, fresh)
                try:
                    row = await self._commit(row, step)
                except LeaseLost:
                    _logger.warning("redemption.lease_lost", redemption=str(redemption_id))
                    return None
                await self.at(f"committed:{row.status}")
                if not step.go_on:
                    return row
                fresh = True
        finally:
            _LEASE.reset(held)

    async def give_up_run(self, redemption_id: uuid.UUID, lease: str, error: BaseException) -> None:
        """A run ended by an error of ours (a bug, a vendor value we cannot store): release the
        lease and try again later, or hand it to ops once its deadline has passed, so that it
        never sits in flight unseen."""
        row = await self._load(redemption_id)
        if row is None or row.locked_by != lease:
            return
        now = self.clock()
        reason = f"a run failed: {type(error).__name__}: {error}"[:_DETAIL]
        values: dict[str, Any] = {
            "locked_by": None,
            "locked_until": None,
            "updated_at": now,
            "failure_reason": reason,
            "next_run_at": now + self.policy.backoff(row.runs),
        }
        if now >= row.deadline_at:
            values.update(status=RedemptionStatus.NEEDS_OPS, next_run_at=None)

        async def work(session: AsyncSession) -> None:
            await fenced_update(session, row, lease, values, same_status=True)
            step = _Step(
                RedemptionStatus(values.get("status", row.status)), {"failure_reason": reason}
            )
            step.events.append(_Event("state", "run_failed", type(error).__name__, reason))
            await _record(session, row, step, now)

        with contextlib.suppress(LeaseLost):
            await self.database.write(work)

    # -- steps ------------------------------------------------------------------------------

    async def _step(self, row: Redemption, fresh: bool) -> _Step:
        if row.status == RedemptionStatus.POINTS_RESERVED:
            return await self._order(row, fresh)
        if row.status == RedemptionStatus.VENDOR_PENDING:
            if row.vendor_reference:
                return await self._poll(row)
            return await self._find(row)
        raise AssertionError(f"a {row.status} redemption does not run")

    async def _order(self, row: Redemption, fresh: bool) -> _Step:
        adapter = self.adapters.get(row.vendor)
        if adapter is None:
            return self._unsent(row, fresh, [], f"{row.vendor} is not enabled here")
        request = self._request(row)
        events: list[_Event] = []
        operation = "lookup_order"
        try:
            if not fresh:
                found = await self._call(
                    "lookup_order",
                    row,
                    lambda: adapter.lookup_order(row.vendor_key, since=row.created_at),
                )
                events.append(_Event("vendor", "lookup_order", _found(found)))
                if found is not None and not _uncommitted(adapter, found):
                    return self._result(row, found, events, ordered=True)
            if isinstance(adapter, TwoPhaseAdapter) and adapter.capabilities.two_phase:
                hold = self._vendor_hold(row)
                if hold is None:
                    operation = "prepare"
                    hold = await self._call("prepare", row, lambda: adapter.prepare(request))
                    events.append(_Event("vendor", "prepare", "held", hold.reference))
                    return _Step(
                        RedemptionStatus.POINTS_RESERVED,
                        {"vendor_hold": _hold_json(hold)},
                        events,
                        go_on=True,
                    )
                operation = "commit"
                result = await self._call("commit", row, lambda: adapter.commit(request, hold))
            else:
                operation = "place_order"
                result = await self._call("place_order", row, lambda: adapter.place_order(request))
        except asyncio.CancelledError:
            raise
        except VendorError as error:
            return self._refused(row, error, operation, fresh or bool(events), events)
        except Exception as error:  # an adapter bug: the order may exist all the same
            return self._ambiguous(row, operation, error, events)
        events.append(_Event("vendor", operation, result.status, result.detail))
        return self._result(row, result, events, ordered=True)

    async def _poll(self, row: Redemption) -> _Step:
        adapter = self.adapters.get(row.vendor)
        reference = row.vendor_reference
        assert reference is not None
        if adapter is None:
            return self._later(row, [], f"{row.vendor} is not enabled here")
        try:
            result = await self._call("get_order", row, lambda: adapter.get_order(reference))
        except asyncio.CancelledError:
            raise
        except PermanentVendorError as error:
            event = _Event("vendor", "get_order", type(error).__name__, error.message)
            return self._needs_ops(row, [event], f"the vendor lost order {reference}: {error}")
        except Exception as error:
            event = _Event("vendor", "get_order", type(error).__name__, str(error))
            return self._later(row, [event], str(error), _retry_after(error))
        events = [_Event("vendor", "get_order", result.status, result.detail)]
        return self._result(row, result, events, ordered=False)

    async def _find(self, row: Redemption) -> _Step:
        """After an ambiguous call: does the order exist?"""
        adapter = self.adapters.get(row.vendor)
        if adapter is None:
            return self._later(row, [], f"{row.vendor} is not enabled here")
        try:
            found = await self._call(
                "lookup_order",
                row,
                lambda: adapter.lookup_order(row.vendor_key, since=row.created_at),
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            event = _Event("vendor", "lookup_order", type(error).__name__, str(error))
            return self._later(row, [event], str(error), _retry_after(error))
        events = [_Event("vendor", "lookup_order", _found(found))]
        if found is None or _uncommitted(adapter, found):
            # Proven absent (or a draft never confirmed): order again under the same key.
            return _Step(RedemptionStatus.POINTS_RESERVED, {}, events, go_on=True)
        return self._result(row, found, events, ordered=False)

    # -- outcomes ---------------------------------------------------------------------------

    def _result(
        self, row: Redemption, result: OrderResult, events: list[_Event], *, ordered: bool
    ) -> _Step:
        if len(result.vendor_reference) > _REFERENCE:
            return self._needs_ops(
                row,
                events,
                f"{row.vendor}'s order reference is longer than {_REFERENCE} characters",
            )
        known: dict[str, Any] = {
            "vendor_reference": result.vendor_reference,
            "vendor_status": result.status.value,
            "vendor_raw_status": result.raw_status[:64],
        }
        if result.charged is not None:
            # Stored to the micro-unit (NUMERIC(20, 6)); no currency has finer minor units.
            known["charged_amount"] = result.charged.amount.quantize(_MICRO, ROUND_HALF_UP)
            known["charged_currency"] = result.charged.currency
            if result.charged != Money(row.quoted_amount, row.quoted_currency):
                events.append(
                    _Event(
                        "vendor",
                        "charge_differs",
                        "recorded",
                        f"quoted {row.quoted_amount} {row.quoted_currency}, charged "
                        f"{result.charged}; the member pays the quoted {row.points} points",
                    )
                )
        status = result.status
        if status is OrderStatus.FULFILLED:
            return self._settle(known, events, row.points, result.delivery)
        if status is OrderStatus.PARTIAL:
            share = _share(row, result.charged)
            if share is None:
                return self._needs_ops(
                    row, events, "partly fulfilled, and the vendor does not say how much", known
                )
            return self._settle(known, events, share, result.delivery)
        if status in (OrderStatus.FAILED, OrderStatus.CANCELLED):
            reason = f"{row.vendor} {status.value.lower()} the order ({result.raw_status})"
            if result.detail:
                reason += f": {result.detail}"
            if ordered:
                return self._failed(row, events, reason, known)
            return self._compensate(row, events, reason, known)
        # ACCEPTED_PENDING or UNKNOWN: the vendor has it; ask again later.
        return self._later(
            row,
            events,
            f"{row.vendor} says {result.raw_status}",
            None,
            known,
            status=RedemptionStatus.VENDOR_PENDING,
        )

    def _refused(
        self,
        row: Redemption,
        error: VendorError,
        operation: str,
        unsent: bool,
        events: list[_Event],
    ) -> _Step:
        events.append(_Event("vendor", operation, type(error).__name__, error.message))
        if operation == "lookup_order":
            # The lookup failed: whether an order exists is still unknown.
            return self._later(row, events, str(error), _retry_after(error))
        if isinstance(error, AmbiguousOutcome):
            return self._ambiguous(row, operation, error, events[:-1])
        if isinstance(error, PermanentVendorError):
            return self._failed(
                row, events, _reason(error), {}, invalid=isinstance(error, InvalidOrderRequest)
            )
        if isinstance(error, VendorUnavailable | VendorAuthError):
            return self._unsent(row, unsent, events, str(error))
        assert isinstance(error, TransientVendorError), type(error)
        return self._later(row, events, str(error), error.retry_after)

    def _ambiguous(
        self, row: Redemption, operation: str, error: BaseException, events: list[_Event]
    ) -> _Step:
        events.append(_Event("vendor", operation, "ambiguous", str(error) or repr(error)))
        if operation == "prepare":
            # A hold costs nothing and lapses; a draft is found by its key: hold again later.
            return self._later(row, events, f"the vendor hold may exist: {error}")
        return self._later(
            row,
            events,
            f"the order may exist: {error}",
            status=RedemptionStatus.VENDOR_PENDING,
            changes={"vendor_hold": None} if operation == "commit" else None,
        )

    def _failed(
        self,
        row: Redemption,
        events: list[_Event],
        reason: str,
        known: dict[str, Any],
        *,
        invalid: bool = False,
    ) -> _Step:
        """The attempt is proven to have made nothing: the next offer, or the refund."""
        if not invalid and row.offer_index + 1 < len(_offers(row)):
            return self._failover(row, events, reason)
        return self._compensate(row, events, reason, known)

    def _unsent(self, row: Redemption, unsent: bool, events: list[_Event], reason: str) -> _Step:
        """The vendor could not be reached and nothing was sent this time."""
        if unsent and row.offer_index + 1 < len(_offers(row)):
            return self._failover(row, events, reason)
        return self._later(row, events, reason)

    def _failover(self, row: Redemption, events: list[_Event], reason: str) -> _Step:
        index = row.offer_index + 1
        offer = _offers(row)[index]
        attempt = row.attempt + 1
        events.append(_Event("state", "failover", offer["vendor"], reason))
        return _Step(
            RedemptionStatus.POINTS_RESERVED,
            {
                "offer_index": index,
                "vendor": offer["vendor"],
                "vendor_product_id": offer["product_id"],
                "attempt": attempt,
                "vendor_key": vendor_key(row.id, attempt),
                "vendor_hold": None,
                "vendor_reference": None,
                "vendor_status": None,
                "vendor_raw_status": None,
                "failure_reason": reason[:_DETAIL],
            },
            events,
            go_on=True,
        )

    def _settle(
        self,
        known: dict[str, Any],
        events: list[_Event],
        points: int,
        delivery: Delivery | None,
    ) -> _Step:
        """Completed: ``points`` posted, the delivery stored sealed."""
        return _Step(
            RedemptionStatus.COMPLETED,
            {
                **known,
                "delivery": self.cipher.seal(delivery),
                "posted_points": points,
                "completed_at": self.clock(),
                "failure_reason": None,
            },
            events,
            post=points,
        )

    def _compensate(
        self, row: Redemption, events: list[_Event], reason: str, known: dict[str, Any]
    ) -> _Step:
        now = self.clock()
        return _Step(
            RedemptionStatus.COMPENSATED,
            {**known, "failure_reason": reason[:_DETAIL], "completed_at": now},
            events,
            void=True,
        )

    def _needs_ops(
        self,
        row: Redemption,
        events: list[_Event],
        reason: str,
        known: dict[str, Any] | None = None,
    ) -> _Step:
        return _Step(
            RedemptionStatus.NEEDS_OPS,
            {**(known or {}), "failure_reason": reason[:_DETAIL]},
            events,
        )

    def _later(
        self,
        row: Redemption,
        events: list[_Event],
        reason: str,
        retry_after: float | None = None,
        known: dict[str, Any] | None = None,
        *,
        status: RedemptionStatus | None = None,
        changes: dict[str, Any] | None = None,
    ) -> _Step:
        now = self.clock()
        values = {**(known or {}), **(changes or {})}
        if now >= row.deadline_at:
            return self._needs_ops(
                row, events, f"no outcome by the vendor's deadline: {reason}", values
            )
        return _Step(
            status or RedemptionStatus(row.status),
            values,
            events,
            next_run_at=now + self.policy.backoff(row.runs, retry_after),
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _request(self, row: Redemption) -> OrderRequest:
        recipient, address, experience = load_details(row.order_details)
        return OrderRequest(
            idempotency_key=row.vendor_key,
            product_id=row.vendor_product_id,
            amount=row.face_amount,
            currency=row.face_currency,
            recipient=recipient,
            shipping_address=address,
            experience=experience,
            placed_since=row.created_at,
        )

    def _vendor_hold(self, row: Redemption) -> Hold | None:
        if row.vendor_hold is None:
            return None
        raw = orjson.loads(row.vendor_hold)
        until = datetime.fromisoformat(raw["valid_until"]) if raw["valid_until"] else None
        if until is not None and until - _HOLD_MARGIN <= self.clock():
            return None  # lapsed, or about to: hold again
        price = Money(Decimal(raw["price"][0]), raw["price"][1]) if raw["price"] else None
        return Hold(
            vendor=raw["vendor"],
            reference=raw["reference"],
            raw_status=raw["raw_status"],
            valid_until=until,
            price=price,
            reused=raw["reused"],
        )

    async def _call(self, operation: str, row: Redemption, call: Callable[[], Awaitable[T]]) -> T:
        await self.at(f"before:{operation}")
        try:
            async with self.lease_kept(row.id, _LEASE.get()):
                return await call()
        finally:
            await self.at(f"after:{operation}")

    async def at(self, point: str) -> None:
        """The hook point ``point`` (tests crash the runner there)."""
        if self.hook is not None:
            await self.hook(point)

    @contextlib.asynccontextmanager
    async def lease_kept(self, redemption_id: uuid.UUID, lease: str) -> AsyncIterator[None]:
        """Renew the claim ``lease`` while a vendor call takes longer than a third of it. A
        renewal that fails is tried again at the next period; one that finds the lease gone
        stops (the commit after the call is then fenced off)."""
        period = self.policy.lease.total_seconds() / 3

        async def renew() -> None:
            while True:
                await asyncio.sleep(period)
                try:
                    kept = await self.database.write(
                        lambda session: _renew(
                            session, redemption_id, lease, self.clock() + self.policy.lease
                        )
                    )
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    _logger.warning(
                        "redemption.lease_renewal_failed",
                        redemption=str(redemption_id),
                        error=repr(error),
                    )
                    continue
                if not kept:
                    _logger.warning("redemption.lease_lost", redemption=str(redemption_id))
                    return

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _load(self, redemption_id: uuid.UUID) -> Redemption | None:
        async with self.database.session() as session:
            return await session.get(Redemption, redemption_id)

    async def _commit(self, row: Redemption, step: _Step) -> Redemption:
        now = self.clock()
        values: dict[str, Any] = {**step.changes, "status": step.status.value, "updated_at": now}
        if step.go_on:
            values["locked_until"] = now + self.policy.lease
        else:
            values.update(locked_by=None, locked_until=None, next_run_at=step.next_run_at)

        async def work(session: AsyncSession) -> Redemption:
            changed = await fenced_update(session, row, _LEASE.get(), values, same_status=True)
            if step.post is not None:
                await ledger.post_hold(session, row.hold_id, now=now, amount=step.post)
            if step.void:
                await ledger.void_hold(session, row.hold_id, now=now)
            await _record(session, row, step, now)
            return changed

        try:
            return await self.database.write(work)
        except ledger.LedgerError as refused:
            # The hold cannot move as the step wants (resolved by someone else): ops decide.
            problem = self._needs_ops(row, step.events, f"the points ledger refused: {refused}")
            return await self._commit(row, problem)


async def fenced_update(
    session: AsyncSession,
    row: Redemption,
    lease: str,
    values: dict[str, Any],
    *,
    same_status: bool = False,
) -> Redemption:
    """Set ``values`` on the redemption if the claim ``lease`` still holds it (and, with
    ``same_status``, it is still in ``row``'s status); `LeaseLost` otherwise. A value may be
    an SQL expression (``runs + 1``)."""
    params: dict[str, Any] = {"fence_id": row.id, "fence_lease": lease, "fence_status": row.status}
    if any(isinstance(value, ClauseElement) for value in values.values()):
        statement = _fenced(tuple(values), same_status).values(values)
    else:
        names = tuple(sorted(values))
        statement = _FENCED.get((names, same_status))
        if statement is None:
            statement = _FENCED[names, same_status] = _fenced(names, same_status).values(
                {name: bindparam(f"set_{name}") for name in names}
            )
        params.update({f"set_{name}": value for name, value in values.items()})
    changed = (await execute(session, statement, params)).first()
    if changed is None:
        raise LeaseLost(str(row.id))
    return Redemption(**changed._mapping)


_REDEMPTIONS: Final = Redemption.__table__  # type: ignore[attr-defined]
_EVENTS: Final = RedemptionEvent.__table__  # type: ignore[attr-defined]
_INSERT_EVENTS: Final = insert(_EVENTS)
# The fenced UPDATE of each set of columns a step changes, built on first use.
_FENCED: dict[tuple[tuple[str, ...], bool], Any] = {}


def _fenced(names: tuple[str, ...], same_status: bool) -> Any:
    conditions = [
        _REDEMPTIONS.c.id == bindparam("fence_id"),
        _REDEMPTIONS.c.locked_by == bindparam("fence_lease"),
    ]
    if same_status:
        conditions.append(_REDEMPTIONS.c.status == bindparam("fence_status"))
    return update(_REDEMPTIONS).where(*conditions).returning(*_REDEMPTIONS.c)


async def insert_events(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Append rows made by `event_row` to the redemption's history."""
    await execute(session, _INSERT_EVENTS, events)


async def _renew(
    session: AsyncSession, redemption_id: uuid.UUID, lease: str, until: datetime
) -> bool:
    renewed = await session.exec(
        update(Redemption)
        .where(col(Redemption.id) == redemption_id, col(Redemption.locked_by) == lease)
        .values(locked_until=until)
    )
    return bool(renewed.rowcount)


def new_lease(owner: str) -> str:
    """A claim's token: the process, and a random part of its own."""
    return f"{owner}/{secrets.token_hex(4)}"


async def _record(session: AsyncSession, row: Redemption, step: _Step, now: datetime) -> None:
    rows = [
        event_row(row.id, now, event.kind, event.action, outcome=event.outcome, detail=event.detail)
        for event in step.events
    ]
    if step.status != row.status or not rows:
        rows.append(
            event_row(
                row.id,
                now,
                "state",
                step.status.value.lower(),
                before=row.status,
                after=step.status.value,
                detail=step.changes.get("failure_reason"),
            )
        )
    await insert_events(session, rows)


def _offers(row: Redemption) -> list[dict[str, Any]]:
    offers: list[dict[str, Any]] = orjson.loads(row.offers)
    return offers


def _found(found: OrderResult | None) -> str:
    return "absent" if found is None else f"found {found.status.value}"


def _uncommitted(adapter: VendorAdapter, found: OrderResult) -> bool:
    """A two-phase order found before its commit (a Printful draft): not an order yet. Any
    other status the adapter cannot name is an order of unknown state: polled, not redone."""
    return adapter.capabilities.two_phase and found.draft


def _share(row: Redemption, charged: Money | None) -> int | None:
    """The points a partial fulfilment costs: the quoted points in the proportion charged,
    rounded up, never more than the quote."""
    if charged is None or charged.currency != row.quoted_currency or not row.quoted_amount:
        return None
    if not 0 < charged.amount < row.quoted_amount:
        return None
    share = -(-(row.points * charged.amount) // row.quoted_amount)
    return max(1, min(row.points, int(share)))


def _hold_json(hold: Hold) -> str:
    return orjson.dumps(
        {
            "vendor": hold.vendor,
            "reference": hold.reference,
            "raw_status": hold.raw_status,
            "valid_until": hold.valid_until.isoformat() if hold.valid_until else None,
            "price": [str(hold.price.amount), hold.price.currency] if hold.price else None,
            "reused": hold.reused,
        }
    ).decode()


def _retry_after(error: BaseException) -> float | None:
    return error.retry_after if isinstance(error, TransientVendorError) else None


def _reason(error: VendorError) -> str:
    code = f" [{error.vendor_code}]" if error.vendor_code else ""
    return f"{error.vendor} refused the order{code}: {error.message}"
