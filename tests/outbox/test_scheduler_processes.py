"""Two scheduler processes on one database: the lease picks one, and each message goes once.

The harness's application is the first process. The second is a scheduler, outbox
sender and lease of its own, on its own engine and Bot, as another replica would have;
it serves no updates, which the scheduled jobs do not need.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from sqlalchemy import func, select

from bot.jobs import scheduled_jobs
from bot.outbox import OutboxSender
from bot.sandbox.harness import SandboxHarness
from bot.scheduler import JobHost, Scheduler, create_lease
from storage.db import create_engine, create_sessionmaker
from storage.leases import DEFAULT_TTL, PgAdvisoryLease
from storage.models import Bso, JobRun, ProgressReport
from tests.e2e.schedule_steps import india, run_at, start_schedules_at
from tests.outbox.outbox_helpers import add_bsos_with_pocs, checkin_prompts, community_id

BSOS = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class SecondProcess:
    """The scheduler side of another replica: engine, sender, lease and Bot of its own."""

    def __init__(self, harness: SandboxHarness) -> None:
        assert harness.app is not None
        app = harness.app
        self.engine = create_engine(harness.settings.database_url)
        sessionmaker = create_sessionmaker(self.engine)
        self.scheduler = Scheduler(
            sessionmaker, harness.clock, app.texts, app.settings, scheduled_jobs()
        )
        self.sender = OutboxSender(sessionmaker, harness.clock, app.outbox.settings)
        lease = create_lease(self.engine, sessionmaker, self.scheduler.holder, harness.clock.now)
        self.host = JobHost(self.scheduler, self.sender, lease)
        self.bot: Bot = app.create_bot()
        harness.server.idle_hooks.append(self.sender.idle)

    async def close(self) -> None:
        await self.host.stop()
        await self.bot.session.close()
        await self.engine.dispose()


@pytest.fixture
async def second(harness: SandboxHarness) -> AsyncIterator[SecondProcess]:
    process = SecondProcess(harness)
    yield process
    await process.close()


async def test_lease_holder_alone_runs_jobs_and_each_prompt_goes_once(
    harness: SandboxHarness, second: SecondProcess
) -> None:
    assert harness.app is not None
    first = harness.app.jobs
    pocs = await add_bsos_with_pocs(harness, BSOS)
    await start_schedules_at(harness, india(2031, 3, 1, 9))
    second.scheduler.invalidate()
    # The holder renews at the clock's new time, as it does every heartbeat; otherwise
    # the jump of the clock would have let its row lease expire.
    await first.heartbeat()
    await second.host.start(second.bot)
    assert first.holding
    assert not second.host.holding

    # Check-in time. The clock jumped two days, so the holder renews first, as its
    # heartbeat every 15 seconds would have; then both beat at once, and again.
    harness.clock.set(india(2031, 3, 3, 10, 1))
    await first.heartbeat()
    for _ in range(2):
        await asyncio.gather(first.heartbeat(), second.host.heartbeat())
        assert first.holding
        assert not second.host.holding
    await harness.settle()
    assert checkin_prompts(harness) == Counter({chat_id: 1 for chat_id in pocs})


async def test_two_schedulers_ticking_together_send_each_message_once(
    harness: SandboxHarness, second: SecondProcess
) -> None:
    # Without the lease, as during the seconds two processes may both believe they hold
    # it: the run's key still lets one of them make it.
    assert harness.app is not None
    pocs = await add_bsos_with_pocs(harness, BSOS)
    await start_schedules_at(harness, india(2031, 3, 1, 9))
    second.scheduler.invalidate()
    await second.sender.start(second.bot)

    harness.clock.set(india(2031, 3, 3, 10, 1))
    first_result, second_result = await asyncio.gather(
        harness.app.scheduler.tick(), second.scheduler.tick()
    )
    await harness.settle()
    assert checkin_prompts(harness) == Counter({chat_id: 1 for chat_id in pocs})
    made = first_result.ran + second_result.ran
    assert made.count(("checkin", "2031-02")) == 1

    # The reminder goes once to each BSO that has not filed, whichever scheduler makes the run.
    owner = await community_id(harness)
    async with harness.app.sessionmaker.begin() as session:
        bso_ids = list(await session.scalars(select(Bso.id).order_by(Bso.id)))
        session.add(
            ProgressReport(community_id=owner, bso_id=bso_ids[0], month=dt.date(2031, 2, 1))
        )
    before = checkin_prompts(harness)
    harness.clock.set(india(2031, 3, 6, 10, 1))
    await asyncio.gather(harness.app.scheduler.tick(), second.scheduler.tick())
    await harness.settle()
    reminded = checkin_prompts(harness) - before
    assert reminded == Counter({chat_id: 1 for chat_id in pocs[1:]})
    async with harness.app.sessionmaker() as session:
        runs = await session.scalar(
            select(func.count()).select_from(JobRun).where(JobRun.job == "reminder_1")
        )
    assert runs == 1


async def test_another_process_takes_over_when_the_holder_dies(
    harness: SandboxHarness, second: SecondProcess
) -> None:
    assert harness.app is not None
    first = harness.app.jobs
    pocs = await add_bsos_with_pocs(harness, BSOS)
    await start_schedules_at(harness, india(2031, 3, 1, 9))
    second.scheduler.invalidate()
    # The holder renews at the clock's new time, as it does every heartbeat; otherwise
    # the jump of the clock would have let its row lease expire.
    await first.heartbeat()
    await second.host.start(second.bot)
    assert first.holding and not second.host.holding

    # The holder dies without a word: its heartbeat and sender stop, the lease stays.
    if first._aps is not None:
        first._aps.shutdown(wait=False)
        first._aps = None
    await first.outbox.kill()
    first.holding = False
    lease = first.lease
    if isinstance(lease, PgAdvisoryLease):
        # The process's connections die with it, and the lock with its connection.
        connection = lease._connection
        assert connection is not None
        await connection.invalidate()
    else:
        # A row lease is free once its expiry passes without a renewal.
        harness.clock.advance(DEFAULT_TTL + dt.timedelta(seconds=1))
    await second.host.heartbeat()
    assert second.host.holding

    # The new holder runs the check-in, and sends it.
    await run_at(harness, india(2031, 3, 3, 10, 1))
    await second.host.heartbeat()
    await harness.settle()
    assert checkin_prompts(harness) == Counter({chat_id: 1 for chat_id in pocs})
