"""/schedule through the sandbox: the list, changing a rule, invalid input, pause, holidays."""

from __future__ import annotations

import datetime as dt

import holidays
import pytest
from asks_steps import alert
from e2e_form_helpers import alert_of, form_state_of
from e2e_helpers import label, render, say, tap
from schedule_steps import india, start_schedules_at
from sqlalchemy import select, update

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage
from bot.schedule_rules import ScheduleParseError
from bot.texts import MESSAGE_LIMIT, indian_date, utf16_length
from handlers.callbacks import ScheduleButton
from storage.models import Community, Person, Schedule
from storage.schedules import JOBS, MAX_DAYS_AFTER, parse_for_job

# Thursday 2 January 2031, 09:00 in Kolkata, before the month's first Monday, 6 January.
START = india(2031, 1, 2, 9)
EXAMPLES_MONTHLY = render("schedule/examples", shape="monthly")


# --- Steps ---------------------------------------------------------------------------------


async def open_schedules(harness: SandboxHarness, moment: dt.datetime = START) -> BotMessage:
    """Send /schedule at `moment`, with the schedules dated from then; return the list."""
    harness.clock.set(moment)
    await say(harness, harness.facilitator, "/schedule")
    await start_schedules_at(harness, moment)
    return await say(harness, harness.facilitator, "/schedule")


async def change_rule(harness: SandboxHarness, job: str, text: str) -> BotMessage:
    """Open a job from a new list, press "Change time" and send `text`; return the reply."""
    await say(harness, harness.facilitator, "/schedule")
    await tap(harness, harness.facilitator, label("schedule", job))
    await tap(harness, harness.facilitator, label("schedule", "change"))
    return await say(harness, harness.facilitator, text)


async def stored_rules(harness: SandboxHarness) -> dict[str, tuple[str, bool]]:
    """Return each job's stored (rule, paused)."""
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.scalars(select(Schedule))
        return {row.job: (row.rule, row.paused) for row in rows}


async def community_state(harness: SandboxHarness) -> str | None:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        community = (await session.scalars(select(Community).order_by(Community.id))).first()
        assert community is not None
        return community.state


def next_run_text(moment: dt.datetime) -> str:
    """Format a run time as the list shows it: "Mon 6 Jan 2031, 10:00 IST"."""
    return f"{moment:%a} {indian_date(moment)}, {moment:%H:%M} IST"


def job_block(listed: BotMessage, job: str) -> str:
    """Return the lines of one job in the list, from its name to the blank line after it."""
    name = label("schedule", job)
    return next(block for block in listed.text.split("\n\n") if block.startswith(f"{name}:"))


def private(harness: SandboxHarness) -> object:
    return harness.server.private_chat(harness.facilitator)


# --- Showing -------------------------------------------------------------------------------


async def test_list_shows_every_job(harness: SandboxHarness) -> None:
    shown = await open_schedules(harness)

    expected = [
        "Monthly check-in: first Monday of the month at 10:00",
        "Reminder 1: 3 days after the check-in",
        "Reminder 2: 7 days after the check-in",
        "Close and summary: 10 days after the check-in",
        "Recognition post: last working day of the month at 17:00 (preview 3 hours before)",
        "Weekly digest: every Friday at 16:00",
        "Action reminders: every day at 09:00",
        "Holidays: national only",
    ]
    for line in expected:
        assert line in shown.text, f"{line!r} missing from:\n{shown.text}"
    # 6 January 2031 is the month's first Monday, and 9 January is 3 days after it.
    assert f"Next run: {next_run_text(india(2031, 1, 6, 10))}" in shown.text
    assert f"Next run: {next_run_text(india(2031, 1, 9, 10))}" in shown.text
    assert f"Next run: {next_run_text(india(2031, 1, 3, 16))}" in shown.text
    assert f"Next run: {next_run_text(india(2031, 1, 3, 9))}" in shown.text
    for job in JOBS:
        assert label("schedule", job) in shown.button_texts()
    assert label("schedule", "holiday_state") in shown.button_texts()


async def test_list_in_hindi(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(
            update(Person).where(Person.telegram_id == harness.facilitator.id).values(locale="hi")
        )

    shown = await say(harness, harness.facilitator, "/schedule")

    assert "मासिक चेक-इन: महीने का पहला सोमवार, 10:00 बजे" in shown.text
    assert "रिमाइंडर 1: चेक-इन के 3 दिन बाद" in shown.text
    assert "साप्ताहिक सारांश: हर शुक्रवार 16:00 बजे" in shown.text
    assert "छुट्टियाँ: केवल राष्ट्रीय" in shown.text
    assert label("schedule", "checkin", "hi") in shown.button_texts()


# --- Changing a rule -----------------------------------------------------------------------


async def test_change_checkin_to_day_five(harness: SandboxHarness) -> None:
    await open_schedules(harness)

    saved = await change_rule(harness, "checkin", "day 5 09:30")

    assert "Monthly check-in: day 5 of the month at 09:30" in saved.text
    # 5 January 2031 is a Sunday, so the check-in moves to Monday 6 January.
    assert next_run_text(india(2031, 1, 6, 9, 30)) in saved.text
    assert "moved from Sun 5 Jan 2031 (weekend)" in saved.text
    assert (await stored_rules(harness))["checkin"] == ("day 5 09:30", False)
    assert await form_state_of(harness, harness.facilitator, private(harness)) is None


async def test_change_in_hindi_words(harness: SandboxHarness) -> None:
    await open_schedules(harness)

    saved = await change_rule(harness, "digest", "हर गुरुवार शाम 4 बजे")

    assert "Weekly digest: every Thursday at 16:00" in saved.text
    assert (await stored_rules(harness))["digest"] == ("every thursday 16:00", False)


@pytest.mark.parametrize(
    "text",
    ["every Funday 10", "day 32 10:00", "first Monday", "every Friday 16:00"],
)
async def test_invalid_checkin_rule_rejected(harness: SandboxHarness, text: str) -> None:
    await open_schedules(harness)
    with pytest.raises(ScheduleParseError) as raised:
        parse_for_job("checkin", text)
    error = raised.value

    answer = await change_rule(harness, "checkin", text)

    reason = render(
        f"schedule/errors/{error.code}",
        fragment=error.fragment,
        name=label("schedule", "checkin"),
        maximum=MAX_DAYS_AFTER,
    )
    assert answer.html is not None
    assert str(reason) in answer.html
    assert str(EXAMPLES_MONTHLY) in answer.html
    assert "The schedule stays as it was: first Monday of the month at 10:00" in answer.text
    assert (await stored_rules(harness))["checkin"] == ("first monday 10:00", False)
    # The question stays open, so the next message is read as the schedule again.
    retried = await say(harness, harness.facilitator, "last working day 11:00")
    assert "Monthly check-in: last working day of the month at 11:00" in retried.text


async def test_each_error_code_named(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    cases = [
        ("checkin", "first Monday 25:00", "time_invalid"),
        ("checkin", "sometimes", "unknown"),
        ("reminder_1", "thirty", "days_invalid"),
        ("action_due", "first Monday 10:00", "time_only"),
    ]
    for job, text, code in cases:
        answer = await change_rule(harness, job, text)
        await say(harness, harness.facilitator, "/cancel")

        with pytest.raises(ScheduleParseError) as raised:
            parse_for_job(job, text)
        assert raised.value.code == code
        reason = render(
            f"schedule/errors/{code}",
            fragment=raised.value.fragment,
            name=label("schedule", job),
            maximum=MAX_DAYS_AFTER,
        )
        assert answer.html is not None
        assert str(reason) in answer.html, f"{job} {text!r}: {answer.text}"
        expected = render("schedule/examples", shape=JOBS[job].shape.value)
        assert str(expected) in answer.html


@pytest.mark.parametrize(
    ("job", "text", "shown"),
    [
        ("checkin", "first Monday 10:00 " + "y" * 4070, "<code>10:00 yyyy"),
        ("checkin", "day " + "9" * 4090 + " 10:00", "<code>9999"),
        ("digest", "every " + "z" * 4080 + " 10:00", "<code>zzzz"),
        ("checkin", "first Monday " + "<b>" * 1300, "<code>&lt;b&gt;&lt;b&gt;"),
    ],
)
async def test_long_invalid_rule_clipped(
    harness: SandboxHarness, job: str, text: str, shown: str
) -> None:
    await open_schedules(harness)

    answer = await change_rule(harness, job, text)

    assert answer.html is not None
    assert shown in answer.html
    assert "…</code>" in answer.html
    assert utf16_length(answer.text) < 1000
    assert utf16_length(answer.html) <= MESSAGE_LIMIT
    assert harness.errors == []


async def test_long_invalid_state_clipped(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    await tap(harness, harness.facilitator, label("schedule", "holiday_state"))

    rejected = await say(harness, harness.facilitator, "x" * 4090)

    assert rejected.html is not None
    assert "<code>" + "x" * 59 + "…</code> is not a state" in rejected.html
    assert utf16_length(rejected.text) < 1000
    assert harness.errors == []


async def test_reminder_after_close_rejected(harness: SandboxHarness) -> None:
    await open_schedules(harness)

    late_reminder = await change_rule(harness, "reminder_2", "10 days")
    await say(harness, harness.facilitator, "/cancel")
    early_close = await change_rule(harness, "close", "5")
    await say(harness, harness.facilitator, "/cancel")

    assert late_reminder.html is not None
    reason = render(
        "schedule/errors/reminder_after_close",
        days=10,
        other=label("schedule", "close"),
        other_days=10,
    )
    assert str(reason) in late_reminder.html
    assert early_close.html is not None
    reason = render(
        "schedule/errors/close_before_reminder",
        days=5,
        other=label("schedule", "reminder_2"),
        other_days=7,
    )
    assert str(reason) in early_close.html
    rules = await stored_rules(harness)
    assert rules["reminder_2"] == ("7", False)
    assert rules["close"] == ("10", False)


async def test_reminders_keep_their_order(harness: SandboxHarness) -> None:
    await open_schedules(harness)

    late_first = await change_rule(harness, "reminder_1", "8")
    await say(harness, harness.facilitator, "/cancel")
    early_second = await change_rule(harness, "reminder_2", "3 days")
    await say(harness, harness.facilitator, "/cancel")

    assert late_first.html is not None
    reason = render(
        "schedule/errors/reminder_after_reminder",
        days=8,
        other=label("schedule", "reminder_2"),
        other_days=7,
    )
    assert str(reason) in late_first.html
    assert early_second.html is not None
    reason = render(
        "schedule/errors/reminder_before_reminder",
        days=3,
        other=label("schedule", "reminder_1"),
        other_days=3,
    )
    assert str(reason) in early_second.html
    rules = await stored_rules(harness)
    assert rules["reminder_1"] == ("3", False)
    assert rules["reminder_2"] == ("7", False)


async def test_other_button_ends_the_question(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    await tap(harness, harness.facilitator, label("schedule", "checkin"))
    await tap(harness, harness.facilitator, label("schedule", "change"))

    # The facilitator moves to the digest instead of answering, then types a rule.
    await tap(harness, harness.facilitator, label("schedule", "back"))
    await tap(harness, harness.facilitator, label("schedule", "digest"))
    after = await say(harness, harness.facilitator, "day 5 09:30")

    assert after.html == str(render("common/not_understood"))
    assert await form_state_of(harness, harness.facilitator, private(harness)) is None
    assert (await stored_rules(harness))["checkin"] == ("first monday 10:00", False)


async def test_reminder_before_close_saved(harness: SandboxHarness) -> None:
    await open_schedules(harness)

    saved = await change_rule(harness, "reminder_2", "9 days")

    assert "Reminder 2: 9 days after the check-in" in saved.text
    # The check-in of Monday 6 January plus 9 days is Wednesday 15 January.
    assert next_run_text(india(2031, 1, 15, 10)) in saved.text
    assert (await stored_rules(harness))["reminder_2"] == ("9", False)


async def test_cancel_leaves_the_question(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    await tap(harness, harness.facilitator, label("schedule", "checkin"))
    await tap(harness, harness.facilitator, label("schedule", "change"))

    note = await say(harness, harness.facilitator, "/broadcasts")
    cancelled = await say(harness, harness.facilitator, "/cancel")
    after = await say(harness, harness.facilitator, "day 5 09:30")

    assert note.html == str(render("schedule/input_pending", name=label("schedule", "checkin")))
    assert cancelled.html == str(render("common/cancelled"))
    assert after.html == str(render("common/not_understood"))
    assert await form_state_of(harness, harness.facilitator, private(harness)) is None
    assert (await stored_rules(harness))["checkin"] == ("first monday 10:00", False)


# --- Pause and resume ----------------------------------------------------------------------


async def test_pause_and_resume_keep_the_rule(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    await tap(harness, harness.facilitator, label("schedule", "digest"))

    paused = await tap(harness, harness.facilitator, label("schedule", "pause"))

    assert "Weekly digest: every Friday at 16:00" in paused.text
    assert f"Paused. It would next run {next_run_text(india(2031, 1, 3, 16))}" in paused.text
    assert label("schedule", "resume") in paused.button_texts()
    assert (await stored_rules(harness))["digest"] == ("every friday 16:00", True)

    listed = await tap(harness, harness.facilitator, label("schedule", "back"))
    assert "Weekly digest: every Friday at 16:00\n⏸ Paused." in listed.text

    await tap(harness, harness.facilitator, label("schedule", "digest"))
    resumed = await tap(harness, harness.facilitator, label("schedule", "resume"))

    assert f"Next run: {next_run_text(india(2031, 1, 3, 16))}" in resumed.text
    assert label("schedule", "pause") in resumed.button_texts()
    assert (await stored_rules(harness))["digest"] == ("every friday 16:00", False)


async def test_paused_checkin_holds_reminders(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    await tap(harness, harness.facilitator, label("schedule", "checkin"))
    await tap(harness, harness.facilitator, label("schedule", "pause"))

    listed = await tap(harness, harness.facilitator, label("schedule", "back"))

    assert "Reminder 1: 3 days after the check-in\n⏸ Paused while the check-in is paused." in (
        listed.text
    )
    assert (await stored_rules(harness))["reminder_1"] == ("3", False)


# --- Holidays ------------------------------------------------------------------------------


def maharashtra_only_holiday() -> dt.date:
    """Return the first weekday of 2031 that is a Maharashtra holiday but not a national one."""
    state = holidays.India(years=2031, subdiv="MH")
    national = holidays.India(years=2031)
    return next(
        day for day in sorted(state) if day not in national and day.weekday() < 5 and day.day <= 28
    )


async def test_state_holiday_moves_the_checkin(harness: SandboxHarness) -> None:
    holiday = maharashtra_only_holiday()
    await open_schedules(harness, india(holiday.year, holiday.month, 1, 8))
    await change_rule(harness, "checkin", f"day {holiday.day} 10:00")
    before = await say(harness, harness.facilitator, "/schedule")
    assert "moved from" not in job_block(before, "checkin")

    await tap(harness, harness.facilitator, label("schedule", "holiday_state"))
    saved = await say(harness, harness.facilitator, "Maharashtra")
    listed = await tap(harness, harness.facilitator, label("schedule", "all"))

    assert "Holidays: national + Maharashtra" in saved.text
    assert await community_state(harness) == "Maharashtra"
    name = holidays.India(years=holiday.year, subdiv="MH")[holiday]
    moved = f"moved from {holiday:%a} {indian_date(holiday)} ({name})"
    assert moved in job_block(listed, "checkin"), listed.text
    assert "Holidays: national + Maharashtra" in listed.text


async def test_state_input_validated(harness: SandboxHarness) -> None:
    await open_schedules(harness)
    await tap(harness, harness.facilitator, label("schedule", "holiday_state"))

    rejected = await say(harness, harness.facilitator, "Atlantis")
    saved = await say(harness, harness.facilitator, "MH")
    await tap(harness, harness.facilitator, label("schedule", "all"))
    await tap(harness, harness.facilitator, label("schedule", "holiday_state"))
    national = await say(harness, harness.facilitator, "none")

    assert "<code>Atlantis</code> is not a state" in (rejected.html or "")
    assert "Holidays: national + Maharashtra" in saved.text
    assert "Holidays: national only" in national.text
    assert await community_state(harness) is None


# --- Who may use it ------------------------------------------------------------------------


async def test_stranger_refused(harness: SandboxHarness) -> None:
    stranger = harness.server.user("stranger")
    stranger.started = True

    refused = await say(harness, stranger, "/schedule")
    chat = harness.server.private_chat(stranger)
    forged = await harness.server.press_data(
        stranger, chat, refused.message_id, ScheduleButton(op="pause", job="digest").pack()
    )
    await harness.server.wait_idle()

    assert refused.html == str(render("common/facilitators_only"))
    assert alert_of(harness, forged) == alert("common/facilitators_only")
    assert (await stored_rules(harness))["digest"] == ("every friday 16:00", False)


@pytest.mark.parametrize(
    "data",
    [
        ScheduleButton(op="pause", job="payroll"),
        ScheduleButton(op="delete", job="digest"),
        ScheduleButton(op="back", job="digest"),
    ],
    ids=["unknown job", "unknown op", "job on a plain op"],
)
async def test_forged_button_rejected(harness: SandboxHarness, data: ScheduleButton) -> None:
    shown = await open_schedules(harness)

    forged = await harness.server.press_data(
        harness.facilitator, private(harness), shown.message_id, data.pack()
    )
    await harness.server.wait_idle()

    assert alert_of(harness, forged) == alert("common/button_unknown")
    rules = await stored_rules(harness)
    assert all(not paused for _rule, paused in rules.values())


async def test_group_points_to_private_chat(harness: SandboxHarness) -> None:
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()

    answer = await say(harness, harness.facilitator, "/schedule", chat=group)

    assert answer.html == str(render("schedule/private_only"))


async def test_list_names_the_month_asked(harness: SandboxHarness) -> None:
    shown = await open_schedules(harness)

    # The check-in of Monday 6 January asks about December; the post of 31 January
    # recognises January.
    assert "Asks about Dec 2030." in job_block(shown, "checkin")
    assert "Asks about Dec 2030." in job_block(shown, "close")
    assert "Recognises Jan 2031." in job_block(shown, "recognition")
    assert "Asks about" not in job_block(shown, "digest")
