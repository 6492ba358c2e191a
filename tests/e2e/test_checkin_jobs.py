"""The monthly check-in round through the sandbox: check-in, reminders and close.

The default schedules put the check-in on the first Monday at 10:00, the reminders 3
and 7 days later and the close 10 days later. From 1 March 2031 that is 3, 6, 10 and
13 March, all for the report month February 2031. The other scheduled jobs are paused,
so every message in these tests comes from the check-in round or from a user's action.
"""

from __future__ import annotations

import datetime as dt

from asks_steps import cop_group
from e2e_helpers import TEXTS, label, render, say, tap
from schedule_steps import india, run_at, start_schedules_at
from sqlalchemy import delete, select, update

from bot.jobs.checkins import FiledRow, MissingRow, UnreachableBso, unreachable_text
from bot.sandbox.harness import BOT_USERNAME, SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from bot.texts import MESSAGE_LIMIT, utf16_length
from handlers.callbacks import CheckinStart
from handlers.progress_views import month_label, outcome_items
from storage import people
from storage.models import Bso, ClosedMonth, JobRun, Person, ProgressReport, Schedule
from storage.progress import totals

ROUND_JOBS = ("checkin", "reminder_1", "reminder_2", "close")
START = india(2031, 3, 1, 9)
CHECKIN_AT = india(2031, 3, 3, 10)
REMINDER_1_AT = india(2031, 3, 6, 10)
CLOSE_AT = india(2031, 3, 13, 10)
FEBRUARY = dt.date(2031, 2, 1)
PRADAN = "Professional Assistance for Development Action"
BAIF = "Bharatiya Agro Industries Foundation"
WOTR = "Watershed Organisation Trust"
LINK = f"https://t.me/{BOT_USERNAME}?start=checkin"


async def start_round(harness: SandboxHarness) -> None:
    """Pause every job outside the check-in round, then date the schedules from START."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(
            update(Schedule).where(Schedule.job.not_in(ROUND_JOBS)).values(paused=True)
        )
    await start_schedules_at(harness, START)


async def add_member(
    harness: SandboxHarness,
    key: str,
    name: str,
    bso_short_name: str,
    *,
    locale: str = "en",
    reachable: bool = True,
    status: str = "approved",
) -> SandboxUser:
    """Store a registered member; an unreachable one has never written to the bot."""
    assert harness.app is not None
    first, last = name.split(" ", 1)
    user = harness.server.user(key, first_name=first, last_name=last)
    user.started = reachable
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=harness.settings.community_name, timezone="Asia/Kolkata"
        )
        bso = await session.scalar(select(Bso).where(Bso.short_name == bso_short_name))
        assert bso is not None, f"no demo BSO {bso_short_name!r}"
        person = await people.touch_person(
            session,
            community_id=community.id,
            telegram_id=user.id,
            telegram_name=name,
            username=None,
            in_private_chat=reachable,
        )
        person.name = name
        person.bso_id = bso.id
        person.locale = locale
        person.status = status
        person.consent_at = START
    return user


def checkin_text(locale: str, name: str, bso: str) -> str:
    return render(
        "checkins/checkin",
        locale,
        name=name,
        bso=bso,
        month=month_label(FEBRUARY, locale),
        deadline=CLOSE_AT,
    )


def reminder_text(locale: str, name: str, bso: str) -> str:
    return render(
        "checkins/reminder",
        locale,
        name=name,
        bso=bso,
        month=month_label(FEBRUARY, locale),
        deadline=CLOSE_AT,
        days_left=7,
        final=False,
    )


def form_button(locale: str) -> str:
    return label("checkins", "open_form", locale, month=month_label(FEBRUARY, locale))


def private(harness: SandboxHarness, user: SandboxUser) -> list[BotMessage]:
    return harness.server.bot_messages(harness.server.private_chat(user))


def htmls(messages: list[BotMessage]) -> list[str | None]:
    return [message.html for message in messages]


async def file_february(harness: SandboxHarness, user: SandboxUser) -> BotMessage:
    """Press the check-in button and fill in the form; return the confirmation."""
    await tap(harness, user, form_button("en"))
    await say(harness, user, "Trained 3 FPO boards on GST filing")
    await say(harness, user, "Late rains delayed the harvest")
    await say(harness, user, "/skip")
    for answer in ("12", "3", "12 t", "3.5 lakh", "40"):
        await say(harness, user, answer)
    return await tap(harness, user, label("forms", "confirm"))


async def load_person(harness: SandboxHarness, user: SandboxUser) -> Person:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == user.id))
    assert person is not None
    return person


async def rerun_without_run_keys(harness: SandboxHarness) -> None:
    """Forget every recorded run and let the scheduler make the due ones again."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(delete(JobRun))
    harness.app.scheduler.invalidate()
    await harness.settle()


# --- A whole round ----------------------------------------------------------------------------


async def test_checkin_round_through_month(harness: SandboxHarness) -> None:
    await start_round(harness)
    group = await cop_group(harness)
    asha = await add_member(harness, "asha", "Asha Patil", "PRADAN")
    ravi = await add_member(harness, "ravi", "Ravi Kulkarni", "PRADAN")
    meena = await add_member(harness, "meena", "Meena Yadav", "BAIF", locale="hi")
    kiran = await add_member(harness, "kiran", "Kiran Shinde", "WOTR", reachable=False)
    # A registrant still waiting for approval is not asked.
    sunil = await add_member(harness, "sunil", "Sunil Rao", "SRIJAN", status="pending")
    facilitator = harness.facilitator
    group_before = len(harness.server.bot_messages(group))

    await harness.settle()
    for user in (asha, ravi, meena, kiran, sunil, facilitator):
        assert private(harness, user) == [], f"{user.name} got a message before the check-in"

    # The check-in: one message to each reachable approved PoC, in their language.
    await run_at(harness, CHECKIN_AT)
    await harness.settle()
    assert htmls(private(harness, asha)) == [checkin_text("en", "Asha Patil", PRADAN)]
    assert htmls(private(harness, ravi)) == [checkin_text("en", "Ravi Kulkarni", PRADAN)]
    assert htmls(private(harness, meena)) == [checkin_text("hi", "Meena Yadav", BAIF)]
    assert private(harness, kiran) == []
    assert private(harness, sunil) == []
    assert private(harness, facilitator) == []
    [prompt] = private(harness, asha)
    assert prompt.button_texts() == [form_button("en")]
    assert prompt.buttons[0][0].callback_data == CheckinStart(month=203102).pack()
    assert private(harness, meena)[0].button_texts() == [form_button("hi")]
    assert "13 Mar 2031, 10:00" in prompt.text

    # Without its run key the check-in runs again, but its messages are not queued twice.
    await rerun_without_run_keys(harness)
    assert len(private(harness, asha)) == 1
    assert len(private(harness, ravi)) == 1
    assert len(private(harness, meena)) == 1

    # The button opens the form for February, and Asha files PRADAN's update.
    await tap(harness, asha, form_button("en"))
    intro = private(harness, asha)[1]
    assert intro.html == render(
        "progress/checkin_intro",
        month="Feb 2031",
        bso=PRADAN,
        filing=None,
        actions_listed=0,
        actions_open=0,
    )
    await say(harness, asha, "/cancel")
    confirmation = await file_february(harness, asha)
    assert "Feb 2031" in confirmation.text

    # Reminder 1: only Meena, whose BSO has not filed; the facilitator gets WOTR's PoC and the link.
    asha_seen, ravi_seen = len(private(harness, asha)), len(private(harness, ravi))
    await run_at(harness, REMINDER_1_AT)
    await harness.settle()
    assert len(private(harness, asha)) == asha_seen
    assert len(private(harness, ravi)) == ravi_seen
    assert htmls(private(harness, meena))[1:] == [reminder_text("hi", "Meena Yadav", BAIF)]
    assert "7 दिन बाक़ी" in private(harness, meena)[1].text
    assert private(harness, meena)[1].button_texts() == [form_button("hi")]
    assert private(harness, kiran) == []
    unreachable = render(
        "checkins/unreachable",
        month="Feb 2031",
        bsos=[UnreachableBso(WOTR, ["Kiran Shinde"])],
        more=0,
        link=LINK,
    )
    assert htmls(private(harness, facilitator)) == [unreachable]
    assert "Kiran Shinde" in private(harness, facilitator)[0].text
    assert LINK in private(harness, facilitator)[0].text

    # Kiran follows the link: the bot opens the February check-in for WOTR.
    opened = await say(harness, kiran, "/start checkin")
    assert any(
        message.html
        == render(
            "progress/checkin_intro",
            month="Feb 2031",
            bso=WOTR,
            filing=None,
            actions_listed=0,
            actions_open=0,
        )
        for message in private(harness, kiran)
    ), f"no check-in intro for WOTR; last message: {opened.text}"
    await say(harness, kiran, "/cancel")

    # The close: the facilitator's summary and the thanks in the CoP-wide group.
    facilitator_seen = len(private(harness, facilitator))
    await run_at(harness, CLOSE_AT)
    await harness.settle()
    t = TEXTS.bind("en")
    figures = totals([await only_report(harness)])
    summary = render(
        "checkins/close_summary",
        month="Feb 2031",
        filed=[FiledRow(PRADAN, "Asha Patil")],
        missing=[MissingRow(BAIF, ["Meena Yadav"]), MissingRow(WOTR, ["Kiran Shinde"])],
        more=0,
        filed_count=1,
        bso_count=3,
        totals=outcome_items(t, figures),
        month_closed=False,
    )
    assert htmls(private(harness, facilitator)[facilitator_seen:]) == [summary]
    assert figures == {
        "fpos_supported": 12,
        "buyer_linkages": 3,
        "volume_tonnes": 12.0,
        "value_lakh": 3.5,
        "women_reached": 40,
    }
    summary_text = private(harness, facilitator)[-1].text
    assert "Feb 2031 stays open" in summary_text
    assert "1 of 3 BSOs" in summary_text
    assert "Asha Patil" in summary_text
    assert "Meena Yadav" in summary_text
    post = render(
        "checkins/close_post",
        month="Feb 2031",
        filed=[FiledRow(PRADAN, "Asha Patil")],
        more=0,
        filed_count=1,
        bso_count=3,
    )
    group_posts = harness.server.bot_messages(group)[group_before:]
    assert htmls(group_posts) == [post]
    assert "Asha Patil" in group_posts[0].text
    assert "Meena" not in group_posts[0].text

    # Settling again at the close, even without run keys, sends nothing more.
    counts = [len(private(harness, user)) for user in (asha, ravi, meena, kiran, facilitator)]
    await harness.settle()
    await rerun_without_run_keys(harness)
    assert [
        len(private(harness, user)) for user in (asha, ravi, meena, kiran, facilitator)
    ] == counts
    assert len(harness.server.bot_messages(group)) == group_before + 1
    assert private(harness, sunil) == []

    # The start link leaves anyone but an approved PoC to registration.
    reply = await say(harness, sunil, "/start checkin")
    assert reply.html == render("registration/already_pending")
    assert harness.errors == []


async def only_report(harness: SandboxHarness) -> ProgressReport:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        reports = list((await session.scalars(select(ProgressReport))).all())
    assert len(reports) == 1, f"expected one report, found {len(reports)}"
    return reports[0]


# --- A closed month ---------------------------------------------------------------------------


async def test_checkin_skips_closed_month(harness: SandboxHarness) -> None:
    await start_round(harness)
    asha = await add_member(harness, "asha", "Asha Patil", "PRADAN")
    person = await load_person(harness, asha)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        session.add(
            ClosedMonth(
                community_id=person.community_id, month=FEBRUARY, closed_by=None, closed_at=START
            )
        )

    await run_at(harness, CHECKIN_AT)
    await run_at(harness, REMINDER_1_AT)

    assert private(harness, asha) == []
    assert private(harness, harness.facilitator) == []
    async with harness.app.sessionmaker() as session:
        runs = {
            run.job: (run.period, run.outcome, run.detail)
            for run in await session.scalars(select(JobRun))
        }
    assert runs["checkin"] == ("2031-02", "done", "0 messages queued")
    assert runs["reminder_1"] == ("2031-02", "done", "0 messages queued")
    assert harness.errors == []


async def test_close_summary_says_month_closed(harness: SandboxHarness) -> None:
    await start_round(harness)
    asha = await add_member(harness, "asha", "Asha Patil", "PRADAN")
    await run_at(harness, CHECKIN_AT)
    await harness.settle()
    # The facilitator closes February in /progress while the round is still open.
    person = await load_person(harness, asha)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        session.add(
            ClosedMonth(
                community_id=person.community_id,
                month=FEBRUARY,
                closed_by=None,
                closed_at=REMINDER_1_AT,
            )
        )

    await run_at(harness, CLOSE_AT)
    await harness.settle()

    summary = render(
        "checkins/close_summary",
        month="Feb 2031",
        filed=[],
        missing=[MissingRow(PRADAN, ["Asha Patil"])],
        more=0,
        filed_count=0,
        bso_count=1,
        totals=[],
        month_closed=True,
    )
    assert htmls(private(harness, harness.facilitator)) == [summary]
    summary_text = private(harness, harness.facilitator)[0].text
    assert "Feb 2031 is closed" in summary_text
    assert "stays open" not in summary_text
    assert harness.errors == []


# --- /checkin during and after a round --------------------------------------------------------


def intro_text(month: str, bso: str = PRADAN) -> str:
    return render(
        "progress/checkin_intro",
        month=month,
        bso=bso,
        filing=None,
        actions_listed=0,
        actions_open=0,
    )


async def test_checkin_command_opens_round_month(harness: SandboxHarness) -> None:
    await start_round(harness)
    asha = await add_member(harness, "asha", "Asha Patil", "PRADAN")
    await run_at(harness, CHECKIN_AT)
    await harness.settle()
    seen = len(private(harness, asha))

    # In March, while the round for February is open, /checkin files February.
    await run_at(harness, REMINDER_1_AT + dt.timedelta(hours=2))
    await say(harness, asha, "/checkin")
    assert intro_text("Feb 2031") in htmls(private(harness, asha)[seen:])
    await say(harness, asha, "/cancel")

    # After the close, a BSO that has not filed February is still offered February.
    await run_at(harness, CLOSE_AT + dt.timedelta(hours=1))
    seen = len(private(harness, asha))
    await say(harness, asha, "/checkin")
    assert intro_text("Feb 2031") in htmls(private(harness, asha)[seen:])
    await say(harness, asha, "/cancel")

    # Once February is filed, /checkin between rounds files the current month.
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        bso_id = await session.scalar(select(Bso.id).where(Bso.name == PRADAN))
        community_id = await session.scalar(select(Bso.community_id).where(Bso.name == PRADAN))
        assert bso_id is not None and community_id is not None
        session.add(
            ProgressReport(community_id=community_id, bso_id=bso_id, month=dt.date(2031, 2, 1))
        )
    seen = len(private(harness, asha))
    await say(harness, asha, "/checkin")
    assert intro_text("Mar 2031") in htmls(private(harness, asha)[seen:])
    await say(harness, asha, "/cancel")
    assert harness.errors == []


async def test_checkin_command_with_month(harness: SandboxHarness) -> None:
    await start_round(harness)
    asha = await add_member(harness, "asha", "Asha Patil", "PRADAN")
    await run_at(harness, CHECKIN_AT)
    await harness.settle()

    seen = len(private(harness, asha))
    await say(harness, asha, "/checkin Jan 2031")
    assert intro_text("Jan 2031") in htmls(private(harness, asha)[seen:])
    await say(harness, asha, "/cancel")

    seen = len(private(harness, asha))
    await say(harness, asha, "/checkin Mar 2031")
    assert intro_text("Mar 2031") in htmls(private(harness, asha)[seen:])
    await say(harness, asha, "/cancel")
    assert harness.errors == []


async def test_checkin_command_rejects_month(harness: SandboxHarness) -> None:
    await start_round(harness)
    asha = await add_member(harness, "asha", "Asha Patil", "PRADAN")
    await run_at(harness, CHECKIN_AT)
    await harness.settle()

    future = await say(harness, asha, "/checkin Apr 2031")
    unreadable = await say(harness, asha, "/checkin someday")

    assert "“Apr 2031” is outside the allowed months" in future.text
    assert "<code>/checkin Mar 2025</code>" in (future.html or "")
    assert "Send /checkin alone for the month of the current check-in" in future.text
    assert "I could not read “someday” as a month" in unreadable.text
    assert "<code>/checkin Mar 2025</code>" in (unreadable.html or "")
    # Neither opened the form, so the PoC is not in the middle of a check-in.
    replies = htmls(private(harness, asha)[1:])
    assert all("Progress update of" not in (html or "") for html in replies)
    assert harness.errors == []


# --- Long lists -------------------------------------------------------------------------------


def test_unreachable_list_fits_one_message() -> None:
    bsos = [
        UnreachableBso(f"BSO number {index} " + "x" * 60, ["P" * 50] * 3) for index in range(200)
    ]

    text = unreachable_text(TEXTS.bind("hi"), FEBRUARY, bsos, LINK)

    assert utf16_length(text) <= MESSAGE_LIMIT
    assert "BSO number 0 " in text
    assert "BSO number 199 " not in text
    assert LINK in text
    shown = text.count("• ")
    assert f"…और {200 - shown} और" in text
