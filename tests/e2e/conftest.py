"""Fixtures for end-to-end tests: the real bot polling the sandbox, one fresh database each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from schedule_steps import hold_schedules

from bot.config import load_settings
from bot.sandbox.harness import SandboxHarness
from bot.texts import Texts


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[SandboxHarness]:
    """Yield a started harness with the demo data on a fresh SQLite database in tmp_path."""
    # Explicit values, so a developer's .env (a real token, DATABASE_URL or REDIS_URL) is not used.
    settings = load_settings(
        bot_token=None,
        database_url=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
        redis_url=None,
        facilitator_ids=[],
        default_locale="en",
    )
    started = SandboxHarness(settings, demo=True)
    await started.start()
    await hold_schedules(started)
    yield started
    await started.stop()


@pytest.fixture(scope="session")
def texts() -> Texts:
    return Texts()
