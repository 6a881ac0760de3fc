"""Programs, members and the points ledger (see `app.points.ledger` for the rules).

Points are integers (``BIGINT``). A member account keeps its balance as four columns, changed
only by deltas inside the transaction that writes the journal lines explaining them, and the
database itself refuses a member balance below zero (``ck_ledger_account_member_not_negative``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app._types import ExactDecimal, UTCDateTime, utcnow

__all__ = [
    "AccountKind",
    "Hold",
    "HoldStatus",
    "JournalEntry",
    "JournalLine",
    "LedgerAccount",
    "LotAllocation",
    "LotState",
    "Member",
    "PointsLot",
    "Program",
]


class AccountKind:
    MEMBER = "member"
    ISSUANCE = "issuance"  # where earned points come from
    REDEMPTION = "redemption"  # where spent points go
    EXPIRY = "expiry"  # where expired points go
    SYSTEM = (ISSUANCE, REDEMPTION, EXPIRY)


class HoldStatus:
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class LotState:
    PENDING = "pending"  # earned, not active before activates_at
    ACTIVE = "active"
    EXPIRED = "expired"


class Program(SQLModel, table=True):
    """A partner's loyalty currency: what a point is worth and what a redemption costs on top."""

    __tablename__ = "program"
    __table_args__ = (
        UniqueConstraint("partner_id", "name"),
        CheckConstraint("CAST(point_value AS NUMERIC) > 0", name="point_value_positive"),
        CheckConstraint("CAST(markup_percent AS NUMERIC) BETWEEN 0 AND 100", name="markup_range"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    partner_id: uuid.UUID = Field(foreign_key="partner.id", index=True)
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    point_value: Decimal = Field(sa_type=ExactDecimal(20, 8))
    markup_percent: Decimal = Field(default=Decimal(0), sa_type=ExactDecimal(7, 4))
    points_lifetime_days: int | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Member(SQLModel, table=True):
    """A partner's member, known by the partner's own id; created on first use."""

    __tablename__ = "member"
    __table_args__ = (UniqueConstraint("program_id", "external_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    external_id: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LedgerAccount(SQLModel, table=True):
    """One account per member, plus the program's system accounts (the other side of entries).

    Only member accounts keep balance columns: every entry of a program touches a system
    account, and a balance column there would be one hot row serializing the whole program.
    System balances are folds of the journal (`app.points.ledger.check`).
    """

    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("program_id", "key"),
        CheckConstraint(
            "kind <> 'member' OR posted_credits - posted_debits - pending_debits >= 0",
            name="member_not_negative",
        ),
        CheckConstraint(
            "posted_credits >= 0 AND posted_debits >= 0 AND pending_credits >= 0 "
            "AND pending_debits >= 0",
            name="columns_not_negative",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    key: str = Field(max_length=64)  # "member:<member id>" or the system kind
    kind: str = Field(max_length=16)
    member_id: uuid.UUID | None = Field(default=None, foreign_key="member.id", unique=True)
    posted_credits: int = Field(default=0, sa_type=BigInteger)
    posted_debits: int = Field(default=0, sa_type=BigInteger)
    pending_credits: int = Field(default=0, sa_type=BigInteger)
    pending_debits: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def available(self) -> int:
        return self.posted_credits - self.posted_debits - self.pending_debits


class JournalEntry(SQLModel, table=True):
    """One movement of points; its lines balance per phase (pending, posted)."""

    __tablename__ = "journal_entry"
    __table_args__ = (Index("ix_journal_entry_account_created", "account_id", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    # The member account the entry is about, for history queries.
    account_id: uuid.UUID = Field(foreign_key="ledger_account.id")
    kind: str = Field(max_length=16)  # earn | activate | hold | post | void | hold_expire | expire
    points: int = Field(sa_type=BigInteger)  # the member-facing amount, for history
    reason: str | None = Field(default=None, max_length=500)
    hold_id: uuid.UUID | None = Field(default=None, foreign_key="hold.id", index=True)
    lot_id: uuid.UUID | None = Field(default=None, foreign_key="points_lot.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class JournalLine(SQLModel, table=True):
    """One side of an entry. Pending releases are negative pending amounts."""

    __tablename__ = "journal_line"
    __table_args__ = (
        CheckConstraint("side IN ('debit', 'credit')", name="side"),
        CheckConstraint("phase IN ('pending', 'posted')", name="phase"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: uuid.UUID = Field(foreign_key="journal_entry.id", index=True)
    account_id: uuid.UUID = Field(foreign_key="ledger_account.id", index=True)
    side: str = Field(max_length=6)
    phase: str = Field(max_length=7)
    amount: int = Field(sa_type=BigInteger)


class PointsLot(SQLModel, table=True):
    """Points from one earn: spendable from ``activates_at`` until ``expires_at``."""

    __tablename__ = "points_lot"
    __table_args__ = (
        Index("ix_points_lot_spend", "account_id", "state", "expires_at"),
        # The sweep's searches: lots due to expire, lots due to activate.
        Index("ix_points_lot_state_expires_at", "state", "expires_at"),
        Index("ix_points_lot_state_activates_at", "state", "activates_at"),
        CheckConstraint("remaining >= 0 AND remaining <= original", name="remaining_range"),
        CheckConstraint("expired_amount >= 0 AND expired_amount <= original", name="expired_range"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="ledger_account.id")
    original: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    expired_amount: int = Field(default=0, sa_type=BigInteger)
    state: str = Field(max_length=8)
    activates_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Hold(SQLModel, table=True):
    """A pending debit: posted (fully or partly), voided or expired, exactly once."""

    __tablename__ = "hold"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("posted_amount >= 0 AND posted_amount <= amount", name="posted_range"),
        # Pending holds by expiry: the sweep's search.
        Index("ix_hold_status_expires_at", "status", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="ledger_account.id", index=True)
    amount: int = Field(sa_type=BigInteger)
    posted_amount: int = Field(default=0, sa_type=BigInteger)
    status: str = Field(max_length=8)
    reference: str | None = Field(default=None, max_length=128, unique=True)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LotAllocation(SQLModel, table=True):
    """How many points a hold currently draws from a lot."""

    __tablename__ = "lot_allocation"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    hold_id: uuid.UUID = Field(foreign_key="hold.id", primary_key=True)
    lot_id: uuid.UUID = Field(foreign_key="points_lot.id", primary_key=True)
    amount: int = Field(sa_type=BigInteger)
