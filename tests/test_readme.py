"""The README is the newcomer's first contact: keep what it says about the code true."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import Settings, env_var_name

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_configuration_table_lists_every_setting_and_nothing_else() -> None:
    documented = set(re.findall(r"^\| `(REWARDGATE_[A-Z0-9_]+)` \|", README, re.MULTILINE))
    assert documented == {env_var_name(name) for name in Settings.model_fields}


def test_configuration_table_shows_the_real_defaults() -> None:
    for name, field in Settings.model_fields.items():
        row = re.search(rf"^\| `{env_var_name(name)}` \| (.+?) \|", README, re.MULTILINE)
        assert row is not None
        default = field.default
        if isinstance(default, str | int) and not isinstance(default, bool):
            assert row.group(1) == f"`{default}`", name


def test_the_two_commands_are_there() -> None:
    assert "pip install -e . && .venv/bin/rewardgate serve" in README
    assert "pip install -e '.[test]' && .venv/bin/pytest" in README
