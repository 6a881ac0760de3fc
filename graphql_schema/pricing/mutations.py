from __future__ import annotations

from datetime import timedelta

import strawberry
from sqlmodel.ext.asyncio.session import AsyncSession

from app.catalog.offers import OfferError, choose_option
from app.points.programs import is_member_id, member_account
from app.pricing.fx import FxError
from app.pricing.models import Quote as QuoteRow
from app.pricing.quotes import InvalidAmount, TooManyPoints, create_quote
from graphql_schema.context import Info
from graphql_schema.core.errors import UserError, user_error
from graphql_schema.core.ids import global_uuid
from graphql_schema.core.permissions import MemberOrPartner
from graphql_schema.pricing.types import QuoteInput, QuotePayload, quote_type

__all__ = ["PricingMutation"]


def _refused(error: UserError) -> QuotePayload:
    return QuotePayload(quote=None, user_errors=[error])


@strawberry.type
class PricingMutation:
    @strawberry.mutation(
        description="Price a reward option in the member's points and lock it "
        "(`REWARDGATE_QUOTE_LIFETIME_SECONDS`).",
        permission_classes=[MemberOrPartner],
    )
    async def quote_redemption(self, info: Info, input: QuoteInput) -> QuotePayload:
        context = info.context
        caller = context.caller()
        member_id = caller.member_id if caller.role == "member" else input.member_id
        if caller.role == "member" and input.member_id not in (None, caller.member_id):
            return _refused(user_error("NOT_FOUND", "no such member", "memberId"))
        if not is_member_id(member_id):
            return _refused(
                user_error("MEMBER_REQUIRED", "name the member the quote is for", "memberId")
            )
        reward_id = global_uuid(input.reward_id, "Reward")
        if reward_id is None:
            return _refused(user_error("NOT_FOUND", "no such reward", "rewardId"))
        option_id = None
        if input.option_id is not None:
            option_id = global_uuid(input.option_id, "RewardOption")
            if option_id is None:
                return _refused(user_error("NOT_FOUND", "no such option", "optionId"))
        program = await context.loaders.program_by_id.load(context.program_id())
        assert program is not None, "a credential's program exists (foreign key)"
        try:
            rates = await context.rates.current(context.now())
            breakers = {
                name: adapter.breaker_state() for name, adapter in context.vendors.adapters.items()
            }
            async with context.database.session() as session:
                chosen = await choose_option(
                    session,
                    reward_id,
                    option_id,
                    input.amount,
                    rates=rates,
                    breaker_states=breakers,
                )
        except OfferError as refused:
            return _refused(user_error(refused.code, refused.message, refused.field))
        except FxError as refused:
            return _refused(user_error("PRICING_UNAVAILABLE", str(refused), None))
        option = chosen.priced()

        async def lock(session: AsyncSession) -> QuoteRow:
            member, _ = await member_account(session, program.id, member_id, now=context.now())
            return await create_quote(
                session,
                program=program,
                member_id=member.id,
                option=option,
                rates=rates,
                policy=context.rates.policy,
                now=context.now(),
                lifetime=timedelta(seconds=context.settings.quote_lifetime_seconds),
            )

        try:
            quote = await context.database.write(lock)
        except FxError as refused:  # no rate between the vendor's and the program's currency
            return _refused(user_error("PRICING_UNAVAILABLE", str(refused), None))
        except InvalidAmount as refused:
            return _refused(user_error("INVALID_AMOUNT", str(refused), "amount"))
        except TooManyPoints as refused:
            return _refused(user_error("PRICING_UNAVAILABLE", str(refused), None))
        return QuotePayload(quote=quote_type(quote, program.currency), user_errors=[])
