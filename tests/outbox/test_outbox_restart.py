"""A broadcast interrupted by a graceful stop or a crash, then finished by a fresh start,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from outbox_helpers import (
    add_pocs,
    copies_by_chat,
    counts,
    person_recipients,
    queue_broadcast,
    reports,
    row_statuses,
)

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage
from storage import outbox

POCS = 60
STOP_AFTER = 20
TEXT = "Monsoon sowing advisory"

DATABASES = pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])


class Interruption:
    """Runs `interrupt()` as a task once the sandbox stores the `count`-th broadcast copy.

    The hook runs while the sandbox is still replying to that request, so the sender is
    interrupted with at least that request in flight.
    """

    def __init__(
        self,
        harness: SandboxHarness,
        count: int,
        interrupt: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self.harness = harness
        self.count = count
        self.interrupt = interrupt
        self.started = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        harness.server.on_bot_message = self.on_message

    def on_message(self, message: BotMessage, event: str) -> None:
        if self.task is not None or event != "sent" or TEXT not in message.text:
            return
        if sum(copies_by_chat(self.harness, TEXT).values()) >= self.count:
            self.task = asyncio.get_running_loop().create_task(self.interrupt())
            self.started.set()

    async def wait(self, timeout: float = 30.0) -> None:
        """Wait until the interruption has run, then remove the hook."""
        async with asyncio.timeout(timeout):
            await self.started.wait()
            assert self.task is not None
            await self.task
        self.harness.server.on_bot_message = None


@DATABASES
async def test_graceful_restart_sends_rest_once(harness: SandboxHarness) -> None:
    assert harness.app is not None
    users = await add_pocs(harness, POCS)
    # stop_bot() stops polling, and the application's shutdown stops the sender gracefully.
    interruption = Interruption(harness, STOP_AFTER, harness.stop_bot)
    broadcast_id = await queue_broadcast(
        harness, person_recipients(users), outbox.text_payload(TEXT)
    )
    await interruption.wait()

    statuses = row_statuses(harness, broadcast_id)
    after_stop = list((await statuses).values())
    assert "sending" not in after_stop
    assert after_stop.count("sent") >= STOP_AFTER
    assert after_stop.count("pending") > 0, "the stop came too late to leave rows pending"
    assert reports(harness) == []

    await harness.start_bot()
    await harness.server.wait_idle(timeout=30)

    copies = copies_by_chat(harness, TEXT)
    assert set(copies) == {user.id for user in users}
    assert {chat_id: n for chat_id, n in copies.items() if n != 1} == {}
    assert set((await row_statuses(harness, broadcast_id)).values()) == {"sent"}
    result = await counts(harness, broadcast_id)
    assert (result.total, result.sent, result.unconfirmed) == (POCS, POCS, 0)
    sent_reports = reports(harness)
    assert len(sent_reports) == 1
    assert f"Delivered: {POCS} of {POCS}" in sent_reports[0].text


@DATABASES
async def test_crash_restart_sends_no_duplicate(harness: SandboxHarness, start_sender: Any) -> None:
    assert harness.app is not None
    crashed = harness.app.outbox
    concurrency = crashed.settings.concurrency
    users = await add_pocs(harness, POCS)
    interruption = Interruption(harness, STOP_AFTER, crashed.kill)
    broadcast_id = await queue_broadcast(
        harness, person_recipients(users), outbox.text_payload(TEXT)
    )
    await interruption.wait()

    after_crash = list((await row_statuses(harness, broadcast_id)).values())
    assert 1 <= after_crash.count("sending") <= concurrency

    # A new sender, as after a restart of the process; its claims are not yet stale.
    fresh = await start_sender()
    await fresh.idle(timeout=30, horizon=0)
    assert "sending" in (await row_statuses(harness, broadcast_id)).values()
    assert reports(harness) == []

    harness.clock.advance(dt.timedelta(seconds=fresh.settings.stale_claim + 1))
    fresh.wake(tick=True)
    await fresh.idle(timeout=30)

    statuses = await row_statuses(harness, broadcast_id)
    unconfirmed = {chat_id for chat_id, status in statuses.items() if status == "unconfirmed"}
    assert set(statuses.values()) <= {"sent", "unconfirmed"}
    assert 1 <= len(unconfirmed) <= concurrency

    copies = copies_by_chat(harness, TEXT)
    assert {chat_id: n for chat_id, n in copies.items() if n != 1} == {}
    sent = {chat_id for chat_id, status in statuses.items() if status == "sent"}
    assert sent <= set(copies)
    # A chat without a copy can only be one whose request the crash cut short.
    assert {user.id for user in users} - set(copies) <= unconfirmed

    result = await counts(harness, broadcast_id)
    assert result.total == POCS
    assert result.sent == len(sent)
    assert result.unconfirmed == len(unconfirmed)
    sent_reports = reports(harness)
    assert len(sent_reports) == 1
    report = sent_reports[0].text
    assert f"Delivered: {len(sent)} of {POCS}" in report
    assert f"may have arrived): {len(unconfirmed)}" in report
