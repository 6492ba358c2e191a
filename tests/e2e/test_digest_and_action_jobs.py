"""The weekly digest and the daily action reminders, run by the scheduler against the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asks_steps import bso_id_of, cop_group, load_theme
from e2e_helpers import TEXTS, Answers, decide, label, register, render, say, tap
from schedule_steps import hold_schedules, india, run_at, start_schedules_at
from sqlalchemy import select, update

from bot.config import load_settings
from bot.jobs.digest import (
    LIST_MAX,
    DigestEntry,
    DigestMatch,
    DigestRequirement,
    visible_length,
)
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from bot.texts import MESSAGE_LIMIT
from storage.models import (
    Buyer,
    Community,
    Contribution,
    FollowUpAction,
    Offer,
    Requirement,
    Schedule,
)

# Friday 14 March 2031; the digest runs on Fridays at 16:00, India time.
DIGEST_DAY = india(2031, 3, 14, 16, 0)
WEEK_START = DIGEST_DAY - dt.timedelta(days=7)
# Monday 10 March 2031, before the 09:00 run of the action reminders.
MONDAY = india(2031, 3, 10, 8, 0)
TITLE = "Share the onion buyer list with Vrutti"
TESTED_JOBS = ("digest", "action_due")
# The buyer's contact of the test requirements, which a group must never see.
CONTACT = "Ravi Kumar, 98765 11111"
# The requirement lists of a digest with no requirement news, for tests that render one.
NO_REQUIREMENT_NEWS: dict[str, object] = {
    "requirements": [],
    "requirements_more": 0,
    "offers_received": 0,
    "matches": [],
    "matches_more": 0,
}


@pytest.fixture
async def hindi_harness(tmp_path: Path) -> AsyncIterator[SandboxHarness]:
    """Yield a started harness whose default language is Hindi, so digests are in Hindi."""
    settings = load_settings(
        bot_token=None,
        database_url=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
        redis_url=None,
        facilitator_ids=[],
        default_locale="hi",
    )
    started = SandboxHarness(settings, demo=True)
    await started.start()
    await hold_schedules(started)
    yield started
    await started.stop()


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


async def add_requirement(
    harness: SandboxHarness,
    created_at: dt.datetime,
    *,
    status: str = "open",
    commodity: str = "onion",
    quantity: float = 20,
    unit: str = "tonne",
) -> int:
    """Insert a requirement delivered to Nashik in April-May 2031 as if posted at `created_at`.

    Return its id. The form stamps the machine's time, so the test inserts the row instead.
    """
    assert harness.app is not None
    owner = await community_id(harness)
    tonnes = {"kg": 0.001, "quintal": 0.1, "tonne": 1.0}[unit] * quantity
    async with harness.app.sessionmaker.begin() as session:
        requirement = Requirement(
            community_id=owner,
            commodity=commodity,
            commodity_text=commodity,
            quantity=quantity,
            unit=unit,
            quantity_tonnes=tonnes,
            frequency="one_off",
            delivery_place="Nashik, Maharashtra",
            delivery_state="Maharashtra",
            window_start=dt.date(2031, 4, 1),
            window_end=dt.date(2031, 5, 31),
            buyer_name="Fresh Basket Retail",
            contact=CONTACT,
            status=status,
            created_at=created_at.astimezone(dt.UTC),
        )
        session.add(requirement)
        await session.flush()
        return requirement.id


async def add_offer(
    harness: SandboxHarness,
    requirement_id: int,
    bso: str,
    created_at: dt.datetime,
    *,
    tonnes: float = 15,
    accepted_at: dt.datetime | None = None,
) -> None:
    """Insert a BSO's offer made at `created_at`, accepted at `accepted_at` when given."""
    assert harness.app is not None
    owner = await community_id(harness)
    bso_id = await bso_id_of(harness, bso)
    async with harness.app.sessionmaker.begin() as session:
        session.add(
            Offer(
                community_id=owner,
                requirement_id=requirement_id,
                bso_id=bso_id,
                quantity_tonnes=tonnes,
                fpos_place="Sahyadri FPC, Nashik",
                months=[4, 5],
                status="pending" if accepted_at is None else "accepted",
                accepted_at=accepted_at.astimezone(dt.UTC) if accepted_at else None,
                created_at=created_at.astimezone(dt.UTC),
            )
        )


async def add_requirement_week(harness: SandboxHarness) -> dict[str, int]:
    """Insert the requirements and offers of a week and of the weeks before it, and return their ids.

    In the week: a requirement with an accepted offer of BAIF and a pending one of Vrutti,
    and a requirement closed since. Before it: an expired requirement whose offer was
    accepted then, and an open requirement that is not news.
    """
    tuesday = india(2031, 3, 11, 12, 0)
    wednesday = india(2031, 3, 12, 15, 0)
    earlier = WEEK_START - dt.timedelta(days=10)
    matched = await add_requirement(harness, tuesday, status="matched")
    await add_offer(harness, matched, "BAIF", tuesday, accepted_at=wednesday)
    await add_offer(harness, matched, "Vrutti", wednesday, tonnes=5)
    closed = await add_requirement(harness, tuesday, status="closed", commodity="potato")
    expired = await add_requirement(harness, earlier, status="expired", commodity="tomato")
    await add_offer(harness, expired, "BAIF", earlier, accepted_at=earlier + dt.timedelta(days=1))
    old_open = await add_requirement(harness, earlier, commodity="garlic")
    return {"matched": matched, "closed": closed, "expired": expired, "old_open": old_open}


def digest_of_requirement_week(locale: str, matched: int) -> str:
    """Render the digest of add_requirement_week as the job should, with its strings typed out."""
    onion = {"en": "onion", "hi": "प्याज"}[locale]
    return str(
        render(
            "digest/weekly",
            locale,
            start=WEEK_START.date(),
            end=DIGEST_DAY.date(),
            buyers=[],
            buyers_more=0,
            asks=[],
            asks_more=0,
            gives=[],
            gives_more=0,
            requirements=[
                DigestRequirement(
                    number=matched,
                    commodity=onion,
                    quantity="20",
                    unit=label("requirements", "unit_tonne", locale),
                    delivery_state="Maharashtra",
                    window_start=dt.date(2031, 4, 1),
                    window_end=dt.date(2031, 5, 31),
                    status=label("requirements", "status_matched", locale),
                )
            ],
            requirements_more=0,
            offers_received=2,
            matches=[DigestMatch(number=matched, bso_name="BAIF", commodity=onion, tonnes="15")],
            matches_more=0,
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
        **NO_REQUIREMENT_NEWS,
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
    earlier = WEEK_START - dt.timedelta(days=10)
    expired = await add_requirement(harness, earlier, status="expired")
    await add_offer(harness, expired, "BAIF", earlier, accepted_at=earlier + dt.timedelta(days=1))
    await add_requirement(harness, india(2031, 3, 11, 12, 0), status="closed")
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


async def test_digest_lists_requirements_of_week(harness: SandboxHarness) -> None:
    task_force = await cop_group(harness, "Onion task force", kind="task_force")
    await start_at(harness, WEEK_START)
    ids = await add_requirement_week(harness)

    await run_at(harness, DIGEST_DAY)

    digests = messages_with(harness, task_force, digest_of_requirement_week("en", ids["matched"]))
    assert len(digests) == 1, harness.server.bot_messages(task_force)[-1].text
    text = digests[0].text
    assert f"#{ids['matched']} onion, 20 tonnes, Maharashtra" in text
    assert "BAIF · 15 tonnes" in text
    assert "Offers received on buyer requirements: 2" in text
    for left_out in ("closed", "expired", "old_open"):
        assert f"#{ids[left_out]} " not in text, left_out
    assert "tomato" not in text
    assert CONTACT not in text
    assert "98765" not in text


async def test_digest_lists_requirements_in_hindi(hindi_harness: SandboxHarness) -> None:
    harness = hindi_harness
    # A group gets the community's default language, so /groupkind replies in Hindi.
    task_force = harness.server.group("Onion task force", added_by=harness.facilitator)
    await harness.server.wait_idle()
    await say(harness, harness.facilitator, "/groupkind", chat=task_force)
    await tap(harness, harness.facilitator, label("groups", "task_force", "hi"), chat=task_force)
    await start_at(harness, WEEK_START)
    ids = await add_requirement_week(harness)

    await run_at(harness, DIGEST_DAY)

    digests = messages_with(harness, task_force, digest_of_requirement_week("hi", ids["matched"]))
    assert len(digests) == 1, harness.server.bot_messages(task_force)[-1].text
    text = digests[0].text
    assert f"#{ids['matched']} प्याज, 20 टन, महाराष्ट्र" in text
    assert "BAIF · 15 टन" in text
    for left_out in ("closed", "expired", "old_open"):
        assert f"#{ids[left_out]} " not in text, left_out
    assert CONTACT not in text


async def test_digest_posted_for_offers_alone(harness: SandboxHarness) -> None:
    task_force = await cop_group(harness, "Onion task force", kind="task_force")
    await start_at(harness, WEEK_START)
    earlier = await add_requirement(harness, WEEK_START - dt.timedelta(days=10))
    await add_offer(harness, earlier, "BAIF", india(2031, 3, 11, 12, 0))
    before = len(harness.server.bot_messages(task_force))

    await run_at(harness, DIGEST_DAY)

    messages = harness.server.bot_messages(task_force)
    assert len(messages) == before + 1
    assert "Offers received on buyer requirements: 1" in messages[-1].text
    assert f"#{earlier} " not in messages[-1].text


async def test_digest_requirement_lists_fit(harness: SandboxHarness) -> None:
    task_force = await cop_group(harness, "Onion task force", kind="task_force")
    await start_at(harness, WEEK_START)
    tuesday = india(2031, 3, 11, 12, 0)
    for number in range(14):
        await add_buyer(harness, f"Buyer number {number:02d} " + "y" * 150, tuesday)
        await add_entry(harness, f"Ask number {number:02d} " + "x" * 150, tuesday)
        await add_entry(harness, f"Give number {number:02d} " + "z" * 150, tuesday, kind="give")
        requirement = await add_requirement(
            harness, tuesday, status="matched", quantity=1234567.5, unit="kg"
        )
        await add_offer(harness, requirement, "BAIF", tuesday, accepted_at=tuesday)

    await run_at(harness, DIGEST_DAY)

    digest = harness.server.last_bot_message(task_force)
    assert visible_length(digest.html) <= MESSAGE_LIMIT
    assert "New buyer requirements still open: 14" in digest.text
    assert "Offers accepted on buyer requirements: 14" in digest.text
    assert "Offers received on buyer requirements: 14" in digest.text
    # Ten items of every list would pass the limit, so the lists are cut shorter.
    shown_count = digest.text.count("12,34,567.5 kg")
    assert 1 <= shown_count < LIST_MAX
    assert f"…and {14 - shown_count} more" in digest.text


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
