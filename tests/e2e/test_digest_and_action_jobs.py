"""The weekly digest and the daily action reminders, run by the scheduler against the sandbox."""

from __future__ import annotations

import datetime as dt

from asks_steps import bso_id_of, cop_group, load_theme
from e2e_helpers import TEXTS, Answers, decide, label, register, render, say, tap
from schedule_steps import india, run_at, start_schedules_at
from sqlalchemy import select, update

from bot.jobs.digest import DigestEntry
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from storage.models import Buyer, Community, Contribution, FollowUpAction, Schedule

# Friday 14 March 2031; the digest runs on Fridays at 16:00, India time.
DIGEST_DAY = india(2031, 3, 14, 16, 0)
WEEK_START = DIGEST_DAY - dt.timedelta(days=7)
# Monday 10 March 2031, before the 09:00 run of the action reminders.
MONDAY = india(2031, 3, 10, 8, 0)
TITLE = "Share the onion buyer list with Vrutti"
TESTED_JOBS = ("digest", "action_due")


# --- Setup -----------------------------------------------------------------------------------


async def start_at(harness: SandboxHarness, moment: dt.datetime) -> None:
    """Date the schedules from `moment` and pause every job but the digest and action reminders.

    The moment goes to start_schedules_at in UTC. SQLite stores an aware time's
    wall-clock digits without its offset, so India time would date the schedules 5.5
    hours late, after the first runs.
    """
    await start_schedules_at(harness, moment.astimezone(dt.UTC))
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(
            update(Schedule).where(Schedule.job.not_in(TESTED_JOBS)).values(paused=True)
        )
    harness.app.scheduler.invalidate()


async def community_id(harness: SandboxHarness) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        found = await session.scalar(select(Community.id).order_by(Community.id).limit(1))
    assert found is not None
    return found


async def add_buyer(harness: SandboxHarness, name: str, created_at: dt.datetime) -> None:
    """Insert a buyer as if imported at `created_at`; an import stamps the machine's time."""
    assert harness.app is not None
    owner = await community_id(harness)
    async with harness.app.sessionmaker.begin() as session:
        session.add(
            Buyer(
                community_id=owner,
                name=name,
                name_key=name.lower(),
                commodities=["onion"],
                city="Nashik",
                state="Maharashtra",
                created_at=created_at.astimezone(dt.UTC),
            )
        )


async def add_entry(
    harness: SandboxHarness,
    title: str,
    created_at: dt.datetime,
    *,
    kind: str = "ask",
    private: bool = False,
    status: str = "open",
) -> None:
    """Insert an ask or give of PRADAN as if filed at `created_at`; the form stamps the machine's time."""
    assert harness.app is not None
    owner = await community_id(harness)
    bso = await bso_id_of(harness, "PRADAN")
    theme = await load_theme(harness, "finance")
    async with harness.app.sessionmaker.begin() as session:
        session.add(
            Contribution(
                community_id=owner,
                bso_id=bso,
                kind=kind,
                theme_id=theme.id,
                title=title,
                private=private,
                status=status,
                created_at=created_at.astimezone(dt.UTC),
            )
        )


async def approved_poc(
    harness: SandboxHarness, name: str, bso: str = "PRADAN", locale: str = "en"
) -> SandboxUser:
    user = harness.server.user(name)
    review = await register(harness, user, Answers(name=name.title(), bso=bso, language=locale))
    await decide(harness, review, "approve")
    return user


async def record_action(harness: SandboxHarness, due: str, title: str = TITLE) -> None:
    """Record a PRADAN action through the facilitator's /action form."""
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, title)
    await tap(harness, facilitator, "PRADAN")
    await tap(harness, facilitator, label("themes", "market_access"))
    await say(harness, facilitator, due)
    await tap(harness, facilitator, label("forms", "confirm"))


async def load_action(harness: SandboxHarness, title: str = TITLE) -> FollowUpAction:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        action = await session.scalar(select(FollowUpAction).where(FollowUpAction.title == title))
    assert action is not None, f"no action {title!r}"
    return action


def messages_with(harness: SandboxHarness, chat: SandboxChat, html: str) -> list[BotMessage]:
    return [message for message in harness.server.bot_messages(chat) if message.html == html]


def reminder(action: FollowUpAction, kind: str, locale: str = "en", days_late: int = 0) -> str:
    """Render a reminder as the job does, for the action as it is now."""
    return str(
        render(
            f"actions/reminder_{kind}",
            locale,
            action=action,
            bso=action.bso,
            theme=label("themes", "market_access", locale),
            days_late=days_late,
        )
    )


# --- The weekly digest ----------------------------------------------------------------------


async def test_digest_posted_once_in_task_force_group(harness: SandboxHarness) -> None:
    task_force = await cop_group(harness, "Onion task force", kind="task_force")
    cop = await cop_group(harness, "CoP all", kind="cop")
    await start_at(harness, WEEK_START)
    tuesday = india(2031, 3, 11, 12, 0)
    await add_buyer(harness, "Nashik Onion Traders", tuesday)
    await add_buyer(harness, "Last month's buyer", WEEK_START - dt.timedelta(days=3))
    await add_entry(harness, "Cold storage for the kharif onion", tuesday)
    await add_entry(harness, "Private ask for the facilitator", tuesday, private=True)
    await add_entry(harness, "Withdrawn give", tuesday, kind="give", status="withdrawn")
    await add_entry(harness, "Ask filed after the digest", DIGEST_DAY + dt.timedelta(minutes=1))
    cop_before = len(harness.server.bot_messages(cop))

    await run_at(harness, DIGEST_DAY)
    await run_at(harness, DIGEST_DAY + dt.timedelta(minutes=5))
    await harness.settle()

    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        buyer = await session.scalar(select(Buyer).where(Buyer.name == "Nashik Onion Traders"))
    expected = render(
        "digest/weekly",
        start=WEEK_START.date(),
        end=DIGEST_DAY.date(),
        buyers=[buyer],
        buyers_more=0,
        asks=[
            DigestEntry(
                title="Cold storage for the kharif onion",
                bso_name="PRADAN",
                theme=label("themes", "finance"),
            )
        ],
        asks_more=0,
        gives=[],
        gives_more=0,
    )
    digests = messages_with(harness, task_force, str(expected))
    assert len(digests) == 1, harness.server.bot_messages(task_force)[-1].text
    assert "Nashik Onion Traders" in digests[0].text
    assert "Last month's buyer" not in digests[0].text
    assert "Private ask" not in digests[0].text
    assert "Withdrawn give" not in digests[0].text
    assert "after the digest" not in digests[0].text
    assert len(harness.server.bot_messages(cop)) == cop_before


async def test_digest_skips_empty_week(harness: SandboxHarness) -> None:
    task_force = await cop_group(harness, "Onion task force", kind="task_force")
    await start_at(harness, WEEK_START)
    await add_buyer(harness, "Last month's buyer", WEEK_START - dt.timedelta(days=3))
    before = len(harness.server.bot_messages(task_force))

    await run_at(harness, DIGEST_DAY)

    assert len(harness.server.bot_messages(task_force)) == before


async def test_digest_lists_capped(harness: SandboxHarness) -> None:
    task_force = await cop_group(harness, "Onion task force", kind="task_force")
    await start_at(harness, WEEK_START)
    tuesday = india(2031, 3, 11, 12, 0)
    for number in range(14):
        await add_entry(harness, f"Ask number {number:02d} " + "x" * 150, tuesday)

    await run_at(harness, DIGEST_DAY)

    digest = harness.server.last_bot_message(task_force)
    assert "Ask number 09" in digest.text
    assert "Ask number 10" not in digest.text
    assert "…and 4 more" in digest.text


# --- Action reminders ----------------------------------------------------------------------


async def test_action_due_tomorrow_reminds_bso_pocs(harness: SandboxHarness) -> None:
    await start_at(harness, MONDAY)
    asha = await approved_poc(harness, "asha")
    meera = await approved_poc(harness, "meera", locale="hi")
    ravi = await approved_poc(harness, "ravi", bso="Vrutti")
    await record_action(harness, due="11/03/2031")
    action = await load_action(harness)

    await run_at(harness, india(2031, 3, 10, 9, 0))

    asha_reminders = messages_with(
        harness, harness.server.private_chat(asha), reminder(action, "due")
    )
    meera_reminders = messages_with(
        harness, harness.server.private_chat(meera), reminder(action, "due", "hi")
    )
    assert len(asha_reminders) == 1
    assert len(meera_reminders) == 1
    assert asha_reminders[0].button_texts() == [
        TEXTS.label("en", "actions", op) for op in ("done", "in_progress", "stuck", "drop")
    ]
    ravi_chat = harness.server.private_chat(ravi)
    assert not [m for m in harness.server.bot_messages(ravi_chat) if TITLE in m.text]
    facilitator_chat = harness.server.private_chat(harness.facilitator)
    assert not messages_with(harness, facilitator_chat, reminder(action, "due"))


async def test_overdue_action_noted_once(harness: SandboxHarness) -> None:
    await start_at(harness, MONDAY)
    asha = await approved_poc(harness, "asha")
    await record_action(harness, due="11/03/2031")
    action = await load_action(harness)
    chat = harness.server.private_chat(asha)

    for day in (10, 11, 12, 13, 14):
        await run_at(harness, india(2031, 3, day, 9, 0))

    assert len(messages_with(harness, chat, reminder(action, "due"))) == 1
    overdue = messages_with(harness, chat, reminder(action, "overdue", days_late=1))
    assert len(overdue) == 1
    later = [m for m in harness.server.bot_messages(chat) if TITLE in m.text]
    assert later[-1].message_id == overdue[0].message_id


async def test_moved_due_date_reminds_again(harness: SandboxHarness) -> None:
    await start_at(harness, MONDAY)
    asha = await approved_poc(harness, "asha")
    await record_action(harness, due="11/03/2031")
    await run_at(harness, india(2031, 3, 10, 9, 0))
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(
            update(FollowUpAction)
            .where(FollowUpAction.title == TITLE)
            .values(due_on=dt.date(2031, 3, 13))
        )
    action = await load_action(harness)

    await run_at(harness, india(2031, 3, 12, 9, 0))

    chat = harness.server.private_chat(asha)
    assert len(messages_with(harness, chat, reminder(action, "due"))) == 1


async def test_done_action_gets_no_reminder(harness: SandboxHarness) -> None:
    await start_at(harness, MONDAY)
    asha = await approved_poc(harness, "asha")
    await record_action(harness, due="12/03/2031")
    await record_action(harness, due="11/03/2031", title="Send the FPO list")
    chat = harness.server.private_chat(asha)
    await run_at(harness, india(2031, 3, 10, 9, 0))
    finished = await load_action(harness, "Send the FPO list")
    assert len(messages_with(harness, chat, reminder(finished, "due"))) == 1

    # The Done button of the reminder works from the PoC's private chat.
    await tap(harness, asha, TEXTS.label("en", "actions", "done"))
    finished = await load_action(harness, "Send the FPO list")
    assert finished.status == "done"
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(
            update(FollowUpAction).where(FollowUpAction.title == TITLE).values(status="done")
        )
    sent_before = len(harness.server.bot_messages(chat))

    for day in (11, 12, 13):
        await run_at(harness, india(2031, 3, day, 9, 0))

    assert len(harness.server.bot_messages(chat)) == sent_before
