"""Delivery codes are bearer secrets: encrypted at rest, never in a log, readable after a key
rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import text

from app.models import metadata
from app.redemption.delivery import DeliveryCipher, UnreadableDelivery
from app.redemption.models import RedemptionStatus
from tests.app.redemption.conftest import Harness
from tests.app.redemption.test_saga import _reward
from vendors import Delivery


@pytest.mark.asyncio
async def test_no_code_is_stored_or_logged_in_plaintext(
    harness: Harness, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ids, details = await _reward(harness, "tango")
    row = await harness.redeem(harness.process(), ids, **details)
    assert row.status == RedemptionStatus.COMPLETED
    delivery = harness.processes[0].cipher.open(row.delivery)
    assert delivery is not None
    assert delivery.code
    assert delivery.pin
    # The code (16 digits); a 4-digit pin would match timestamps and ids by chance.
    secrets = [delivery.code]
    assert len(delivery.code) >= 12
    # Every row of every table, as the database returns it.
    dumped = []
    async with harness.database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = (await connection.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            dumped.append(repr(rows))
    stored = "\n".join(dumped)
    assert row.delivery is not None
    assert row.delivery in stored, "the dump holds the token"
    for secret in secrets:
        assert secret not in stored
    # And the SQLite files themselves, write-ahead log included.
    if harness.database.is_sqlite:
        database_file = Path(str(harness.database.url.database))
        for path in database_file.parent.glob(database_file.name + "*"):
            raw = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, path.name
    logged = capfd.readouterr()
    for secret in secrets:
        assert secret not in logged.out + logged.err


def test_a_rotated_key_still_opens_what_the_old_one_sealed() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = DeliveryCipher(old).seal(Delivery(code="CODE-1", pin="1234"))
    assert sealed is not None
    assert "CODE-1" not in sealed
    rotated = DeliveryCipher(f"{new}, {old}")
    assert rotated.open(sealed) == Delivery(code="CODE-1", pin="1234")
    resealed = rotated.rotate(sealed)
    assert DeliveryCipher(new).open(resealed) == Delivery(code="CODE-1", pin="1234")
    with pytest.raises(UnreadableDelivery):
        DeliveryCipher(new).open(sealed)
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(resealed.encode())


def test_nothing_to_deliver_is_stored_as_nothing() -> None:
    cipher = DeliveryCipher(Fernet.generate_key().decode())
    assert cipher.seal(None) is None
    assert cipher.seal(Delivery()) is None
    assert cipher.open(None) is None
