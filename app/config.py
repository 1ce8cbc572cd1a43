"""Settings, read from the environment with the HUITOU_ prefix (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-secret-change-me"  # noqa: S105 - the placeholder production refuses
PLACEHOLDER_SECRETS = {"", DEV_SECRET_KEY, "changeme", "change-me", "secret", "changethis"}
SUPPORTED_LOCALES = ("zh_CN", "en")


class SettingsError(RuntimeError):
    """Configuration that must stop start-up, with a message naming what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUITOU_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'huitou.db'}"
    secret_key: str = DEV_SECRET_KEY
    base_url: str = "http://127.0.0.1:8000"
    default_locale: str = "zh_CN"
    default_timezone: str = "Asia/Shanghai"
    session_max_age_seconds: int = 12 * 3600
    login_max_failures_per_username: int = 5
    login_max_failures_per_client: int = 20
    login_throttle_window_seconds: int = 15 * 60
    # A webhook sender has this long to deliver its body; a client dripping bytes gets 408.
    webhook_body_timeout_seconds: float = 10.0
    # Deliveries with a bad signature a client may send per minute before it gets 429.
    webhook_failures_per_minute: int = 30
    db_pool_size: int = 5
    db_max_overflow: int = 10
    # PostgreSQL: a pooled connection idle this long is pinged before use (a dead one is replaced
    # without the request noticing); one in use moments ago is not (app/db.py, _ping_when_idle).
    db_ping_after_idle_seconds: float = Field(default=1.0, ge=0)
    log_level: str = "INFO"
    # A Server-Timing header on every response: how long the request queued for a database
    # session (and, writing, for the write lock), committed, and took in all (the benchmark reads
    # it; browsers' developer tools show it). Off by default: timings tell a client about load.
    server_timing: bool = False
    # How often (ms) the interpreter hands its GIL from a thread running Python to one waiting for
    # it. Every SQLite step, thread hop and socket read gives the GIL up and must win it back: with
    # Python's 5 ms default a request of a few hundred steps waits seconds whenever another request
    # renders beside it (scripts/bench/requests.py --beside 1 shows it). Applied by `huitou serve`
    # and `huitou dispatch` at start-up.
    gil_switch_interval_ms: float = Field(default=0.5, ge=0.05, le=100)
    # `huitou dispatch` lowers its own CPU priority by this much (Unix nice, 0-19) at start-up: on
    # a machine it shares with `huitou serve`, the agents' requests get the CPU first and the
    # background work (webhook processing, the rollup, sweeps) takes what is left.
    dispatch_nice: int = Field(default=10, ge=0, le=19)
    # While webhooks arrive faster than this (deliveries a second, all servers together), the
    # dispatch inbox thread works only `inbox_flood_share` of its time and rests the rest: at a
    # 大促 peak, answering storefronts comes first (one that waits retries, and in the end drops
    # the subscription); what is stored is processed as the flood allows and at full speed after.
    # The rate is above what two workers process on two cores (~95 a second, stop 27): below it,
    # resting would only make the desk wait. A share of 1 never rests (dispatch on its own host).
    inbox_flood_rate: float = Field(default=200.0, gt=0)
    inbox_flood_share: float = Field(default=0.25, gt=0, le=1)

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        normalized = value.replace("-", "_")
        if normalized not in SUPPORTED_LOCALES:
            raise ValueError(f"HUITOU_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
        return normalized

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"HUITOU_DEFAULT_TIMEZONE {value!r} is not an IANA time zone") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _normalize_database_url(cls, value: str) -> str:
        # Accept the URLs people paste (postgres://, postgresql://) and use psycopg 3.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 32
        ):
            raise SettingsError(
                "HUITOU_SECRET_KEY is missing or a placeholder. In production set HUITOU_SECRET_KEY "
                "to a random value of at least 32 characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        # One line per bad variable, named as it is set: HUITOU_GIL_SWITCH_INTERVAL_MS: …
        problems = "; ".join(
            f"HUITOU_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise SettingsError(f"Invalid settings: {problems}.") from exc
