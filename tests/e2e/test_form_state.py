"""Form state survives a restart of the bot, in the database or in Redis."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from e2e_helpers import label, question, say, tap

from bot.config import load_settings
from bot.sandbox.harness import SandboxHarness

# A database index of its own, emptied before the test, so no other data is touched.
REDIS_URL = "redis://127.0.0.1:6379/13"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
async def redis_harness(tmp_path: Path) -> AsyncIterator[SandboxHarness]:
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'redis.sqlite'}", redis_url=REDIS_URL
    )
    started = SandboxHarness(settings, demo=True)
    await started.start()
    yield started
    await started.stop()


async def test_form_survives_restart_in_redis(redis_harness: SandboxHarness) -> None:
    asha = redis_harness.server.user("asha")
    await say(redis_harness, asha, "/start")
    await tap(redis_harness, asha, label("registration", "agree"))
    await say(redis_harness, asha, "Asha Patil")

    await redis_harness.stop_bot()
    await redis_harness.start_bot()
    reply = await tap(redis_harness, asha, "PRADAN")

    assert reply.html == question("registration/q_role")
    assert redis_harness.errors == []


async def test_form_survives_restart_in_database(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")

    await harness.stop_bot()
    await harness.start_bot()
    reply = await tap(harness, asha, "PRADAN")

    assert reply.html == question("registration/q_role")
    assert harness.errors == []
