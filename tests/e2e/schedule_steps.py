"""Steps for tests of scheduled jobs: put the schedules at a moment, then move the clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.sandbox.harness import SandboxHarness
from storage.models import Schedule

INDIA = ZoneInfo("Asia/Kolkata")
# Schedules dated this late make no run until a test dates them with start_schedules_at.
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def india(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=INDIA)


async def start_schedules_at(harness: SandboxHarness, moment: dt.datetime) -> None:
    """Move the clock to `moment` and date every schedule from it, as if created then.

    The scheduler makes no run that was due before a schedule existed, so a test that
    starts here sees exactly the runs after `moment`.
    """
    assert harness.app is not None
    harness.clock.set(moment)
    # In UTC, because SQLite keeps the time without its offset.
    utc = moment.astimezone(dt.UTC)
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(update(Schedule).values(created_at=utc, updated_at=utc))
    harness.app.scheduler.invalidate()


async def hold_schedules(harness: SandboxHarness) -> None:
    """Keep the scheduled jobs from running until a test calls start_schedules_at.

    Tests of other features move the clock across the default schedules (a first Monday,
    a Friday), and a check-in or digest in the middle would change what they read.
    """
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(update(Schedule).values(created_at=FAR_FUTURE, updated_at=FAR_FUTURE))
    harness.app.scheduler.invalidate()


async def run_at(harness: SandboxHarness, moment: dt.datetime) -> None:
    """Move the clock to `moment`, let the scheduler make what came due, and wait for sends."""
    harness.clock.set(moment)
    await harness.settle()
