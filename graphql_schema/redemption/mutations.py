from __future__ import annotations

import uuid
from contextlib import suppress
from decimal import Decimal

import strawberry

from app.redemption.requests import RedeemRefused, RedeemRequest
from graphql_schema.context import Info
from graphql_schema.core.errors import UserError, user_error
from graphql_schema.core.ids import global_uuid
from graphql_schema.core.permissions import MemberOrPartner
from graphql_schema.redemption.types import Redemption, redemption_type
from vendors import Address, BookingAnswer, ExperienceDetails, Recipient

__all__ = ["RedeemInput", "RedeemPayload", "RedemptionMutation"]


@strawberry.input(description="Who receives the reward.")
class RecipientInput:
    name: str
    email: str
    phone: str | None = strawberry.field(
        default=None, description="Required by some experiences (the lead traveller's phone)."
    )


@strawberry.input(description="Where merchandise ships.")
class AddressInput:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. GB.")
    line2: str | None = None
    region: str | None = None


@strawberry.input(description="An answer to one of an experience's booking questions.")
class BookingAnswerInput:
    question: str = strawberry.field(description="The question's id, e.g. PICKUP_POINT.")
    answer: str
    traveler: int | None = strawberry.field(
        default=None, description="1-based, for questions asked of each traveler."
    )
    unit: str | None = None


@strawberry.input(description="When and for how many an experience is booked.")
class ExperienceInput:
    travel_date: str = strawberry.field(description="YYYY-MM-DD, after today.")
    travelers: int
    answers: list[BookingAnswerInput] = strawberry.field(
        default_factory=list,
        description="Answers to the experience's booking questions; a missing one is a "
        "BOOKING_QUESTIONS user error naming it.",
    )


@strawberry.input
class RedeemInput:
    reward_id: strawberry.ID = strawberry.field(description="A `Reward` id from the catalog.")
    idempotency_key: str = strawberry.field(
        description="The same key with the same input answers the same redemption and does "
        "nothing else; with another input it is refused (IDEMPOTENCY_KEY_REUSED)."
    )
    option_id: strawberry.ID | None = strawberry.field(
        default=None, description="A `RewardOption` id of the reward (optional when it has one)."
    )
    amount: Decimal | None = strawberry.field(default=None, description="For range options.")
    quote_id: strawberry.ID | None = strawberry.field(
        default=None, description="Redeem at a quote's locked points."
    )
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required with a partner key: who redeems."
    )
    recipient: RecipientInput | None = None
    shipping_address: AddressInput | None = strawberry.field(
        default=None, description="Merchandise."
    )
    experience: ExperienceInput | None = strawberry.field(default=None, description="Experiences.")


@strawberry.type
class RedeemPayload:
    redemption: Redemption | None
    user_errors: list[UserError]


def _refused(code: str, message: str, field: str | None) -> RedeemPayload:
    return RedeemPayload(redemption=None, user_errors=[user_error(code, message, field)])


@strawberry.type
class RedemptionMutation:
    @strawberry.mutation(
        description="Spend points on a reward. Waits for the vendor up to "
        "`REWARDGATE_REDEMPTION__WAIT_SECONDS`, then answers the redemption as it stands; "
        "follow it with `redemption(id)`.",
        permission_classes=[MemberOrPartner],
    )
    async def redeem(self, info: Info, input: RedeemInput) -> RedeemPayload:
        context = info.context
        caller = context.caller()
        member_id = caller.member_id if caller.role == "member" else input.member_id
        if caller.role == "member" and input.member_id not in (None, caller.member_id):
            return _refused("NOT_FOUND", "no such member", "memberId")
        if member_id is None:
            return _refused("MEMBER_REQUIRED", "name the member who redeems", "memberId")
        reward_id = global_uuid(input.reward_id, "Reward")
        if reward_id is None:
            return _refused("NOT_FOUND", "no such reward", "rewardId")
        option_id = None
        if input.option_id is not None:
            option_id = global_uuid(input.option_id, "RewardOption")
            if option_id is None:
                return _refused("NOT_FOUND", "no such option", "optionId")
        quote_id = None
        if input.quote_id is not None:
            quote_id = _uuid(str(input.quote_id))
            if quote_id is None:
                return _refused("NOT_FOUND", "no such quote", "quoteId")
        program = await context.loaders.program_by_id.load(context.program_id())
        assert program is not None, "a credential's program exists (foreign key)"
        request = RedeemRequest(
            member_id=str(member_id),
            reward_id=reward_id,
            idempotency_key=input.idempotency_key,
            option_id=option_id,
            amount=input.amount,
            quote_id=quote_id,
            recipient=_recipient(input.recipient),
            shipping_address=_address(input.shipping_address),
            experience=_experience(input.experience),
        )
        service = context.redemptions
        try:
            redeemed = await service.redeem(program, request)
        except RedeemRefused as refused:
            errors = [user_error(p.code, p.message, p.field) for p in refused.problems]
            return RedeemPayload(redemption=None, user_errors=errors)
        row = await service.wait(redeemed, context.settings.redemption.wait_seconds)
        with suppress(KeyError):  # an earlier field of this request may have read the balance
            context.loaders.balance_by_member.clear((program.id, request.member_id))
        return RedeemPayload(redemption=redemption_type(row, request.member_id), user_errors=[])


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _recipient(value: RecipientInput | None) -> Recipient | None:
    if value is None:
        return None
    return Recipient(name=value.name, email=value.email, phone=value.phone)


def _address(value: AddressInput | None) -> Address | None:
    if value is None:
        return None
    return Address(
        name=value.name,
        line1=value.line1,
        city=value.city,
        postal_code=value.postal_code,
        country=value.country,
        line2=value.line2,
        region=value.region,
    )


def _experience(value: ExperienceInput | None) -> ExperienceDetails | None:
    if value is None:
        return None
    return ExperienceDetails(
        travel_date=value.travel_date,
        travelers=value.travelers,
        answers=tuple(
            BookingAnswer(a.question, a.answer, traveler=a.traveler, unit=a.unit)
            for a in value.answers
        ),
    )
