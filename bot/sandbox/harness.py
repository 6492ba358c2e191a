"""The sandbox server and the real bot, wired together on loopback.

Used by `python -m bot sandbox`, the end-to-end tests and the benchmarks: the bot is the
real aiogram Bot and Dispatcher, polling the sandbox over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

from pydantic import SecretStr

from bot.app import Application, create_application
from bot.clock import Clock
from bot.config import Settings
from bot.sandbox.models import SandboxUser
from bot.sandbox.server import SandboxServer

log = logging.getLogger(__name__)

# A syntactically valid token; the sandbox accepts any. Never a real bot's.
SANDBOX_TOKEN = "7000000001:SANDBOX-offline-token-not-for-telegram"
BOT_USERNAME = "cop_assistant_bot"
FACILITATOR = "facilitator"
STARTUP_TIMEOUT_S = 30


class SandboxHarness:
    """Start with `await harness.start()`, or use `async with SandboxHarness(...)`."""

    def __init__(self, settings: Settings, *, demo: bool = True) -> None:
        self.base_settings = settings
        self.demo = demo
        self.clock = Clock()
        self.server = SandboxServer(bot_username=BOT_USERNAME, clock=self.clock.now)
        self.errors: list[BaseException] = []
        self.app: Application | None = None
        self._polling: asyncio.Task[None] | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None

    async def __aenter__(self) -> SandboxHarness:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def facilitator(self) -> SandboxUser:
        return self.server.user(FACILITATOR)

    async def start(self) -> None:
        await self.server.start()
        settings = self.base_settings
        facilitator_ids = list(settings.facilitator_ids)
        if facilitator_ids:
            self.server.user(FACILITATOR, user_id=facilitator_ids[0], first_name="Facilitator")
        else:
            facilitator_ids = [self.server.user(FACILITATOR, first_name="Facilitator").id]
        # The demo's facilitator has opened the bot already, so registrations can reach them.
        self.facilitator.started = True
        database_url = settings.database_url
        if "database_url" not in settings.model_fields_set:
            # No DATABASE_URL given: a fresh database that the sandbox throws away.
            self._tempdir = tempfile.TemporaryDirectory(prefix="cop-sandbox-")
            database_url = f"sqlite:///{Path(self._tempdir.name) / 'sandbox.sqlite'}"
        self.settings = settings.model_copy(
            update={
                "bot_token": SecretStr(SANDBOX_TOKEN),
                "bot_api_url": self.server.url,
                "database_url": database_url,
                "facilitator_ids": facilitator_ids,
            }
        )
        self.app = create_application(self.settings)
        self.app.error_listeners.append(self.errors.append)
        self.app.use_clock(self.clock)
        # wait_idle() also waits for the outbox, so a test sees queued messages arrive.
        self.server.idle_hooks.append(self.app.outbox.idle)
        await self.app.prepare_database()
        if self.demo:
            from bot.sandbox.demo import load_demo_data

            await load_demo_data(self.app)
        await self.start_bot()

    async def start_bot(self) -> None:
        """Start polling; also used to restart the bot on the same database."""
        assert self.app is not None
        bot = self.app.create_bot()
        polls_before = len(self.server.requests_for("getUpdates"))
        # One update at a time, so that wait_idle() returning means every update was handled.
        self._polling = asyncio.create_task(
            self.app.dispatcher.start_polling(
                bot, handle_as_tasks=False, handle_signals=False, polling_timeout=1
            )
        )
        # Start-up (getMe, command menus) is over once the bot first asks for updates.
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while len(self.server.requests_for("getUpdates")) == polls_before:
                if self._polling.done():
                    self._polling.result()
                await asyncio.sleep(0.01)
        await self.server.wait_idle()

    async def stop_bot(self) -> None:
        if self._polling is None or self.app is None:
            return
        with contextlib.suppress(RuntimeError):
            await self.app.dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError):
            await self._polling
        self._polling = None

    async def stop(self) -> None:
        await self.stop_bot()
        if self.app is not None:
            await self.app.close()
        await self.server.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    async def settle(self) -> None:
        """Wait until the bot is idle, after one pass of the scheduler at the clock's time."""
        await self.server.wait_idle()
        if self.app is not None and self.app.jobs.holding:
            await self.app.jobs.tick()
            self.app.outbox.wake(tick=True)
        await self.server.wait_idle()
