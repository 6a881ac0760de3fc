"""Remove each guard that keeps points right, once, and see a test fail.

    python -m tests.guards [--postgresql URL] [GUARD ...]

Every guard below names the code that keeps money or points right (a lock, a conditional
update, a constraint, a retry, an audit branch), the edit that removes it, and the tests that
must fail without it. For each guard the tree is copied to a scratch folder, the edit applied
there, and those tests run against the copy: on the PostgreSQL at ``--postgresql`` when given
(the concurrency guards only show there; CI runs the suite on both). One line per guard:
``caught`` (a named test failed) or ``MISSED`` (the exit status is then 1). Not part of the
suite: it runs the suite's tests two dozen times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POINTS = "tests/app/points"
REDEMPTION = "tests/app/redemption"


@dataclass(frozen=True)
class Guard:
    name: str
    path: str
    present: str  # the guard, as the file has it (must occur exactly once)
    removed: str  # the file without it
    tests: tuple[str, ...]
    sqlite: bool = False  # a guard of the SQLite backend: its tests run on SQLite


GUARDS = (
    Guard(
        "account lock (holds)",
        "app/points/ledger.py",
        '    .where(_ACCOUNTS.c.id == bindparam("account"))\n    .with_for_update(of=_ACCOUNTS)\n',
        '    .where(_ACCOUNTS.c.id == bindparam("account"))\n',
        (f"{POINTS}/test_concurrency.py",),
    ),
    Guard(
        "account lock (sweep)",
        "app/points/ledger.py",
        "        .where(LedgerAccount.id == account_id)\n        .with_for_update()\n",
        "        .where(LedgerAccount.id == account_id)\n",
        (f"{POINTS}/test_concurrency.py", f"{POINTS}/test_workload.py"),
    ),
    Guard(
        "settlements lock the account before the hold (lock order)",
        "app/points/ledger.py",
        '    .where(_HOLDS.c.id == bindparam("hold"))\n    .with_for_update(of=_ACCOUNTS)\n',
        '    .where(_HOLDS.c.id == bindparam("hold"))\n',
        (f"{POINTS}/test_concurrency.py::test_sweeps_and_settlements_never_deadlock",),
    ),
    Guard(
        "conditional hold (available >= amount)",
        "app/points/ledger.py",
        '        _ACCOUNTS.c.id == bindparam("account"),\n'
        "        _ACCOUNTS.c.posted_credits - _ACCOUNTS.c.posted_debits"
        " - _ACCOUNTS.c.pending_debits\n"
        '        >= bindparam("amount"),\n',
        '        _ACCOUNTS.c.id == bindparam("account"),\n',
        (f"{POINTS}/test_ledger.py",),
    ),
    Guard(
        "a hold resolves once (status = pending)",
        "app/points/ledger.py",
        '    conditions = [_HOLDS.c.id == bindparam("hold"), '
        "_HOLDS.c.status == HoldStatus.PENDING]",
        '    conditions = [_HOLDS.c.id == bindparam("hold")]',
        (f"{POINTS}/test_ledger.py", f"{POINTS}/test_holds.py"),
    ),
    Guard(
        "no post after expires_at",
        "app/points/ledger.py",
        "    HoldStatus.POSTED, or_(_HOLDS.c.expires_at.is_(None), _HOLDS.c.expires_at > _NOW)\n",
        "    HoldStatus.POSTED\n",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "no expiry before expires_at (an extended hold)",
        "app/points/ledger.py",
        '    and_(_HOLDS.c.expires_at <= _NOW, _HOLDS.c.account_id == bindparam("account")),\n',
        '    _HOLDS.c.account_id == bindparam("account"),\n',
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "an expired hold is not revived",
        "app/points/ledger.py",
        "            col(Hold.expires_at) > now,\n            col(Hold.expires_at) <= expires_at,",
        "            col(Hold.expires_at) <= expires_at,",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "an extension never shortens",
        "app/points/ledger.py",
        "            col(Hold.expires_at) > now,\n            col(Hold.expires_at) <= expires_at,",
        "            col(Hold.expires_at) > now,",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "no hold expiring in the past",
        "app/points/ledger.py",
        '    if expires_at is not None and expires_at <= now:\n        raise LedgerError("a hold '
        'must expire in the future")\n    locked',
        "    locked",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "released points of an expired, unswept lot expire",
        "app/points/ledger.py",
        "        if lot.state == LotState.EXPIRED or lot.expired_by(now):",
        "        if lot.state == LotState.EXPIRED:",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "reads give overdue holds back",
        "app/points/ledger.py",
        "        available_pending_held[2] -= drawn",
        "        continue",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "a hold first expires the account's overdue holds",
        "app/points/ledger.py",
        "    if overdue:\n        await _expire_overdue_holds(session, locked, now)\n",
        "",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "an extension locks the account first (lock order)",
        "app/points/ledger.py",
        '        raise LedgerError("a hold must expire in the future")\n'
        "    await _lock_for_hold(session, hold_id)\n",
        '        raise LedgerError("a hold must expire in the future")\n',
        (
            f"{POINTS}/test_concurrency.py::"
            "test_an_extension_and_a_settlement_in_one_unit_of_work_never_deadlock",
        ),
    ),
    Guard(
        "naive datetimes refused",
        "app/points/ledger.py",
        "        if moment is not None and moment.utcoffset() is None:",
        "        if False:",
        (f"{POINTS}/test_holds.py",),
    ),
    Guard(
        "sweep: an account settled a few lots at a time",
        "app/points/expiry.py",
        "            session, account.account_id, now=now, limit=LOTS_PER_STEP",
        "            session, account.account_id, now=now, limit=None",
        (f"{POINTS}/test_expiry.py",),
    ),
    Guard(
        "sweep: accounts in ascending order",
        "app/points/expiry.py",
        "    for account in sorted(due, key=lambda d: d.account_id):",
        "    for account in due:",
        (f"{POINTS}/test_expiry.py",),
    ),
    Guard(
        "sweep: a failed batch goes one account at a time",
        "app/points/expiry.py",
        "            await _one_by_one(database, due, moment, report)",
        "            raise",
        (f"{POINTS}/test_expiry.py",),
    ),
    Guard(
        "earn: a lost race on the key reads the winner's record",
        "app/points/service.py",
        "    except IntegrityError:\n        await database.write(work)",
        "    except IntegrityError:\n        raise",
        (f"{POINTS}/test_concurrency.py::test_one_idempotency_key_sent_concurrently_earns_once",),
    ),
    Guard(
        "earn: one idempotency key, once (unique constraint)",
        "app/migrations/versions/0002_points_ledger.py",
        '        sa.UniqueConstraint("scope", "key", '
        'name=op.f("uq_idempotency_record_scope_key")),\n',
        "",
        (
            f"{POINTS}/test_concurrency.py::test_one_idempotency_key_sent_concurrently_earns_once",
            "tests/graphql_schema/test_points.py::test_earning_is_idempotent",
        ),
    ),
    Guard(
        "earn: a replay is recalled before the clock is consulted",
        "app/points/service.py",
        "    _validate(request)\n    expires_at",
        "    _validate(request)\n    _validate_times(request, now)\n    expires_at",
        (f"{POINTS}/test_service.py",),
    ),
    Guard(
        "earn: one instant in any offset is one input",
        "app/points/service.py",
        "    return None if moment is None else moment.astimezone(UTC).isoformat()",
        "    return None if moment is None else moment.isoformat()",
        (f"{POINTS}/test_service.py",),
    ),
    Guard(
        "one hold per reference (unique constraint)",
        "app/migrations/versions/0002_points_ledger.py",
        '        sa.UniqueConstraint("reference", name=op.f("uq_hold_reference")),\n',
        "",
        (f"{POINTS}/test_ledger.py",),
    ),
    Guard(
        "audit: entries balance",
        "app/points/audit.py",
        "            if total[DEBIT] != total[CREDIT]:",
        "            if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: an entry has the lines of its kind",
        "app/points/audit.py",
        "        if Counter(entry.lines) != Counter(expected):",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: a hold is resolved by the entry its status names",
        "app/points/audit.py",
        "        if found != expected:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: lots are conserved",
        "app/points/audit.py",
        "        if lot.original != lot.remaining + lot.expired_amount + drawn[lot.id]:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: a hold draws on its own account's lots",
        "app/points/audit.py",
        "        if accounts.get(hold_id) != lot_account:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: lots activate once",
        "app/points/audit.py",
        "        if activations != due:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: an account is what its key says",
        "app/points/audit.py",
        "        if member and account.kind != AccountKind.MEMBER:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: member balances checked whatever their kind column says",
        "app/points/audit.py",
        "        if not _is_member(account):\n            continue\n        fold",
        "        if account.kind != AccountKind.MEMBER:\n            continue\n        fold",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: an expired lot had an expiry that has come",
        "app/points/audit.py",
        "            if lot.state == LotState.EXPIRED and lot.expires_at > now:",
        "            if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: no points expired before their lot's expiry",
        "app/points/audit.py",
        "            if any(moment < lot.expires_at for moment in expiries[lot.id]):",
        "            if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: a lot that never expires has nothing expired",
        "app/points/audit.py",
        "        if gone and lot.expires_at is None:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: only a posted hold has a posted amount",
        "app/points/audit.py",
        "    if hold.status != HoldStatus.POSTED and hold.posted_amount:",
        "    if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: an expired hold had an expiry that has come",
        "app/points/audit.py",
        "    if hold.status == HoldStatus.EXPIRED and (hold.expires_at is None or "
        "hold.expires_at > now):",
        "    if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: no post after its hold's expiry",
        "app/points/audit.py",
        "        if entry.kind == EntryKind.POST and entry.created_at >= hold.expires_at:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "audit: entries belong to their account's program",
        "app/points/audit.py",
        "        if program != entry.program_id:",
        "        if False:",
        (f"{POINTS}/test_audit.py",),
    ),
    Guard(
        "earn: dates on the calendar",
        "app/points/service.py",
        "        if in_utc is None or not EARLIEST <= in_utc <= LATEST:",
        "        if False:",
        (f"{POINTS}/test_service.py",),
    ),
    Guard(
        "rates: a feed with unusable values refused whole",
        "app/pricing/fx.py",
        "        or not Decimal(0) < value < _RATE_BELOW\n",
        "",
        ("tests/app/pricing/test_fx.py",),
    ),
    Guard(
        "rates: a table from the future is stale",
        "app/pricing/fx.py",
        "        if age < -1:",
        "        if False:",
        ("tests/app/pricing/test_fx.py",),
    ),
    Guard(
        "quotes: a price is positive and fits its column",
        "app/pricing/quotes.py",
        "        if not Decimal(0) < money.amount < _AMOUNT_BELOW:",
        "        if False:",
        ("tests/app/pricing/test_quotes.py",),
    ),
    Guard(
        "quotes: stale rates refused by create_quote itself",
        "app/pricing/quotes.py",
        "    policy.check(rates, now)\n",
        "",
        ("tests/app/pricing/test_quotes.py",),
    ),
    Guard(
        "quotes: amounts in their currency's minor units",
        "app/pricing/quotes.py",
        "        if not fits_minor_units(money.amount, money.currency):",
        "        if False:",
        ("tests/app/pricing/test_quotes.py",),
    ),
    Guard(
        "SQLite writers take the lock up front",
        "app/db.py",
        'connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")',
        'connection.exec_driver_sql("BEGIN")',
        ("tests/app/test_db.py",),
        sqlite=True,
    ),
    Guard(
        "redeem: the account locked before the key is looked up again",
        "app/redemption/service.py",
        "            await ledger.lock_account(session, account.id)\n",
        "",
        (
            f"{REDEMPTION}/review_perf/test_perf_idem.py::"
            "test_a_twin_whose_in_transaction_look_up_missed_never_deadlocks",
        ),
    ),
    Guard(
        "redeem: the key looked up inside the reserve transaction, before the account lock",
        "app/redemption/service.py",
        "            found = await made(session, member.id)\n"
        "            if found is not None:\n"
        "                return found, False\n"
        "            redemption_id",
        "            redemption_id",
        (
            f"{REDEMPTION}/review_perf/test_perf_idem.py::"
            "test_a_twin_that_missed_the_key_never_deadlocks_with_the_first_ones_settle",
        ),
    ),
)


def _copy() -> Path:
    scratch = Path(tempfile.mkdtemp(prefix="rewardgate-guard-"))
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.db*"
    )
    shutil.copytree(ROOT, scratch / "tree", ignore=ignore)
    return scratch / "tree"


def run(guard: Guard, postgresql: str | None) -> bool:
    """True when a named test fails without the guard."""
    tree = _copy()
    try:
        path = tree / guard.path
        text = path.read_text()
        if text.count(guard.present) != 1:
            raise SystemExit(f"{guard.name}: the guard is not (once) in {guard.path}")
        path.write_text(text.replace(guard.present, guard.removed))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REWARDGATE_")}
        env["PYTHONPATH"] = str(tree)
        if postgresql and not guard.sqlite:
            env["REWARDGATE_TEST_DATABASE_URL"] = postgresql
        command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
        finished = subprocess.run(
            [*command, *guard.tests], cwd=tree, env=env, capture_output=True, check=False
        )
        return finished.returncode == 1
    finally:
        shutil.rmtree(tree.parent, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgresql", help="a PostgreSQL URL for the tests")
    parser.add_argument("names", nargs="*", help="guards to try (default: all)")
    arguments = parser.parse_args()
    chosen = [g for g in GUARDS if not arguments.names or g.name in arguments.names]
    missed = 0
    for guard in chosen:
        caught = run(guard, arguments.postgresql)
        missed += not caught
        print(f"{'caught' if caught else 'MISSED':7} {guard.name}", flush=True)  # noqa: T201
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
