from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.settings import (
    DEVELOPMENT_DELIVERY_KEY,
    DEVELOPMENT_MEMBER_TOKEN_SECRET,
    Environment,
    LogFormat,
    Settings,
    SettingsError,
    env_var_name,
    load_settings,
)
from vendors.registry import VENDORS
from vendors.tremendous.config import SANDBOX_WEBHOOK_KEY


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("REWARDGATE_") and not key.startswith("REWARDGATE_TEST_"):
            monkeypatch.delenv(key)


def test_defaults_are_a_friendly_development_setup() -> None:
    settings = load_settings(env_file=None)
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url == "sqlite+aiosqlite:///./rewardgate.db"
    assert settings.is_sqlite
    assert settings.graphiql_enabled
    assert settings.log_format is LogFormat.JSON
    assert settings.database_write_attempts == 5
    assert isinstance(settings.member_token_secret, SecretStr)


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDGATE_DATABASE_URL", "postgresql+asyncpg://u:p@db:5432/rg")
    monkeypatch.setenv("REWARDGATE_DATABASE_WRITE_ATTEMPTS", "9")
    monkeypatch.setenv("REWARDGATE_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("REWARDGATE_GRAPHIQL", "false")
    settings = load_settings(env_file=None)
    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/rg"
    assert not settings.is_sqlite
    assert settings.database_write_attempts == 9
    assert settings.log_level == "DEBUG"
    assert not settings.graphiql_enabled


def test_env_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory
) -> None:
    env_file = tmp_path / "gateway.env"  # type: ignore[operator]
    env_file.write_text("REWARDGATE_LOG_LEVEL=WARNING\nREWARDGATE_DATABASE_POOL_SIZE=3\n")
    monkeypatch.setenv("REWARDGATE_LOG_LEVEL", "ERROR")
    settings = load_settings(env_file=str(env_file))
    assert settings.database_pool_size == 3
    assert settings.log_level == "ERROR"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u:secret@h:5433/db", "postgresql+asyncpg://u:secret@h:5433/db"),
        ("sqlite:///data/rg.db", "sqlite+aiosqlite:///data/rg.db"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
    ],
)
def test_database_urls_are_normalised_to_our_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, normalised: str
) -> None:
    monkeypatch.setenv("REWARDGATE_DATABASE_URL", given)
    assert load_settings(env_file=None).database_url == normalised


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("REWARDGATE_DATABASE_URL", "mysql://root@db/rg", "unsupported database driver 'mysql'"),
        ("REWARDGATE_DATABASE_URL", "not a url", "not a database URL"),
        ("REWARDGATE_DATABASE_POOL_SIZE", "many", "valid integer"),
        ("REWARDGATE_DATABASE_WRITE_ATTEMPTS", "0", "greater than or equal to 1"),
        ("REWARDGATE_ENVIRONMENT", "staging", "'development' or 'production'"),
        ("REWARDGATE_LOG_FORMAT", "xml", "'json' or 'console'"),
        ("REWARDGATE_DATABASE_SCHEMA", "Robert'); DROP", "should match pattern"),
    ],
)
def test_invalid_values_fail_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    [(name, text)] = caught.value.problems
    assert name == variable
    assert message in text
    assert variable in str(caught.value)


def test_unknown_variables_under_our_prefix_fail_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REWARDGATE_DATABSE_URL", "sqlite://")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    [(name, text)] = caught.value.problems
    assert name == "REWARDGATE_DATABSE_URL"
    assert "did you mean REWARDGATE_DATABASE_URL?" in text


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDGATE_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("REWARDGATE_DATABASE_POOL_SIZE", "0")
    monkeypatch.setenv("REWARDGATE_NOPE", "1")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    names = {name for name, _ in caught.value.problems}
    assert names == {"REWARDGATE_LOG_LEVEL", "REWARDGATE_DATABASE_POOL_SIZE", "REWARDGATE_NOPE"}


REAL_DELIVERY_KEY = "m5XlQvPnGctDRAeU-UDXQMyKKxp-J5wsrxNahFxjpLs="


def _production(
    monkeypatch: pytest.MonkeyPatch, *, vendors: bool = False, delivery_key: bool = True
) -> None:
    monkeypatch.setenv("REWARDGATE_ENVIRONMENT", "production")
    if delivery_key:
        monkeypatch.setenv("REWARDGATE_DELIVERY_KEYS", REAL_DELIVERY_KEY)
    if not vendors:
        for spec in VENDORS:
            monkeypatch.setenv(f"REWARDGATE_VENDORS__{spec.name.upper()}__ENABLED", "false")


def test_production_refuses_the_public_development_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(monkeypatch)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    [(name, text)] = caught.value.problems
    assert name == "REWARDGATE_MEMBER_TOKEN_SECRET"
    assert "must be set in production" in text
    assert DEVELOPMENT_MEMBER_TOKEN_SECRET not in str(caught.value)


def test_production_refuses_the_public_delivery_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, delivery_key=False)
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", "x" * 40)
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    [(name, text)] = caught.value.problems
    assert name == "REWARDGATE_DELIVERY_KEYS"
    assert "must be set in production" in text
    # Rotation: the development key may still decrypt, after a real one that encrypts.
    monkeypatch.setenv(
        "REWARDGATE_DELIVERY_KEYS", f"{REAL_DELIVERY_KEY},{DEVELOPMENT_DELIVERY_KEY}"
    )
    with pytest.raises(SettingsError, match="REWARDGATE_DELIVERY_KEYS"):
        load_settings(env_file=None)


def test_a_delivery_key_that_is_not_a_fernet_key_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REWARDGATE_DELIVERY_KEYS", f"{REAL_DELIVERY_KEY},hunter2")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert "Fernet key" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    monkeypatch.setenv(
        "REWARDGATE_DELIVERY_KEYS", f" {REAL_DELIVERY_KEY} , {DEVELOPMENT_DELIVERY_KEY}"
    )
    assert load_settings(env_file=None).delivery_keys.get_secret_value().startswith(" m5X")


def test_production_refuses_a_short_secret_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(monkeypatch)
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", "hunter2")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    assert "at least 32 characters" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_production_refuses_in_process_sandboxes(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch, vendors=True)
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", "x" * 40)
    monkeypatch.setenv("REWARDGATE_VENDORS__TANGO__BASE_URL", "https://api.tangocard.com/raas/v2")
    monkeypatch.setenv("REWARDGATE_VENDORS__CHANGE__ENABLED", "false")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    [(name, text)] = caught.value.problems
    assert name == "REWARDGATE_VENDORS"
    assert "REWARDGATE_VENDORS__TREMENDOUS__BASE_URL" in text
    assert "REWARDGATE_VENDORS__TANGO__BASE_URL" not in text
    assert "REWARDGATE_VENDORS__CHANGE__BASE_URL" not in text


def test_production_refuses_the_sandboxes_public_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(monkeypatch)
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", "x" * 40)
    monkeypatch.setenv("REWARDGATE_VENDORS__TREMENDOUS__ENABLED", "true")
    monkeypatch.setenv(
        "REWARDGATE_VENDORS__TREMENDOUS__BASE_URL", "https://www.tremendous.com/api/v2"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    [(name, text)] = caught.value.problems
    assert name == "REWARDGATE_VENDORS"
    assert "REWARDGATE_VENDORS__TREMENDOUS__API_KEY" in text
    assert "REWARDGATE_VENDORS__TREMENDOUS__WEBHOOK_KEY" in text
    assert SANDBOX_WEBHOOK_KEY not in str(caught.value)
    monkeypatch.setenv("REWARDGATE_VENDORS__TREMENDOUS__API_KEY", "PROD_" + "k" * 30)
    with pytest.raises(SettingsError, match="WEBHOOK_KEY") as caught:
        load_settings(env_file=None)
    assert "__API_KEY" not in str(caught.value)
    monkeypatch.setenv("REWARDGATE_VENDORS__TREMENDOUS__WEBHOOK_KEY", "w" * 40)
    settings = load_settings(env_file=None)
    assert settings.vendors.tremendous.webhook_key.get_secret_value() == "w" * 40
    # Said out loud: the vendors are the sandboxes (docker/compose.yaml).
    monkeypatch.delenv("REWARDGATE_VENDORS__TREMENDOUS__API_KEY")
    monkeypatch.delenv("REWARDGATE_VENDORS__TREMENDOUS__WEBHOOK_KEY")
    monkeypatch.setenv("REWARDGATE_VENDORS__SANDBOX_CREDENTIALS", "true")
    assert load_settings(env_file=None).vendors.sandbox_credentials


def test_vendor_settings_are_nested_and_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDGATE_VENDORS__TANGO__BASE_URL", "http://127.0.0.1:8100/tango/raas/v2")
    monkeypatch.setenv("REWARDGATE_VENDORS__TANGO__PLATFORM_KEY", "s3cret")
    monkeypatch.setenv("REWARDGATE_VENDORS__VIATOR__TIMEOUT_SECONDS", "90")
    settings = load_settings(env_file=None)
    assert settings.vendors.tango.base_url == "http://127.0.0.1:8100/tango/raas/v2"
    assert settings.vendors.tango.platform_key.get_secret_value() == "s3cret"
    assert settings.vendors.viator.timeout_seconds == 90
    assert settings.vendors.tremendous.base_url is None
    monkeypatch.setenv("REWARDGATE_VENDORS__PRINTFUL__BASE_URL", "ftp://printful")
    monkeypatch.setenv("REWARDGATE_VENDORS__TANGO__PLATFORM_NAM", "typo")
    with pytest.raises(SettingsError) as caught:
        load_settings(env_file=None)
    names = {name for name, _ in caught.value.problems}
    assert names == {
        "REWARDGATE_VENDORS__PRINTFUL__BASE_URL",
        "REWARDGATE_VENDORS__TANGO__PLATFORM_NAM",
    }
    assert "s3cret" not in str(caught.value)


def test_production_defaults_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    monkeypatch.setenv("REWARDGATE_MEMBER_TOKEN_SECRET", "x" * 40)
    settings = load_settings(env_file=None)
    assert settings.is_production
    assert not settings.graphiql_enabled
    assert "x" * 40 not in repr(settings)


def test_settings_are_immutable() -> None:
    settings = load_settings(env_file=None)
    with pytest.raises(ValueError, match="frozen"):
        settings.log_level = "DEBUG"  # type: ignore[misc]


def test_env_var_names_follow_prefix_and_nesting() -> None:
    assert env_var_name("database_url") == "REWARDGATE_DATABASE_URL"
    assert env_var_name("vendors", "tango", "base_url") == "REWARDGATE_VENDORS__TANGO__BASE_URL"
    assert set(Settings.model_fields) >= {"environment", "database_url", "member_token_secret"}
