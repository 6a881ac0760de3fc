"""Configuration, read once from the environment.

Every setting is an environment variable with the prefix ``REWARDGATE_``; nested settings join
their path with ``__`` (``REWARDGATE_VENDORS__TANGO__BASE_URL``). A ``.env`` file in the working
directory is read too. Secrets are ``SecretStr`` so they never reach a log or a traceback.

`load_settings` is the one entry point the process uses: it turns pydantic's validation errors,
and variables with our prefix that no setting reads, into a `SettingsError` whose message names
each offending environment variable, so a typo fails the start instead of being ignored.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from cryptography.fernet import Fernet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from vendors.registry import VENDORS, VendorsConfig

__all__ = [
    "ENV_PREFIX",
    "SCHEMA_NAME_PATTERN",
    "Environment",
    "FxSettings",
    "LogFormat",
    "RedemptionSettings",
    "Settings",
    "SettingsError",
    "env_var_name",
    "load_settings",
]

ENV_PREFIX = "REWARDGATE_"
# Values of these variables are never echoed in error messages (URLs may embed a password).
_SECRET_NAMES = re.compile(r"SECRET|KEY|TOKEN|PASSWORD|DATABASE_URL")
NESTED_DELIMITER = "__"
# Variables under this prefix belong to the test harness (tests/conftest.py), not to the gateway.
_RESERVED_PREFIXES = (f"{ENV_PREFIX}TEST_",)

SCHEMA_NAME_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
ECB_DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
SNAPSHOT = "snapshot"  # the rates file shipped in the package
DEVELOPMENT_MEMBER_TOKEN_SECRET = "development-only-member-token-secret-do-not-deploy"  # noqa: S105
# A Fernet key anyone can read (it is here): development encrypts delivery codes with it.
DEVELOPMENT_DELIVERY_KEY = "ZGV2ZWxvcG1lbnQtb25seS1kZWxpdmVyeS1rZXkhISE="

_SUPPORTED_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class Environment(StrEnum):
    """Where the gateway runs; production turns the friendly defaults into safe ones."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class FxSettings(BaseModel):
    """Where exchange rates come from and how old they may be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = Field(
        default=None,
        description="ECB daily rates XML: an http(s) URL or a file path; `snapshot`: the dated "
        "file shipped in the package. Unset: the ECB's daily file "
        f"({ECB_DAILY_URL}) in production, the snapshot in development.",
    )
    max_age_days: Annotated[int, Field(ge=0, le=60)] = Field(
        default=4, description="Rates older than this fail closed (quotes are refused)."
    )
    allow_stale_snapshot: bool | None = Field(
        default=None,
        description="Price on the packaged snapshot whatever its age; default: in development "
        "only.",
    )
    refresh_seconds: Annotated[int, Field(ge=60, le=86_400)] = Field(
        default=3_600, description="How often the gateway reloads rates."
    )


class RedemptionSettings(BaseModel):
    """How the redemption saga runs in each gateway process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait_seconds: Annotated[float, Field(ge=0, le=30)] = Field(
        default=2.0,
        description="How long `redeem` waits for the saga before it answers the redemption's "
        "current state (the saga carries on in the background).",
    )
    lease_seconds: Annotated[int, Field(ge=5, le=3_600)] = Field(
        default=30,
        description="A process running a redemption holds it this long, renewed while it "
        "works; a process that dies leaves it to another after this.",
    )
    worker: bool = Field(
        default=True,
        description="Run the worker that resumes due redemptions (retries, vendor polls, "
        "recovery after a crash) in this process.",
    )
    worker_interval_seconds: Annotated[float, Field(gt=0, le=300)] = Field(
        default=1.0, description="How often the worker looks for due redemptions."
    )
    worker_concurrency: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=100, description="Redemptions one worker runs at once."
    )
    retry_base_seconds: Annotated[float, Field(gt=0, le=3_600)] = Field(
        default=2.0,
        description="First wait before a vendor is asked again (doubling up to the maximum).",
    )
    retry_max_seconds: Annotated[float, Field(gt=0, le=86_400)] = Field(
        default=300.0, description="Longest wait between two attempts or polls."
    )
    webhook_retention_days: Annotated[int, Field(ge=1, le=365)] = Field(
        default=14,
        description="Vendor webhooks received are remembered this long, so that a redelivery "
        "is recognised (vendors redeliver for hours to a few days); the worker then prunes "
        "them. A redelivery after that only makes its order's next poll early.",
    )


class Settings(BaseSettings):
    """The gateway's configuration. Field descriptions are the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=NESTED_DELIMITER,
        env_file=".env",
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
    )

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="`development` (GraphiQL, GET queries, introspection, field suggestions) or "
        "`production` (all of those off; real secrets required).",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///./rewardgate.db",
        description="SQLAlchemy URL. `sqlite+aiosqlite:///path` (embedded, migrated on `serve`) "
        "or `postgresql+asyncpg://user:pass@host/db`; `postgres://` and `sqlite://` are accepted.",
    )
    database_schema: str | None = Field(
        default=None,
        pattern=SCHEMA_NAME_PATTERN,
        description="PostgreSQL only: the schema to use (its `search_path`); default `public`.",
    )
    database_pool_size: Annotated[int, Field(ge=1, le=200)] = Field(
        default=10, description="PostgreSQL connections kept per process."
    )
    database_busy_timeout_ms: Annotated[int, Field(ge=0, le=600_000)] = Field(
        default=5_000, description="SQLite only: how long a writer waits for the write lock."
    )
    database_write_attempts: Annotated[int, Field(ge=1, le=50)] = Field(
        default=5,
        description="Attempts of one write transaction on SQLITE_BUSY, serialization failure "
        "or deadlock before giving up.",
    )
    graphiql: bool | None = Field(
        default=None,
        description="Serve GraphiQL on `GET /graphql`; default on in development, off in "
        "production.",
    )
    graphiql_assets_url: str | None = Field(
        default=None,
        description="Where GraphiQL's scripts and styles are served from instead of "
        "unpkg.com (a copy with the same paths, e.g. `graphiql@3.8.3/graphiql.min.js`), for "
        "machines that cannot reach the CDN.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level logged."
    )
    log_format: LogFormat = Field(
        default=LogFormat.JSON,
        description="`json` (one JSON object per line) or `console` (coloured, for a terminal).",
    )
    vendors: VendorsConfig = Field(
        default_factory=VendorsConfig,
        description="Each vendor's base URL, credentials and timeout (see the vendor table).",
    )
    fx: FxSettings = Field(default_factory=FxSettings, description="Exchange rates.")
    quote_lifetime_seconds: Annotated[int, Field(ge=30, le=86_400)] = Field(
        default=900, description="How long a quote's price is locked."
    )
    member_token_lifetime_seconds: Annotated[int, Field(ge=60, le=86_400)] = Field(
        default=900, description="How long a member token issued by `issueMemberToken` lasts."
    )
    graphql_max_cost: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=10_000,
        description="The most one GraphQL document may cost (an object field costs 1, page sizes "
        "multiply what is under them); costlier documents are refused before they run.",
    )
    max_active_requests: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=64,
        description="Requests worked on at once per process; more wait their turn "
        "(`REWARDGATE_BUSY_WAIT_SECONDS`), then are refused with HTTP 503 `BUSY` before "
        "anything of theirs ran.",
    )
    busy_wait_seconds: Annotated[float, Field(ge=0, le=300)] = Field(
        default=5.0,
        description="How long a request waits for its turn before it is refused as `BUSY`.",
    )
    max_request_bytes: Annotated[int, Field(ge=1_024, le=16 * 1024 * 1024)] = Field(
        default=65_536,
        description="Larger request bodies are refused with HTTP 413 before they are parsed.",
    )
    response_cache_url: str = Field(
        default="mem://?size=2000",
        description="Where catalog responses are cached: `mem://?size=N` (in process), "
        "`redis://host:6379/0` (shared by every worker and replica), or `off`.",
    )
    response_cache_seconds: Annotated[int, Field(ge=1, le=86_400)] = Field(
        default=300, description="How long a cached catalog response lives."
    )
    catalog_schedule: bool = Field(
        default=True,
        description="Refresh vendor catalogs in the background on each vendor's schedule "
        "(off: only `rewardgate catalog refresh`).",
    )
    expiry_sweep_seconds: Annotated[int, Field(ge=0, le=86_400)] = Field(
        default=60,
        description="How often the gateway expires lots and holds in the background; 0: never "
        "(run `rewardgate points expire` instead).",
    )
    redemption: RedemptionSettings = Field(
        default_factory=RedemptionSettings, description="The redemption saga."
    )
    delivery_keys: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_DELIVERY_KEY),
        description="Fernet keys that encrypt delivery codes, pins and links at rest, "
        "comma-separated: the first encrypts, all decrypt (rotation). In production: required.",
    )
    member_token_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_MEMBER_TOKEN_SECRET),
        description="Signs member tokens (JWT, HS256). In production: required, ≥ 32 characters.",
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        driver = _SUPPORTED_DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(
                f"unsupported database driver {url.drivername!r}; use sqlite+aiosqlite:///path "
                "or postgresql+asyncpg://user@host/db"
            )
        return url.set(drivername=driver).render_as_string(hide_password=False)

    @field_validator("vendors")
    @classmethod
    def _production_needs_real_vendors(
        cls, value: VendorsConfig, info: ValidationInfo
    ) -> VendorsConfig:
        if info.data.get("environment") is not Environment.PRODUCTION:
            return value
        missing = [
            env_var_name("vendors", spec.name, "base_url")
            for spec in VENDORS
            if value.of(spec.name).enabled and value.of(spec.name).base_url is None
        ]
        if missing:
            raise ValueError(
                "production needs a base URL for every enabled vendor (in-process sandboxes are "
                f"for development): set {', '.join(missing)} or disable the vendor with "
                "REWARDGATE_VENDORS__<NAME>__ENABLED=false"
            )
        public = [
            env_var_name("vendors", spec.name, field)
            for spec in VENDORS
            if value.of(spec.name).enabled and not value.sandbox_credentials
            for field in _sandbox_secrets(value.of(spec.name))
        ]
        if public:
            raise ValueError(
                "production refuses the sandboxes' credentials and webhook keys (they are "
                f"public, in this repository): set {', '.join(public)} (or, when the vendors "
                "are the sandboxes, REWARDGATE_VENDORS__SANDBOX_CREDENTIALS=true)"
            )
        return value

    @field_validator("member_token_secret")
    @classmethod
    def _production_needs_a_real_secret(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if info.data.get("environment") is not Environment.PRODUCTION:
            return value
        secret = value.get_secret_value()
        if secret == DEVELOPMENT_MEMBER_TOKEN_SECRET:
            raise ValueError("must be set in production (the development default is public)")
        if len(secret) < 32:
            raise ValueError("must be at least 32 characters in production")
        return value

    @field_validator("delivery_keys")
    @classmethod
    def _real_fernet_keys(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        keys = [key.strip() for key in value.get_secret_value().split(",")]
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ValueError(
                    "each key must be a Fernet key (32 url-safe base64-encoded bytes: "
                    "`python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'`)"
                ) from None
        if info.data.get("environment") is Environment.PRODUCTION and (
            DEVELOPMENT_DELIVERY_KEY in keys
        ):
            raise ValueError("must be set in production (the development key is public)")
        return value

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def rates_location(self) -> str | None:
        """Where rates come from: a URL or a path; None for the packaged snapshot."""
        source = self.fx.source
        if source == SNAPSHOT:
            return None
        if source is None:
            return ECB_DAILY_URL if self.is_production else None
        return source

    @property
    def allow_stale_snapshot(self) -> bool:
        if self.fx.allow_stale_snapshot is not None:
            return self.fx.allow_stale_snapshot
        return not self.is_production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production


class SettingsError(Exception):
    """The environment holds settings the gateway cannot start with; the message names each one."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"{name}: {message}" for name, message in problems]
        super().__init__("invalid settings:\n  " + "\n  ".join(lines))


def _sandbox_secrets(config: BaseModel) -> list[str]:
    """The secret settings of a vendor still at their defaults: the sandbox's values."""
    return [
        name
        for name, field in type(config).model_fields.items()
        if isinstance(field.default, SecretStr)
        and getattr(config, name).get_secret_value() == field.default.get_secret_value()
    ]


def env_var_name(*path: str | int) -> str:
    """The environment variable that sets the setting at ``path`` (``("vendors", "tango")``)."""
    return ENV_PREFIX + NESTED_DELIMITER.join(str(part) for part in path).upper()


def load_settings(*, env_file: str | None = ".env", **overrides: Any) -> Settings:
    """Read the settings from the process environment, ``env_file`` and ``overrides``.

    Raises `SettingsError` naming every invalid or unknown ``REWARDGATE_*`` variable.
    """
    problems = _unknown_variables(os.environ)
    try:
        settings = Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        problems.extend(_describe(error) for error in exc.errors())
    if problems:
        raise SettingsError(problems)
    return settings


def _unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    known = sorted(env_var_name(name) for name in Settings.model_fields)
    problems = []
    for key in sorted(environ):
        if not key.startswith(ENV_PREFIX) or key.startswith(_RESERVED_PREFIXES):
            continue
        if key.split(NESTED_DELIMITER, 1)[0] in known:
            continue
        hint = difflib.get_close_matches(key, known, n=1)
        problems.append((key, "no such setting" + (f"; did you mean {hint[0]}?" if hint else "")))
    return problems


def _describe(error: Any) -> tuple[str, str]:
    location = [part for part in error["loc"] if part != "__root__"]
    name = env_var_name(*location) if location else ENV_PREFIX + "*"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float) and not _SECRET_NAMES.search(name):
        message += f" (got {value!r})"
    return name, message
