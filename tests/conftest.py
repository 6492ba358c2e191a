"""Shared fixtures: a PostgreSQL database URL when the server on this machine is reachable."""

from __future__ import annotations

import os
import socket

import pytest

from bot.config import Settings

POSTGRES_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("TEST_POSTGRES_PORT", "5432"))


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> str:
    """URL of the `test` database; the test is skipped when PostgreSQL is not running."""
    if not postgres_reachable():
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}")
    return f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's own configuration (a real token, their database) out of tests."""
    for name in (
        "BOT_TOKEN",
        "BOT_API_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "FACILITATOR_IDS",
        "DEFAULT_LOCALE",
        "TIMEZONE",
        "COMMUNITY_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
