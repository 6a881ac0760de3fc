"""The ``rewardgate`` command line: serve the gateway and manage its database.

Exit codes: 0 success, 1 the operation failed (database unreachable or not migrated), 2 bad usage
or invalid settings.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app import __version__, background, migrations
from app._cli_common import fail, settings_or_exit
from app._types import utcnow
from app.catalog.listing import RewardFilter
from app.catalog.refresh import VendorRefresh
from app.db import Database
from app.log import configure_logging
from app.ops.cli import ops_cli
from app.partners.demo import DemoSeed, seed_demo
from app.points import audit
from app.runtime import open_services
from app.settings import Settings
from vendors.registry import VENDORS
from vendors.sandbox import SandboxHub

__all__ = ["cli", "main"]

T = TypeVar("T")
# Demo member tokens outlive the default 15 minutes so a newcomer can explore at leisure.
DEMO_TOKEN_HOURS = 12

cli = typer.Typer(
    name="rewardgate",
    help="rewardgate: one GraphQL gateway in front of every reward vendor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database migrations.", no_args_is_help=True)
cli.add_typer(db_cli, name="db")
sandbox_cli = typer.Typer(help="The vendor sandboxes.", no_args_is_help=True)
cli.add_typer(sandbox_cli, name="sandbox")
points_cli = typer.Typer(help="The points ledger.", no_args_is_help=True)
cli.add_typer(points_cli, name="points")
catalog_cli = typer.Typer(help="The reward catalog.", no_args_is_help=True)
cli.add_typer(catalog_cli, name="catalog")
cli.add_typer(ops_cli, name="ops")


def main() -> None:
    cli()


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"rewardgate {__version__}")
        raise typer.Exit


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """rewardgate: one GraphQL gateway in front of every reward vendor."""


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Run the gateway (migrates an embedded SQLite first; refuses an un-migrated PostgreSQL)."""
    if reload and workers > 1:
        fail("--reload runs a single process; drop --workers or --reload", code=2)
    settings = settings_or_exit()
    configure_logging(settings)
    state = _with_database(settings, migrations.prepare)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    base = f"http://{shown_host}:{port}"
    typer.echo(f"rewardgate {__version__} ({settings.environment}); database {state.describe()}")
    if settings.graphiql_enabled:
        typer.echo(f"GraphiQL: {base}/graphql  (open it in a browser)")
    else:
        typer.echo(f"GraphQL endpoint: POST {base}/graphql  (GraphiQL is off)")
    if not settings.is_production:
        demo = _with_database(settings, lambda db: _seed_demo(db, settings))
        rewards = asyncio.run(_rewards_for(settings, demo.program_id))
        if rewards:
            typer.echo(f"Catalog: {rewards} rewards (the demo program's `totalCount`).")
        elif settings.catalog_schedule:
            typer.echo(
                "Catalog: empty; it fills from the vendors in the background while the "
                "gateway serves (`GET /readyz` says which vendors are still filling)."
            )
        else:
            typer.echo("Catalog: empty; the schedule is off: run `rewardgate catalog refresh`.")
        member = demo.members[0]
        typer.echo(
            "Demo partner seeded. Paste one of these into GraphiQL's Headers tab:\n"
            f"  member {member['id']} ({member['points']} points): "
            f'{{"Authorization": "Bearer {member["token"]}"}}\n'
            f'  partner key:   {{"Authorization": "Bearer {demo.api_key}"}}\n'
            "Then try: { me { id points { available pending held } } }"
        )
    uvicorn.run(
        "app.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        reload_dirs=["app", "vendors", "graphql_schema"] if reload else None,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply migrations to the configured database."""
    settings = settings_or_exit()
    configure_logging(settings)
    state = _with_database(settings, lambda db: migrations.upgrade(db, revision))
    typer.echo(f"database {state.describe()}")


@db_cli.command("current")
def db_current() -> None:
    """Show the database's revision and the code's head; exit 1 when they differ."""
    settings = settings_or_exit()
    state = _with_database(settings, migrations.status)
    typer.echo(f"database {state.describe()}")
    if not state.at_head:
        raise typer.Exit(1)


@db_cli.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision does.")],
    autogenerate: Annotated[
        bool, typer.Option(help="Compare the models with a migrated database.")
    ] = True,
) -> None:
    """Write a new migration file under app/migrations/versions (for developers)."""
    settings = settings_or_exit()
    _with_database(settings, lambda db: migrations.revision(db, message, autogenerate=autogenerate))


@cli.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Seed (idempotently) a demo partner, program, keys and three members with points."""
    settings = settings_or_exit()
    if settings.is_production:
        fail("the demo is for development; it refuses to seed a production database", code=2)
    _with_database(settings, migrations.prepare)
    seeded = _with_database(settings, lambda db: _seed_demo(db, settings))
    if as_json:
        typer.echo(json.dumps(seeded.as_json(), indent=2))
        return
    typer.echo(f"partner API key: {seeded.api_key}\nops key:         {seeded.ops_key}")
    typer.echo(f"program:         {seeded.program_id}")
    for member in seeded.members:
        typer.echo(f"member {member['id']:<6} {member['points']:>7} points  {member['token']}")


@catalog_cli.command("refresh")
def catalog_refresh(
    vendor: Annotated[
        list[str] | None, typer.Option("--vendor", help="Only this vendor (repeatable).")
    ] = None,
) -> None:
    """Fetch every vendor's catalog now (concurrently) and update the snapshot."""
    settings = settings_or_exit()
    configure_logging(settings)
    _with_database(settings, migrations.prepare)
    unknown = set(vendor or ()) - {spec.name for spec in VENDORS}
    if unknown:
        fail(f"unknown vendor {', '.join(sorted(unknown))}", code=2)
    results = asyncio.run(_refresh_catalog(settings, vendor))
    if not all(result.ok for result in results):
        raise typer.Exit(1)


async def _rewards_for(settings: Settings, program_id: uuid.UUID) -> int:
    """How many rewards the program sees, as its `totalCount` counts them."""
    async with open_services(settings) as services:
        price_class = await services.catalog.price_class_id(program_id)
        return await services.catalog.count(price_class, RewardFilter())


async def _refresh_catalog(settings: Settings, names: list[str] | None) -> list[VendorRefresh]:
    """Refresh with a progress line per vendor (Rich), returning the results."""
    async with open_services(settings) as services:
        chosen = names or list(services.vendors.adapters)
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=False
        ) as progress:
            tasks = {name: progress.add_task(f"{name}: fetching", total=1) for name in chosen}

            def done(result: VendorRefresh) -> None:
                outcome = (
                    f"{result.products} products, {result.calls} calls"
                    if result.ok
                    else f"failed: {result.error}"
                )
                progress.update(
                    tasks[result.vendor],
                    completed=1,
                    description=f"{result.vendor}: {outcome} ({result.seconds:.1f} s)",
                )

            return await services.catalog.refresh(chosen, progress=done)


@points_cli.command("expire")
def points_expire() -> None:
    """Expire the unspent remainder of expired lots and the holds past their time, now."""
    settings = settings_or_exit()
    configure_logging(settings)
    report = _with_database(settings, background.expire_points)
    failed = (
        f", {report.accounts_failed} accounts failed (logged)" if report.accounts_failed else ""
    )
    typer.echo(
        f"settled {report.accounts_settled} accounts, expired {report.holds_expired} holds{failed}"
    )
    if report.accounts_failed:
        raise typer.Exit(1)


@points_cli.command("check")
def points_check() -> None:
    """Check every invariant of the ledger against the journal; exit 1 on any violation.

    It reads the whole journal: run it on a quiet ledger (a replica, a maintenance window).
    """
    settings = settings_or_exit()
    configure_logging(settings)
    problems = _with_database(settings, _audit)
    for problem in problems:
        typer.echo(problem)
    if problems:
        fail(f"{len(problems)} violations of the ledger's invariants")
    typer.echo("the ledger is consistent")


async def _audit(database: Database) -> list[str]:
    async with database.session() as session:
        return await audit.check(session)


async def _seed_demo(database: Database, settings: Settings) -> DemoSeed:
    return await seed_demo(
        database,
        secret=settings.member_token_secret.get_secret_value(),
        now=utcnow(),
        token_lifetime=timedelta(hours=DEMO_TOKEN_HOURS),
    )


@sandbox_cli.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8100,
    seed: Annotated[
        int | None, typer.Option(help="Seed of catalogs and faults (default: the setting).")
    ] = None,
) -> None:
    """Serve every vendor sandbox over HTTP, each under its documented API root."""
    settings = settings_or_exit()
    configure_logging(settings)
    hub = SandboxHub(seed=settings.vendors.sandbox_seed if seed is None else seed)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    for name, root in hub.roots.items():
        typer.echo(f"{name:<11} http://{shown_host}:{port}{root}")
    typer.echo(f"{'controls':<11} http://{shown_host}:{port}/_sandbox")
    uvicorn.run(hub.app, host=host, port=port, log_config=None, access_log=False)


def _with_database(settings: Settings, run: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        database = Database.from_settings(settings)
        try:
            return await run(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(go())
    except migrations.DatabaseNotMigratedError as exc:
        fail(str(exc))
    except (OSError, DBAPIError) as exc:
        fail(f"cannot use the database ({_redacted(settings)}): {exc}")


def _redacted(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)
