"""Fixtures for end-to-end tests: the real bot polling the sandbox, one fresh database each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import load_settings
from bot.sandbox.harness import SandboxHarness
from bot.texts import Texts


@pytest.fixture
async def harness() -> AsyncIterator[SandboxHarness]:
    """Yield a started harness with the demo data on a temporary SQLite database."""
    started = SandboxHarness(load_settings(), demo=True)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture(scope="session")
def texts() -> Texts:
    return Texts()
