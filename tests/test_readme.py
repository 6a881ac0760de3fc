"""The README is the newcomer's first contact: keep what it says about the code true."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from app.settings import Settings, env_var_name

README = (Path(__file__).parents[1] / "README.md").read_text()


MAIN_TABLE = README.split("## Configuration", 1)[1].split("\n### ", 1)[0]


def test_configuration_table_lists_every_setting_and_nothing_else() -> None:
    documented = set(re.findall(r"^\| `(REWARDGATE_[A-Z0-9_]+)` \|", MAIN_TABLE, re.MULTILINE))
    top_level = {
        env_var_name(name)
        for name, field in Settings.model_fields.items()
        if not _is_model(field.annotation)
    }
    assert documented == top_level


def test_configuration_table_shows_the_real_defaults() -> None:
    for name, field in Settings.model_fields.items():
        if _is_model(field.annotation):
            continue
        row = re.search(rf"^\| `{env_var_name(name)}` \| (.+?) \|", README, re.MULTILINE)
        assert row is not None
        default = field.default
        if isinstance(default, str | int) and not isinstance(default, bool):
            assert row.group(1) == f"`{default}`", name


def test_the_two_commands_are_there() -> None:
    assert "pip install -e . && .venv/bin/rewardgate serve" in README
    assert "pip install -e '.[test]' && .venv/bin/pytest" in README


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _leaf_variables(model: type[BaseModel], *path: str) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _leaf_variables(annotation, *path, name)
        else:
            names.add(env_var_name(*path, name))
    return names


def test_every_nested_setting_is_documented() -> None:
    """Each leaf variable appears by name (vendors: or in the shared ``<NAME>`` form)."""
    for variable in sorted(_leaf_variables(Settings)):
        generic = re.sub(r"^REWARDGATE_VENDORS__[A-Z]+__", "REWARDGATE_VENDORS__<NAME>__", variable)
        assert f"`{variable}`" in README or f"`{generic}`" in README, variable
