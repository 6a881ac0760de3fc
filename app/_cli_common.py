"""What every ``rewardgate`` command shares: settings or a clear exit, and failing loudly."""

from __future__ import annotations

from typing import NoReturn

import typer

from app.settings import Settings, SettingsError, load_settings

__all__ = ["fail", "settings_or_exit"]


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), code=2)


def fail(message: str, *, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)
