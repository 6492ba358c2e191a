"""Fixtures for outbox tests: the sandbox harness on a fresh database, and extra senders.

The harness runs without demo data. Tests that need PostgreSQL parametrize
`database_kind` with "postgresql"; each such test gets its own database, dropped after.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiogram import Bot
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import load_settings
from bot.outbox import OutboxSender, SenderSettings
from bot.sandbox.harness import SandboxHarness
from storage.db import create_engine
from tests.e2e.schedule_steps import hold_schedules

# Messages per second for the application's own sender: twice the default OUTBOX_RATE
# of 30, so that a 200-recipient broadcast takes a few seconds.
TEST_OUTBOX_RATE = 60.0

SenderFactory = Callable[..., Awaitable[OutboxSender]]


@pytest.fixture
def database_kind() -> str:
    return "sqlite"


@pytest.fixture
async def database_url(
    database_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'outbox.sqlite'}"
        return

    # Skips the test, naming the host and port, when PostgreSQL is not running.
    server_url = request.getfixturevalue("postgres_url")
    name = f"cop_outbox_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[SandboxHarness]:
    """Yield a started harness without demo data; the facilitator has started the bot."""
    settings = load_settings(
        bot_token=None,
        database_url=database_url,
        redis_url=None,
        facilitator_ids=[],
        default_locale="en",
        outbox_rate=TEST_OUTBOX_RATE,
    )
    started = SandboxHarness(settings, demo=False)
    await started.start()
    await hold_schedules(started)
    yield started
    await started.stop()


@pytest.fixture
async def start_sender(harness: SandboxHarness) -> AsyncIterator[SenderFactory]:
    """Yield `start(settings=None, *, replace=True, bot=None, sessionmaker=None)`, which
    starts an OutboxSender.

    With replace=True the new sender takes the application's place: the old one is
    stopped, and `harness.app.outbox` and the sandbox's idle hook point at the new one.
    With replace=False it runs beside the senders already running. Either way it uses
    the harness clock, the sandbox's wait_idle waits for it too, and it sends through
    `bot` or else a new Bot of its own. It uses the application's database connections
    unless given a `sessionmaker` of its own. Teardown stops it and closes that Bot.
    """
    assert harness.app is not None
    app = harness.app
    started: list[tuple[OutboxSender, Bot]] = []

    async def start(
        settings: SenderSettings | None = None,
        *,
        replace: bool = True,
        bot: Bot | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    ) -> OutboxSender:
        sender = OutboxSender(
            sessionmaker or app.sessionmaker,
            harness.clock,
            settings or app.outbox.settings,
            render_report=app.outbox.render_report,
        )
        if replace:
            previous = app.outbox
            await previous.stop()
            if previous.idle in harness.server.idle_hooks:
                harness.server.idle_hooks.remove(previous.idle)
            app.outbox = sender
            app.dispatcher.workflow_data["outbox"] = sender
        harness.server.idle_hooks.append(sender.idle)
        bot = bot or app.create_bot()
        await sender.start(bot)
        started.append((sender, bot))
        return sender

    yield start

    for sender, bot in started:
        await sender.stop()
        if sender.idle in harness.server.idle_hooks:
            harness.server.idle_hooks.remove(sender.idle)
        await bot.session.close()
