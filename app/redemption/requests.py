"""What a member asks to redeem, checked before anything is reserved, and stored with the
redemption so that a recovery or a replay rebuilds the very same vendor request."""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from app.idempotency import MAX_KEY_LENGTH
from vendors import Address, BookingAnswer, ExperienceDetails, Recipient, RewardKind

__all__ = [
    "MAX_TRAVELERS",
    "Problem",
    "RedeemRefused",
    "RedeemRequest",
    "check_for_kind",
    "check_shape",
    "details_of",
    "vendor_key",
]

MAX_TRAVELERS = 20
MAX_ANSWERS = 100
MAX_TEXT = 200
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,63}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    field: str | None = None


class RedeemRefused(Exception):
    """A business refusal: ``code`` and ``field`` are what the API returns as a user error;
    ``problems``, every one of them when there are several (unanswered booking questions)."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.problems = problems or (Problem(code, message, field),)


@dataclass(frozen=True)
class RedeemRequest:
    member_id: str  # the partner's own member id
    reward_id: uuid.UUID
    idempotency_key: str
    option_id: uuid.UUID | None = None
    amount: Decimal | None = None
    quote_id: uuid.UUID | None = None
    recipient: Recipient | None = None
    shipping_address: Address | None = None
    experience: ExperienceDetails | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What makes two requests the same (``25`` and ``25.00`` are one amount)."""
        return {
            "rewardId": str(self.reward_id),
            "optionId": str(self.option_id) if self.option_id else None,
            "amount": _plain(self.amount),
            "quoteId": str(self.quote_id) if self.quote_id else None,
            **details_of(self),
        }


def _plain(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.normalize(), "f")


def details_of(request: RedeemRequest) -> dict[str, Any]:
    """The order's recipient, address and experience as JSON-ready values."""
    return {
        "recipient": _asdict(request.recipient),
        "shippingAddress": _asdict(request.shipping_address),
        "experience": _asdict(request.experience),
    }


def _asdict(value: Any) -> Any:
    return None if value is None else dataclasses.asdict(value)


def dump_details(request: RedeemRequest) -> str:
    return orjson.dumps(details_of(request)).decode()


def load_details(
    stored: str,
) -> tuple[Recipient | None, Address | None, ExperienceDetails | None]:
    raw = orjson.loads(stored)
    recipient = Recipient(**raw["recipient"]) if raw["recipient"] else None
    address = Address(**raw["shippingAddress"]) if raw["shippingAddress"] else None
    experience = None
    if raw["experience"]:
        fields = dict(raw["experience"])
        answers = tuple(BookingAnswer(**answer) for answer in fields.pop("answers"))
        experience = ExperienceDetails(**fields, answers=answers)
    return recipient, address, experience


def vendor_key(redemption_id: uuid.UUID, attempt: int) -> str:
    """The vendor idempotency key of the redemption's ``attempt``: letters and digits only
    (the form every vendor accepts), the same on every retry, recovery and replay."""
    return f"rg{redemption_id.hex}a{attempt}"


def check_shape(request: RedeemRequest) -> None:
    """What can be refused from the input alone."""
    key = request.idempotency_key
    if not key or len(key) > MAX_KEY_LENGTH or key != key.strip():
        raise RedeemRefused(
            "INVALID_IDEMPOTENCY_KEY",
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters, no spaces at its ends",
            "idempotencyKey",
        )
    if request.amount is not None and not request.amount > 0:
        raise RedeemRefused("INVALID_AMOUNT", "the amount must be more than 0", "amount")
    if request.recipient is not None:
        _check_recipient(request.recipient)
    if request.shipping_address is not None:
        _check_address(request.shipping_address)


def _text(value: str | None, field: str, code: str, *, required: bool = True) -> None:
    if value is None:
        if required:
            raise RedeemRefused(code, f"{field.rsplit('.', 1)[-1]} is required", field)
        return
    if (required and not value.strip()) or len(value) > MAX_TEXT or value != value.strip():
        raise RedeemRefused(
            code,
            f"{field.rsplit('.', 1)[-1]} must be 1 to {MAX_TEXT} characters, no spaces at its ends",
            field,
        )


def _check_recipient(recipient: Recipient) -> None:
    _text(recipient.name, "recipient.name", "INVALID_RECIPIENT")
    if not _EMAIL.fullmatch(recipient.email):
        raise RedeemRefused("INVALID_RECIPIENT", "not an email address", "recipient.email")
    if recipient.phone is not None and not re.fullmatch(r"\+?[0-9 ()-]{6,30}", recipient.phone):
        raise RedeemRefused("INVALID_RECIPIENT", "not a phone number", "recipient.phone")


def _check_address(address: Address) -> None:
    for name in ("name", "line1", "city", "postal_code"):
        _text(getattr(address, name), f"shippingAddress.{_camel(name)}", "INVALID_ADDRESS")
    for name in ("line2", "region"):
        value = getattr(address, name)
        if value is not None:
            _text(value, f"shippingAddress.{name}", "INVALID_ADDRESS")
    if not _COUNTRY.fullmatch(address.country):
        raise RedeemRefused(
            "INVALID_ADDRESS",
            "an ISO 3166-1 alpha-2 country code, e.g. GB",
            "shippingAddress.country",
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def check_for_kind(request: RedeemRequest, kind: str, *, now: datetime) -> None:
    """What the reward's kind requires: an address for merchandise, a date and party for an
    experience, someone to send a gift card to."""
    if kind == RewardKind.MERCHANDISE and request.shipping_address is None:
        raise RedeemRefused(
            "ADDRESS_REQUIRED", "merchandise needs a shipping address", "shippingAddress"
        )
    if kind == RewardKind.GIFT_CARD and request.recipient is None:
        raise RedeemRefused(
            "RECIPIENT_REQUIRED", "a gift card needs a recipient (name and email)", "recipient"
        )
    if kind == RewardKind.EXPERIENCE:
        _check_experience(request, now)
    elif request.experience is not None:
        raise RedeemRefused("INVALID_EXPERIENCE", "only experiences take a date", "experience")


def _check_experience(request: RedeemRequest, now: datetime) -> None:
    experience = request.experience
    if experience is None:
        raise RedeemRefused(
            "EXPERIENCE_REQUIRED", "an experience needs a travel date and travelers", "experience"
        )
    if request.recipient is None:
        raise RedeemRefused(
            "RECIPIENT_REQUIRED", "an experience needs a lead traveller (recipient)", "recipient"
        )
    try:
        if not _DAY.fullmatch(experience.travel_date):
            raise ValueError(experience.travel_date)
        day = date.fromisoformat(experience.travel_date)
    except ValueError:
        raise RedeemRefused(
            "INVALID_TRAVEL_DATE", "a date as YYYY-MM-DD", "experience.travelDate"
        ) from None
    today = now.date()
    if not today < day <= today + timedelta(days=730):
        raise RedeemRefused(
            "INVALID_TRAVEL_DATE",
            "the travel date must be after today and within two years",
            "experience.travelDate",
        )
    if not 1 <= experience.travelers <= MAX_TRAVELERS:
        raise RedeemRefused(
            "INVALID_TRAVELERS", f"1 to {MAX_TRAVELERS} travelers", "experience.travelers"
        )
    if len(experience.answers) > MAX_ANSWERS:
        raise RedeemRefused(
            "BOOKING_QUESTIONS", f"at most {MAX_ANSWERS} answers", "experience.answers"
        )
    for answer in experience.answers:
        _text(answer.question, "experience.answers.question", "BOOKING_QUESTIONS")
        _text(answer.answer, "experience.answers.answer", "BOOKING_QUESTIONS")
        if answer.traveler is not None and not 1 <= answer.traveler <= experience.travelers:
            raise RedeemRefused(
                "BOOKING_QUESTIONS",
                f"traveler must be 1 to {experience.travelers}",
                "experience.answers.traveler",
            )
