"""Redemptions as the API makes them: checked, priced, reserved in one transaction, then run.

`RedemptionService.redeem` refuses what it can before anything is reserved (the input, the
reward and option, the quote, the balance), then in **one** transaction finds or creates the
member, locks or takes the price (a quote), places the hold and stores the redemption with its
lease held by this process. The saga starts at once as a task of this process; `wait` lets the
mutation answer within its budget while the task goes on. Should the process die, the lease
lapses and any process's worker (`app.redemption.worker`) resumes the redemption.

The redemption row carries the client's idempotency key under a unique ``(member, key)``
constraint: the same key with the same input answers the same redemption, whatever its state
and however many requests race; with another input it is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import orjson
from sqlalchemy import bindparam, insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app._types import utcnow
from app.catalog.offers import ChosenOption, OfferError, choose_option
from app.db import Database, execute
from app.idempotency import IdempotencyKeyReused, fingerprint
from app.log import get_logger
from app.points import ledger
from app.points.models import Member, Program
from app.points.programs import is_member_id, member_account
from app.pricing.fx import FxError, RateTable
from app.pricing.models import Quote
from app.pricing.quotes import (
    InvalidAmount,
    QuoteExpired,
    QuoteNotFound,
    TooManyPoints,
    create_quote,
    usable_quote,
)
from app.pricing.rates import RateBook
from app.redemption.delivery import DeliveryCipher
from app.redemption.models import Redemption, RedemptionStatus
from app.redemption.requests import (
    Problem,
    RedeemRefused,
    RedeemRequest,
    check_for_kind,
    check_shape,
    dump_details,
    vendor_key,
)
from app.redemption.saga import Hook, Saga, SagaPolicy, event_row, insert_events, new_lease
from app.settings import Settings
from app.vendor_pool import VendorPool
from vendors import InvalidOrderRequest, OrderRequest, VendorError
from vendors.registry import VENDORS

__all__ = ["Redeemed", "RedemptionService", "policy_from"]

_logger = get_logger(__name__)
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Redeemed:
    redemption: Redemption
    task: asyncio.Task[Redemption | None] | None  # the saga, when this call started it


def policy_from(settings: Settings) -> SagaPolicy:
    return SagaPolicy(
        lease=timedelta(seconds=settings.redemption.lease_seconds),
        retry_base=settings.redemption.retry_base_seconds,
        retry_max=settings.redemption.retry_max_seconds,
        deadlines={
            spec.name: timedelta(hours=settings.vendors.of(spec.name).order_deadline_hours)
            for spec in VENDORS
        },
    )


def process_owner() -> str:
    """This process's name on the leases it takes: host, pid and a random part (a restarted
    process with the same pid is another owner)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(6)}"


class RedemptionService:
    def __init__(
        self,
        database: Database,
        vendors: VendorPool,
        rates: RateBook,
        settings: Settings,
        *,
        clock: Clock | None = None,
        hook: Hook | None = None,
        owner: str | None = None,
    ) -> None:
        self.database = database
        self.vendors = vendors
        self.rates = rates
        self.settings = settings
        self.clock = clock or utcnow
        self.cipher = DeliveryCipher(settings.delivery_keys.get_secret_value())
        self.policy = policy_from(settings)
        self.owner = owner or process_owner()
        self.saga = Saga(
            database, vendors.adapters, self.cipher, self.policy, clock=self.clock, hook=hook
        )
        self._tasks: set[asyncio.Task[Redemption | None]] = set()
        self._wake = asyncio.Event()

    # -- making one -------------------------------------------------------------------------

    async def redeem(self, program: Program, request: RedeemRequest) -> Redeemed:
        """The redemption ``request`` makes (or made, under its key), its saga started;
        `RedeemRefused` when nothing was reserved."""
        now = self.clock()
        if not is_member_id(request.member_id):
            raise RedeemRefused("NOT_FOUND", "no such member", "memberId")
        check_shape(request)
        request_hash = fingerprint(request.fingerprint())
        breakers = {name: a.breaker_state() for name, a in self.vendors.adapters.items()}
        chosen: ChosenOption | None = None
        async with self.database.session() as session:
            existing = await _by_key(session, program.id, request)
            if existing is None and self.rates.last is not None:
                # The rates in memory: pricing asks nobody, the offer is chosen in this session.
                rates = await self._rates(now)
                chosen = await _choose(session, request, rates, breakers)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise _key_reused()
            return Redeemed(existing, None)
        if chosen is None:
            # Asked with no connection held: a refresh (the process's first pricing) writes the
            # rates, and readers that held their connections meanwhile would starve the pool.
            rates = await self._rates(now)
            async with self.database.session() as session:
                chosen = await _choose(session, request, rates, breakers)
        check_for_kind(request, chosen.reward.kind, now=now)
        await self._vendor_checks(chosen, request)

        lease = new_lease(self.owner)

        async def made(session: AsyncSession, member_id: uuid.UUID) -> Redemption | None:
            found = await _find(session, member_id, request.idempotency_key)
            if found is not None and found.request_hash != request_hash:
                raise IdempotencyKeyReused(request.idempotency_key)
            return found

        async def reserve(session: AsyncSession) -> tuple[Redemption, bool]:
            # The clock read again, on every attempt: the pricing and the vendor's checks above
            # take time, and the ledger dates the hold by it (a stale one would date it before
            # an earn that committed meanwhile and whose points it spends).
            now = self.clock()
            member, account = await member_account(session, program.id, request.member_id, now=now)
            # Made since the look-up above? Looked up under the account's lock, which a twin
            # request holds until it commits: a twin inserted instead would wait on the
            # winner's row while the winner's saga, updating it, waits for this lock.
            await ledger.lock_account(session, account.id)
            found = await made(session, member.id)
            if found is not None:
                return found, False
            redemption_id = uuid.uuid4()
            try:
                quote = await self._price(session, program, member, chosen, request, rates, now)
                hold = await ledger.place_hold(
                    session, account, quote.points, now=now, reference=f"redemption:{redemption_id}"
                )
            except (ledger.InsufficientPoints, RedeemRefused):
                # Refused: unless a request under the key committed while this one waited for
                # the account's lock (it may be what spent the points); that is the answer.
                found = await made(session, member.id)
                if found is None:
                    raise
                return found, False
            first = chosen.best.offer
            row = Redemption(
                id=redemption_id,
                program_id=program.id,
                member_id=member.id,
                account_id=account.id,
                idempotency_key=request.idempotency_key,
                request_hash=request_hash,
                reward_id=chosen.reward.id,
                option_id=chosen.option.id,
                kind=chosen.reward.kind,
                face_amount=chosen.face_value.amount,
                face_currency=chosen.face_value.currency,
                points=quote.points,
                quote_id=quote.id,
                hold_id=hold.id,
                quoted_amount=quote.price_amount,
                quoted_currency=quote.price_currency,
                offers=_offers_json(chosen),
                order_details=dump_details(request),
                vendor=first.vendor,
                vendor_product_id=first.vendor_product_id,
                attempt=1,
                vendor_key=vendor_key(redemption_id, 1),
                status=RedemptionStatus.POINTS_RESERVED,
                runs=1,
                locked_by=lease,
                locked_until=now + self.policy.lease,
                # Due as soon as the lease lapses: a process that dies leaves it to the worker.
                next_run_at=now + self.policy.lease,
                deadline_at=now + self.policy.deadline(first.vendor),
                created_at=now,
                updated_at=now,
            )
            await execute(session, _INSERT_REDEMPTION, row.model_dump())
            reserved = event_row(
                redemption_id,
                now,
                "state",
                "reserve",
                before=RedemptionStatus.PENDING,
                after=RedemptionStatus.POINTS_RESERVED,
                detail=f"{quote.points} points held; ordering from {first.vendor}",
            )
            await insert_events(session, [reserved])
            return row, True

        try:
            try:
                row, created = await self.database.write(reserve)
            except IntegrityError:
                # A concurrent request with the same key won: answer what it made.
                row, created = await self.database.write(reserve)
        except IdempotencyKeyReused:
            raise _key_reused() from None
        except ledger.InsufficientPoints as short:
            raise RedeemRefused("INSUFFICIENT_POINTS", str(short)) from None
        if not created:
            return Redeemed(row, None)
        await self.saga.at("committed:reserve")
        return Redeemed(row, self.start(row.id, fresh=True, lease=lease, created=row))

    async def _rates(self, now: datetime) -> RateTable:
        try:
            return await self.rates.current(now)
        except FxError as error:
            raise RedeemRefused("PRICING_UNAVAILABLE", str(error)) from error

    async def _vendor_checks(self, chosen: ChosenOption, request: RedeemRequest) -> None:
        """What the first offer's vendor would refuse (Viator's booking questions), refused
        now, before a point is held. A vendor that cannot be asked now is left to the saga."""
        offer = chosen.best.offer
        adapter = self.vendors.adapters.get(offer.vendor)
        if adapter is None:
            return
        order = OrderRequest(
            idempotency_key="check",
            product_id=offer.vendor_product_id,
            amount=chosen.face_value.amount,
            currency=chosen.face_value.currency,
            recipient=request.recipient,
            shipping_address=request.shipping_address,
            experience=request.experience,
        )
        try:
            await adapter.check_order(order)
        except InvalidOrderRequest as refused:
            raise _refusal(refused) from None
        except VendorError:
            return

    async def _price(
        self,
        session: AsyncSession,
        program: Program,
        member: Member,
        chosen: ChosenOption,
        request: RedeemRequest,
        rates: RateTable,
        now: datetime,
    ) -> Quote:
        if request.quote_id is not None:
            try:
                quote = await usable_quote(session, request.quote_id, member_id=member.id, now=now)
            except QuoteNotFound:
                raise RedeemRefused("NOT_FOUND", "no such quote", "quoteId") from None
            except QuoteExpired as expired:
                raise RedeemRefused("QUOTE_EXPIRED", str(expired), "quoteId") from None
            if (quote.reward_id, quote.option_id, quote.face_amount, quote.face_currency) != (
                chosen.reward.id,
                chosen.option.id,
                chosen.face_value.amount,
                chosen.face_value.currency,
            ):
                raise RedeemRefused(
                    "QUOTE_MISMATCH", "the quote is for another reward, option or amount", "quoteId"
                )
            return quote
        try:
            return await create_quote(
                session,
                program=program,
                member_id=member.id,
                option=chosen.priced(),
                rates=rates,
                policy=self.rates.policy,
                now=now,
                lifetime=timedelta(seconds=self.settings.quote_lifetime_seconds),
            )
        except FxError as error:
            raise RedeemRefused("PRICING_UNAVAILABLE", str(error)) from None
        except InvalidAmount as error:
            raise RedeemRefused("INVALID_AMOUNT", str(error), "amount") from None
        except TooManyPoints as error:
            raise RedeemRefused("INSUFFICIENT_POINTS", str(error)) from None

    # -- running ----------------------------------------------------------------------------

    def start(
        self,
        redemption_id: uuid.UUID,
        *,
        fresh: bool,
        lease: str,
        created: Redemption | None = None,
    ) -> asyncio.Task[Redemption | None]:
        """Run the saga of a redemption under the claim ``lease``, as a task the service keeps
        until it ends (and waits for at shutdown)."""
        task = asyncio.create_task(
            self._drive(redemption_id, fresh, lease, created), name=f"saga:{redemption_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _drive(
        self, redemption_id: uuid.UUID, fresh: bool, lease: str, created: Redemption | None
    ) -> Redemption | None:
        try:
            return await self.saga.drive(redemption_id, fresh=fresh, lease=lease, created=created)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The state is as last committed: try again later, or hand it to ops.
            _logger.exception("redemption.run_failed", redemption=str(redemption_id))
            with contextlib.suppress(Exception):
                await self.saga.give_up_run(redemption_id, lease, error)
            return None

    async def wait(self, redeemed: Redeemed, seconds: float) -> Redemption:
        """The redemption once its saga ends or ``seconds`` pass, whichever is first."""
        task = redeemed.task
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=seconds)
            if done and (result := task.result()) is not None:
                return result
        return await self.get(redeemed.redemption.id) or redeemed.redemption

    async def get(self, redemption_id: uuid.UUID) -> Redemption | None:
        async with self.database.session() as session:
            return await session.get(Redemption, redemption_id)

    async def drain(self, seconds: float = 10.0) -> None:
        """Let running sagas reach their next commit; cancel what is left after ``seconds``
        (their leases lapse and another process resumes them)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=seconds)

    def wake(self) -> None:
        """Tell this process's worker that something is due now (a vendor webhook)."""
        self._wake.set()

    async def open(self, stack: AsyncExitStack, *, worker: bool) -> None:
        stack.push_async_callback(self.drain)
        if worker:
            from app.redemption.worker import Worker

            await Worker(self, wake=self._wake).start(stack)


async def _choose(
    session: AsyncSession,
    request: RedeemRequest,
    rates: RateTable,
    breakers: dict[str, str],
) -> ChosenOption:
    try:
        return await choose_option(
            session,
            request.reward_id,
            request.option_id,
            request.amount,
            rates=rates,
            breaker_states=breakers,
        )
    except OfferError as refused:
        raise RedeemRefused(refused.code, refused.message, refused.field) from None


async def _by_key(
    session: AsyncSession, program_id: uuid.UUID, request: RedeemRequest
) -> Redemption | None:
    """The member's redemption under the request's key, if any: one statement."""
    found = (
        await execute(
            session,
            _BY_KEY,
            {
                "program": program_id,
                "member": request.member_id,
                "key": request.idempotency_key,
            },
        )
    ).first()
    return None if found is None else Redemption(**found._mapping)


_REDEMPTIONS: Final = Redemption.__table__  # type: ignore[attr-defined]
_MEMBERS: Final = Member.__table__  # type: ignore[attr-defined]
_BY_KEY: Final = (
    sa_select(*_REDEMPTIONS.c)
    .join(_MEMBERS, _MEMBERS.c.id == _REDEMPTIONS.c.member_id)
    .where(
        _MEMBERS.c.program_id == bindparam("program"),
        _MEMBERS.c.external_id == bindparam("member"),
        _REDEMPTIONS.c.idempotency_key == bindparam("key"),
    )
)


async def _find(session: AsyncSession, member_id: uuid.UUID, key: str) -> Redemption | None:
    found = (await execute(session, _BY_MEMBER_KEY, {"member": member_id, "key": key})).first()
    return None if found is None else Redemption(**found._mapping)


_BY_MEMBER_KEY: Final = sa_select(*_REDEMPTIONS.c).where(
    _REDEMPTIONS.c.member_id == bindparam("member"),
    _REDEMPTIONS.c.idempotency_key == bindparam("key"),
)


_INSERT_REDEMPTION: Final = insert(_REDEMPTIONS)


def _key_reused() -> RedeemRefused:
    return RedeemRefused(
        "IDEMPOTENCY_KEY_REUSED",
        "this idempotency key was used with a different input",
        "idempotencyKey",
    )


def _refusal(refused: InvalidOrderRequest) -> RedeemRefused:
    if refused.vendor_code == "BOOKING_QUESTIONS" and isinstance(refused.body, list):
        problems = tuple(
            Problem(
                "BOOKING_QUESTIONS",
                f"{item.get('label') or item['question']}: {item['problem']}"
                + (f" (traveler {item['traveler']})" if item.get("traveler") else "")
                + (
                    f"; one of {', '.join(item['allowedAnswers'])}"
                    if item.get("allowedAnswers")
                    else ""
                ),
                f"experience.answers.{item['question']}",
            )
            for item in refused.body
        )
        return RedeemRefused(
            "BOOKING_QUESTIONS", refused.message, "experience.answers", problems=problems
        )
    return RedeemRefused("INVALID_ORDER", refused.message, None)


def _offers_json(chosen: ChosenOption) -> str:
    return orjson.dumps(
        [
            {
                "offer_id": str(ranked.offer.id),
                "vendor": ranked.offer.vendor,
                "product_id": ranked.offer.vendor_product_id,
                "cost": [str(ranked.cost.amount), ranked.cost.currency],
            }
            for ranked in chosen.offers
        ]
    ).decode()
