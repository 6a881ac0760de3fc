"""`tests/guards.py` removes each guard by editing its text: a guard whose text the code no
longer has would be tried against nothing (six were, after the ledger moved to Core)."""

from __future__ import annotations

import pytest

from tests.guards import GUARDS, ROOT, Guard


@pytest.mark.parametrize("guard", GUARDS, ids=[guard.name for guard in GUARDS])
def test_every_guard_quotes_code_that_is_there_once(guard: Guard) -> None:
    text = (ROOT / guard.path).read_text()
    assert text.count(guard.present) == 1, f"{guard.name}: {guard.present!r}"
    for test in guard.tests:
        assert (ROOT / test.split("::")[0]).exists(), test
