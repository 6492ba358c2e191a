"""A bot that was down across scheduled runs: one catch-up at start, stale runs skipped."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage.models import JobRun
from tests.e2e.schedule_steps import india, run_at, start_schedules_at
from tests.outbox.outbox_helpers import add_bsos_with_pocs, checkin_prompts

BSOS = 3


async def job_runs(harness: SandboxHarness) -> dict[tuple[str, str], str]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = (await session.execute(select(JobRun.job, JobRun.period, JobRun.outcome))).all()
    return {(job, period): outcome for job, period, outcome in rows}


async def test_down_across_the_checkin_makes_one_catch_up(
    harness: SandboxHarness, caplog: pytest.LogCaptureFixture
) -> None:
    pocs = await add_bsos_with_pocs(harness, BSOS)
    await start_schedules_at(harness, india(2031, 3, 1, 9))
    await harness.stop_bot()

    # Two days after Monday's check-in time the bot starts again.
    harness.clock.set(india(2031, 3, 5, 11))
    with caplog.at_level(logging.INFO, logger="bot.scheduler"):
        await harness.start_bot()
        await harness.settle()
        await harness.settle()
    assert checkin_prompts(harness) == Counter({chat_id: 1 for chat_id in pocs})
    catch_ups = [r.getMessage() for r in caplog.records if "catching up checkin" in r.getMessage()]
    assert len(catch_ups) == 1
    assert "checkin for 2031-02" in catch_ups[0]

    # A second restart the same day catches up nothing more.
    await harness.stop_bot()
    await harness.start_bot()
    await harness.settle()
    assert checkin_prompts(harness) == Counter({chat_id: 1 for chat_id in pocs})

    # The first reminder comes on time, once.
    await run_at(harness, india(2031, 3, 6, 10, 1))
    await run_at(harness, india(2031, 3, 6, 10, 2))
    assert checkin_prompts(harness) == Counter({chat_id: 2 for chat_id in pocs})
    assert (await job_runs(harness))[("checkin", "2031-02")] == "done"
    assert (await job_runs(harness))[("reminder_1", "2031-02")] == "done"


async def test_runs_too_stale_after_a_long_outage_are_skipped(
    harness: SandboxHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_bsos_with_pocs(harness, BSOS)
    await start_schedules_at(harness, india(2031, 3, 1, 9))
    await harness.stop_bot()

    # Back a day after the close: the check-in is of no use any more.
    harness.clock.set(india(2031, 3, 14, 11))
    with caplog.at_level(logging.INFO, logger="bot.scheduler"):
        await harness.start_bot()
        await harness.settle()
    assert checkin_prompts(harness) == Counter()
    runs = await job_runs(harness)
    assert runs[("checkin", "2031-02")] == "skipped"
    # A round whose check-in never went out has no reminders and no close.
    for job in ("reminder_1", "reminder_2", "close"):
        assert (job, "2031-02") not in runs
    stale_lines = [
        r.getMessage()
        for r in caplog.records
        if "too stale" in r.getMessage() and "for 2031-02" in r.getMessage()
    ]
    assert stale_lines == [
        "community 1: checkin for 2031-02 skipped, too stale: due 2031-03-03T10:00:00+05:30,"
        " useful until 2031-03-13T10:00:00+05:30"
    ]


async def test_late_checkin_is_not_followed_by_its_missed_reminders(
    harness: SandboxHarness,
) -> None:
    pocs = await add_bsos_with_pocs(harness, BSOS)
    await start_schedules_at(harness, india(2031, 3, 1, 9))
    await harness.stop_bot()

    # Back half an hour before the close: the check-in goes out, and the reminders it
    # missed would only repeat it.
    harness.clock.set(india(2031, 3, 13, 9, 30))
    await harness.start_bot()
    await harness.settle()
    assert checkin_prompts(harness) == Counter({chat_id: 1 for chat_id in pocs})
    runs = await job_runs(harness)
    assert runs[("checkin", "2031-02")] == "done"
    assert runs[("reminder_2", "2031-02")] == "skipped"
    assert ("reminder_1", "2031-02") not in runs or runs[("reminder_1", "2031-02")] == "skipped"

    # The close still comes at its time.
    await run_at(harness, india(2031, 3, 13, 10, 1))
    assert (await job_runs(harness))[("close", "2031-02")] == "done"
