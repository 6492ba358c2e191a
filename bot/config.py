"""Settings from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'cop.sqlite'}"
TELEGRAM_API_URL = "https://api.telegram.org"
LOCALES = ("en", "hi")
TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")

# What each variable expects, shown when its value is invalid.
# A form untouched for longer than this many hours expires; a month is the upper bound.
FORM_TTL_MAX_HOURS = 720

EXPECTED_FORMS = {
    "BOT_TOKEN": "the token from @BotFather, in the form 123456789:ABC-DEF_ghi",
    "BOT_API_URL": "an http(s) URL such as https://api.telegram.org or http://127.0.0.1:8081",
    "DATABASE_URL": "a URL like sqlite:///data/cop.sqlite or postgresql://user@host:5432/db",
    "REDIS_URL": "a URL like redis://127.0.0.1:6379/0",
    "TIMEZONE": "an IANA time zone name such as Asia/Kolkata",
    "FACILITATOR_IDS": "Telegram user ids separated by commas, like 12345,67890",
    "DEFAULT_LOCALE": "one of: " + ", ".join(LOCALES),
    "COMMUNITY_NAME": "the name of the first community, up to 200 characters",
    "FORM_TTL_HOURS": f"a whole number of hours from 1 to {FORM_TTL_MAX_HOURS}",
    "OUTBOX_RATE": "messages per second for bulk sends, a number from 1 to 1000 (Telegram allows about 30)",
}


SECRET_VARIABLES = {"BOT_TOKEN", "DATABASE_URL", "REDIS_URL"}


class ConfigError(Exception):
    """Invalid configuration; the message names the variable and the expected form."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    bot_api_url: str = TELEGRAM_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    timezone: str = "Asia/Kolkata"
    facilitator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "en"
    community_name: str = "Community of Practice"
    # Hours a form may stay untouched before it expires and its answers are dropped.
    form_ttl_hours: int = Field(default=48, ge=1, le=FORM_TTL_MAX_HOURS)
    # Messages per second the outbox sender allows itself over all chats. Telegram's
    # limit for ordinary bots is about 30; raise it only for a bot with a higher allowance.
    outbox_rate: float = Field(default=30.0, ge=1, le=1000)

    @field_validator("bot_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not TOKEN_PATTERN.match(value.strip()):
            raise ValueError("not a bot token")
        return value.strip()

    @field_validator("bot_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", value):
            raise ValueError("unsupported database URL")
        return value

    @field_validator("redis_url", mode="before")
    @classmethod
    def _check_redis_url(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not isinstance(value, str) or not re.match(r"^rediss?://", value):
            raise ValueError("not a redis URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("unknown time zone") from error
        return value

    @field_validator("facilitator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if value is None or value == "":
            return []
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            parts = [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
            if not all(re.fullmatch(r"-?\d+", part) for part in parts):
                raise ValueError("not a list of numeric ids")
            return [int(part) for part in parts]
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError("unsupported locale")
        return value

    @field_validator("community_name")
    @classmethod
    def _check_community_name(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > 200:
            raise ValueError("empty or too long")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one ConfigError naming each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            variable = str(problem["loc"][0]).upper() if problem["loc"] else "configuration"
            expected = EXPECTED_FORMS.get(variable, "a valid value")
            # The token is a secret, so only the other variables repeat the value given.
            given = "" if variable in SECRET_VARIABLES else f" (got {problem.get('input')!r})"
            lines.append(f"Invalid {variable}{given}: expected {expected}.")
        raise ConfigError("\n".join(lines)) from None
