from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

import pytest
import uvicorn
from sqlalchemy import text
from typer.testing import CliRunner

from app import __version__, cli, migrations
from app.db import Database
from app.settings import Settings

REAL_DELIVERY_KEY = "m5XlQvPnGctDRAeU-UDXQMyKKxp-J5wsrxNahFxjpLs="
runner = CliRunner()


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: pathlib.Path
) -> Settings:
    """Point the CLI's environment at this test's (empty) database, away from any .env file."""
    monkeypatch.setenv("REWARDGATE_DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("REWARDGATE_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.chdir(tmp_path)
    return settings


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Stand in for uvicorn.run: record how serve would start the server."""
    calls: list[dict[str, Any]] = []

    def fake_run(target: str, **options: Any) -> None:
        calls.append({"target": target, **options})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def _status(settings: Settings) -> migrations.MigrationStatus:
    async def read() -> migrations.MigrationStatus:
        database = Database.from_settings(settings)
        try:
            return await migrations.status(database)
        finally:
            await database.dispose()

    return asyncio.run(read())


def test_version() -> None:
    result = runner.invoke(cli.cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"rewardgate {__version__}"


def test_db_upgrade_migrates_the_configured_database(environment: Settings) -> None:
    assert not _status(environment).at_head
    result = runner.invoke(cli.cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "code head" in result.stdout
    assert _status(environment).at_head


def test_db_current_exits_non_zero_until_migrated(environment: Settings) -> None:
    before = runner.invoke(cli.cli, ["db", "current"])
    assert before.exit_code == 1
    assert "no migrations applied" in before.stdout
    runner.invoke(cli.cli, ["db", "upgrade"])
    after = runner.invoke(cli.cli, ["db", "current"])
    assert after.exit_code == 0


def test_invalid_settings_exit_2_naming_the_variable(
    environment: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REWARDGATE_DATABASE_POOL_SIZE", "lots")
    result = runner.invoke(cli.cli, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "REWARDGATE_DATABASE_POOL_SIZE" in result.stderr


def test_unreachable_database_exits_1_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "REWARDGATE_DATABASE_URL", "postgresql+asyncpg://rg:s3cret-pw@127.0.0.1:1/rewardgate"
    )
    result = runner.invoke(cli.cli, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "cannot use the database" in result.stderr
    assert "s3cret-pw" not in result.stderr


def test_serve_migrates_sqlite_and_starts_uvicorn(
    environment: Settings, served: list[dict[str, Any]], sqlite_only: None
) -> None:
    result = runner.invoke(cli.cli, ["serve", "--port", "8123", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert _status(environment).at_head
    assert "GraphiQL: http://127.0.0.1:8123/graphql" in result.stdout
    assert '{"Authorization": "Bearer rgp_demo_' in result.stdout, "the demo partner key"
    [call] = served
    assert call["target"] == "app.server:app_from_environment"
    assert call["factory"] is True
    assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 8123, 3)


def test_serve_refuses_an_unmigrated_postgresql(
    environment: Settings, served: list[dict[str, Any]], postgresql_only: None
) -> None:
    result = runner.invoke(cli.cli, ["serve"])
    assert result.exit_code == 1
    assert "not migrated" in result.stderr
    assert "rewardgate db upgrade" in result.stderr
    assert served == [], "the server never started"
    assert not _status(environment).at_head, "serve does not migrate PostgreSQL by itself"


def test_serve_starts_on_a_migrated_postgresql(
    environment: Settings, served: list[dict[str, Any]], postgresql_only: None
) -> None:
    assert runner.invoke(cli.cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli.cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert served[0]["host"] == "0.0.0.0"
    assert "http://127.0.0.1:8000/graphql" in result.stdout


def test_serve_says_where_graphql_is_when_graphiql_is_off(
    environment: Settings, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REWARDGATE_GRAPHIQL", "false")
    runner.invoke(cli.cli, ["db", "upgrade"])
    result = runner.invoke(cli.cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert "POST http://127.0.0.1:8000/graphql" in result.stdout
    assert "GraphiQL is off" in result.stdout


def test_serve_refuses_reload_with_several_workers(served: list[dict[str, Any]]) -> None:
    result = runner.invoke(cli.cli, ["serve", "--reload", "--workers", "2"])
    assert result.exit_code == 2
    assert served == []


def test_sandbox_serve_serves_every_vendor_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.chdir(tmp_path)
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append((app, options)))
    result = runner.invoke(cli.cli, ["sandbox", "serve", "--port", "8100", "--seed", "9"])
    assert result.exit_code == 0, result.output
    for root in (
        "/tango/raas/v2",
        "/tremendous/api/v2",
        "/printful",
        "/viator/partner",
        "/change/api/v1",
    ):
        assert f"http://127.0.0.1:8100{root}" in result.stdout
    assert "http://127.0.0.1:8100/_sandbox" in result.stdout
    [(app, options)] = served
    assert options["port"] == 8100
    assert app is not None


def test_demo_seeds_idempotently_and_prints_working_keys(environment: Settings) -> None:
    assert runner.invoke(cli.cli, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(cli.cli, ["demo", "--json"])
    assert first.exit_code == 0, first.output
    seeded = json.loads(first.stdout)
    assert set(seeded) == {"apiKey", "opsKey", "programId", "members"}
    assert seeded["apiKey"].startswith("rgp_")
    assert seeded["opsKey"].startswith("rgo_")
    assert [(m["id"], m["points"]) for m in seeded["members"]] == [
        ("alice", 50000),
        ("bob", 20000),
        ("carol", 5000),
    ]
    again = json.loads(runner.invoke(cli.cli, ["demo", "--json"]).stdout)
    assert (again["apiKey"], again["opsKey"], again["programId"]) == (
        seeded["apiKey"],
        seeded["opsKey"],
        seeded["programId"],
    )
    assert [m["points"] for m in again["members"]] == [50000, 20000, 5000], "no double credit"


def test_demo_refuses_production(monkeypatch: pytest.MonkeyPatch, environment: Settings) -> None:
    monkeypatch.setenv("REWARDGATE_ENVIRONMENT", "production")
    monkeypatch.setenv("REWARDGATE_FX__SOURCE", "snapshot")
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", "s" * 40)
    monkeypatch.setenv("REWARDGATE_DELIVERY_KEYS", REAL_DELIVERY_KEY)
    for name in ("TANGO", "TREMENDOUS", "PRINTFUL", "VIATOR", "CHANGE"):
        monkeypatch.setenv(f"REWARDGATE_VENDORS__{name}__ENABLED", "false")
    result = runner.invoke(cli.cli, ["demo"])
    assert result.exit_code == 2
    assert "development" in result.stderr


def test_points_expire_runs_the_sweep(environment: Settings) -> None:
    runner.invoke(cli.cli, ["db", "upgrade"])
    result = runner.invoke(cli.cli, ["points", "expire"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "settled 0 accounts, expired 0 holds"


def test_points_check_reports_a_consistent_ledger_and_a_corrupted_one(
    environment: Settings,
) -> None:
    assert runner.invoke(cli.cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli.cli, ["demo"]).exit_code == 0
    clean = runner.invoke(cli.cli, ["points", "check"])
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.strip() == "the ledger is consistent"

    async def corrupt() -> None:
        database = Database.from_settings(environment)
        try:
            async with database.write_connection() as connection:
                await connection.execute(
                    text(
                        "UPDATE ledger_account SET posted_credits = posted_credits + 1 "
                        "WHERE kind = 'member'"
                    )
                )
        finally:
            await database.dispose()

    asyncio.run(corrupt())
    broken = runner.invoke(cli.cli, ["points", "check"])
    assert broken.exit_code == 1
    assert "but the journal folds to" in broken.stdout
    assert "violations of the ledger's invariants" in broken.stderr


def test_serve_listens_at_once_on_a_fresh_database(
    environment: Settings, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No vendor is called before the server starts: the catalog fills in the background."""
    calls: list[str] = []
    from vendors._http import VendorHttp

    send = VendorHttp._send

    async def counting(self: VendorHttp, *args: Any, **kwargs: Any) -> Any:
        calls.append(self.vendor)
        return await send(self, *args, **kwargs)

    monkeypatch.setattr(VendorHttp, "_send", counting)
    runner.invoke(cli.cli, ["db", "upgrade"])
    result = runner.invoke(cli.cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert served, "started"
    assert calls == [], "nothing waited for a vendor"
    assert "Catalog: empty; it fills from the vendors in the background" in result.stdout


def test_serve_counts_rewards_as_total_count_does(
    environment: Settings, served: list[dict[str, Any]]
) -> None:
    assert runner.invoke(cli.cli, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli.cli, ["catalog", "refresh"]).exit_code == 0
    result = runner.invoke(cli.cli, ["serve"])
    assert result.exit_code == 0, result.output
    demo = json.loads(runner.invoke(cli.cli, ["demo", "--json"]).stdout)
    total = asyncio.run(_total_count(environment, demo["apiKey"]))
    assert f"Catalog: {total} rewards (the demo program's `totalCount`)." in result.stdout


async def _total_count(settings: Settings, api_key: str) -> int:
    from tests.conftest import gateway_client

    async with gateway_client(settings) as http:
        answer = await http.post(
            "/graphql",
            json={"query": "{ rewards { totalCount } }"},
            headers={"Authorization": f"Bearer {api_key}"},
        )
    total: int = answer.json()["data"]["rewards"]["totalCount"]
    return total


def test_serve_in_production_prints_no_secret(
    environment: Settings, served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "q" * 40
    monkeypatch.setenv("REWARDGATE_ENVIRONMENT", "production")
    monkeypatch.setenv("REWARDGATE_FX__SOURCE", "snapshot")
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", secret)
    monkeypatch.setenv("REWARDGATE_DELIVERY_KEYS", REAL_DELIVERY_KEY)
    for name in ("TANGO", "TREMENDOUS", "PRINTFUL", "VIATOR", "CHANGE"):
        monkeypatch.setenv(f"REWARDGATE_VENDORS__{name}__ENABLED", "false")
    assert runner.invoke(cli.cli, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli.cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    assert "Bearer" not in result.output, "no demo keys or tokens in production"
