"""Progress check-ins through the sandbox: filing, amending, closing months and /progress."""

from __future__ import annotations

import datetime as dt
import re

from e2e_helpers import (
    TEXTS,
    Answers,
    callback_answer_for,
    decide,
    label,
    register,
    render,
    say,
    tap,
)
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from bot.texts import MESSAGE_LIMIT, utf16_length
from handlers.callbacks import CheckinStart, ProgressReportPage, ProgressView
from storage import people
from storage.models import (
    Bso,
    ClosedMonth,
    Contribution,
    FollowUpAction,
    ProgressChange,
    ProgressReport,
)

# 10 March 2026, 11:30 in Kolkata.
START = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)
MARCH = dt.date(2026, 3, 1)
PRADAN = "Professional Assistance for Development Action"
PROMPTS = "progress/checkin"
SUPPORT = "Buyer for 200 t of onion in April\nOur Nashik FPOs hold stock and need a buyer."


def field_label(name: str) -> str:
    return label(PROMPTS, name)


def edit_button(name: str) -> str:
    return TEXTS.label("en", "forms", "edit", field=field_label(name))


def month_button(block: str, month: str) -> str:
    return TEXTS.label("en", "progress", block, month=month)


async def approved_poc(harness: SandboxHarness, key: str, name: str) -> SandboxUser:
    user = harness.server.user(key)
    review = await register(harness, user, Answers(name=name))
    await decide(harness, review, "approve")
    return user


async def add_action(
    harness: SandboxHarness, title: str, due_on: dt.date | None, created_by: int | None = None
) -> int:
    """Add an open action of PRADAN; `created_by` is the recorder's Telegram id."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=harness.settings.community_name, timezone="Asia/Kolkata"
        )
        bso = await session.scalar(select(Bso).where(Bso.short_name == "PRADAN"))
        assert bso is not None
        action = FollowUpAction(
            community_id=community.id,
            bso_id=bso.id,
            title=title,
            due_on=due_on,
            status="open",
            created_by=created_by,
        )
        session.add(action)
        await session.flush()
        return action.id


async def fill_numbers(
    harness: SandboxHarness,
    user: SandboxUser,
    numbers: tuple[str, str, str, str, str] = ("12", "3", "12 t", "3.5 lakh", "40"),
) -> BotMessage:
    """Answer the five outcome questions; return the summary."""
    reply = None
    for answer in numbers:
        reply = await say(harness, user, answer)
    assert reply is not None
    return reply


async def file_checkin(
    harness: SandboxHarness,
    user: SandboxUser,
    *,
    actions: tuple[str, ...] = (),
    reasons: tuple[str, ...] = (),
    actions_taken: str = "Trained 3 FPO boards on GST filing",
    challenges: str = "Late rains delayed the harvest",
    support: str | None = None,
    numbers: tuple[str, str, str, str, str] = ("12", "3", "12 t", "3.5 lakh", "40"),
) -> BotMessage:
    """Run /checkin as a first filing and confirm it; return the confirmation.

    `reasons` are the answers to the stuck reasons in order; a missing one is skipped.
    """
    await say(harness, user, "/checkin")
    stuck_count = 0
    for status in actions:
        await tap(harness, user, field_label(f"status_{status}"))
        if status == "stuck":
            reason = reasons[stuck_count] if stuck_count < len(reasons) else "/skip"
            stuck_count += 1
            await say(harness, user, reason)
    await say(harness, user, actions_taken)
    await say(harness, user, challenges)
    if support is None:
        await say(harness, user, "/skip")
    else:
        await say(harness, user, support)
    summary = await fill_numbers(harness, user, numbers)
    assert summary.buttons, f"expected the summary, got: {summary.text}"
    return await tap(harness, user, label("forms", "confirm"))


async def load_reports(harness: SandboxHarness) -> list[ProgressReport]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(ProgressReport))).all())


async def load_changes(harness: SandboxHarness) -> list[ProgressChange]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.scalars(select(ProgressChange).order_by(ProgressChange.id))
        return list(rows.all())


async def press(harness: SandboxHarness, user: SandboxUser, data: str) -> dict:
    """Press a button with any callback data on the user's latest bot message."""
    chat = harness.server.private_chat(user)
    anchor = harness.server.last_bot_message(chat)
    update = await harness.server.press_data(user, chat, anchor.message_id, data)
    await harness.server.wait_idle()
    return update


# --- Filing and amending --------------------------------------------------------------------


async def test_second_poc_amends_report(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    ravi = await approved_poc(harness, "ravi", "Ravi Kumar")
    action_id = await add_action(harness, "Train FPO boards on GST", dt.date(2026, 3, 31))

    saved = await file_checkin(harness, asha, actions=("done",))
    assert "is saved" in saved.text

    harness.clock.advance(dt.timedelta(days=2))
    await say(harness, ravi, "/checkin")
    chat = harness.server.private_chat(ravi)
    intro, summary = harness.server.bot_messages(chat)[-2:]
    assert "filed by Asha Patil on 10 Mar 2026, 11:30" in intro.text
    assert "12 tonnes" in summary.text
    assert "3.5 lakh rupees" in summary.text

    await tap(harness, ravi, edit_button("volume_tonnes"))
    await say(harness, ravi, "15 t")
    amended = await tap(harness, ravi, label("forms", "confirm"))

    assert "amended" in amended.text
    assert field_label("volume_tonnes") in amended.text
    reports = await load_reports(harness)
    assert len(reports) == 1
    assert reports[0].volume_tonnes == 15.0
    assert reports[0].month == MARCH
    changes = await load_changes(harness)
    by_asha = [change for change in changes if change.person_name == "Asha Patil"]
    by_ravi = [change for change in changes if change.person_name == "Ravi Kumar"]
    assert {change.field for change in by_asha} == {
        f"action:{action_id}",
        "actions_taken",
        "challenges",
        "fpos_supported",
        "buyer_linkages",
        "volume_tonnes",
        "value_lakh",
        "women_reached",
    }
    assert [(c.field, c.old_value, c.new_value) for c in by_ravi] == [("volume_tonnes", 12.0, 15.0)]
    assert harness.errors == []


async def test_checkin_action_statuses_updated(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    done_id = await add_action(harness, "Train FPO boards on GST", dt.date(2026, 3, 1))
    stuck_id = await add_action(harness, "Visit the Pune mandi", None)
    kept_id = await add_action(harness, "Draft a business plan", None)

    await say(harness, asha, "/checkin")
    first = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert "Train FPO boards on GST" in first.text
    assert "(overdue)" in first.text
    await tap(harness, asha, field_label("status_done"))
    await tap(harness, asha, field_label("status_stuck"))
    await say(harness, asha, "The mandi committee has not replied")
    await tap(harness, asha, field_label("status_no_change"))
    await say(harness, asha, "Trained 3 FPO boards")
    await say(harness, asha, "/skip")
    await say(harness, asha, "/skip")
    summary = await fill_numbers(harness, asha)
    assert "Stuck: Visit the Pune mandi" in summary.text
    saved = await tap(harness, asha, label("forms", "confirm"))

    assert "Done: Train FPO boards on GST" in saved.text
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        done = await session.get(FollowUpAction, done_id)
        stuck = await session.get(FollowUpAction, stuck_id)
        kept = await session.get(FollowUpAction, kept_id)
    assert done is not None and done.status == "done"
    assert stuck is not None and stuck.status == "stuck"
    assert stuck.stuck_reason == "The mandi committee has not replied"
    assert kept is not None and kept.status == "open"
    changes = {change.field: change for change in await load_changes(harness)}
    assert changes[f"action:{stuck_id}"].old_value == {"status": "open", "reason": None}
    assert changes[f"action:{stuck_id}"].new_value == {
        "status": "stuck",
        "reason": "The mandi committee has not replied",
    }
    assert f"action:{kept_id}" not in changes
    assert harness.errors == []


async def test_two_first_filings_merge(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    ravi = await approved_poc(harness, "ravi", "Ravi Kumar")

    # Both start before either confirms; Ravi confirms second.
    await say(harness, ravi, "/checkin")
    await say(harness, ravi, "Met two buyers in Pune")
    await say(harness, ravi, "/skip")
    await say(harness, ravi, "/skip")
    await fill_numbers(harness, ravi, ("12", "5", "12 t", "3.5", "40"))
    await file_checkin(harness, asha)
    merged = await tap(harness, ravi, label("forms", "confirm"))

    assert "had already been filed by Asha Patil" in merged.text
    reports = await load_reports(harness)
    assert len(reports) == 1
    assert reports[0].actions_taken == "Met two buyers in Pune"
    assert reports[0].buyer_linkages == 5
    # Ravi skipped the challenges; Asha's answer stays.
    assert reports[0].challenges == "Late rains delayed the harvest"
    by_ravi = [c for c in await load_changes(harness) if c.person_name == "Ravi Kumar"]
    assert {c.field for c in by_ravi} == {"actions_taken", "buyer_linkages"}
    assert harness.errors == []


async def test_invalid_numbers_asked_again(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    await say(harness, asha, "/checkin")
    await say(harness, asha, "Trained 3 FPO boards")
    await say(harness, asha, "/skip")
    await say(harness, asha, "/skip")

    negative = await say(harness, asha, "-3")
    assert "below zero" in negative.text
    assert "FPOs" in negative.text
    words = await say(harness, asha, "twelve")
    assert "could not read “twelve” as a number" in words.text
    unit = await say(harness, asha, "12 kg")
    assert "“kg”" in unit.text
    assert "in FPOs" in unit.text
    await say(harness, asha, "12 FPOs")
    await say(harness, asha, "3 buyers")
    await say(harness, asha, "150 quintal")
    ambiguous = await say(harness, asha, "350000")
    assert "rupees or in lakh" in ambiguous.text
    await say(harness, asha, "₹3,50,000")
    summary = await say(harness, asha, "40")
    assert "15 tonnes" in summary.text
    assert "3.5 lakh rupees" in summary.text
    await tap(harness, asha, label("forms", "confirm"))

    [report] = await load_reports(harness)
    assert report.actions_taken == "Trained 3 FPO boards"
    assert report.fpos_supported == 12
    assert report.volume_tonnes == 15.0
    assert report.value_lakh == 3.5
    assert report.women_reached == 40
    assert harness.errors == []


# --- Support needed becomes an ask ----------------------------------------------------------


async def test_support_needed_filed_as_ask(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    saved = await file_checkin(harness, asha, support=SUPPORT)
    assert label("progress", "file_ask") in saved.button_texts()

    question = await tap(harness, asha, label("progress", "file_ask"))
    assert question.html is not None
    assert render("asks/ask/q_theme") in question.html
    await tap(harness, asha, label("themes", "market_access"))
    await say(harness, asha, "onion")
    await say(harness, asha, "/skip")
    await tap(harness, asha, label("asks", "high"))
    await tap(harness, asha, label("asks", "peer"))
    await tap(harness, asha, label("forms", "done"))
    summary = await tap(harness, asha, label("forms", "yes"))
    assert "Buyer for 200 t of onion in April" in summary.text
    await tap(harness, asha, label("forms", "confirm"))

    [report] = await load_reports(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        [entry] = (await session.scalars(select(Contribution))).all()
    assert entry.progress_report_id == report.id
    assert entry.title == "Buyer for 200 t of onion in April"
    assert entry.description == SUPPORT
    # The same support need is not offered twice.
    update = await press(harness, asha, f"ca1:{report.id}")
    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert "already filed as an ask" in answer["text"]
    assert harness.errors == []


# --- /progress ------------------------------------------------------------------------------


async def test_progress_lists_filed_missing_and_history(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    ravi = await approved_poc(harness, "ravi", "Ravi Kumar")
    await file_checkin(harness, asha)
    harness.clock.advance(dt.timedelta(days=1))
    await say(harness, ravi, "/checkin")
    await tap(harness, ravi, edit_button("women_reached"))
    await say(harness, ravi, "55")
    await tap(harness, ravi, label("forms", "confirm"))

    overview = await say(harness, harness.facilitator, "/progress")

    filed, _, missing = overview.text.partition("Not filed")
    assert "1 of 14 BSOs" in overview.text
    assert f"{PRADAN}: Asha Patil, 10 Mar 2026, 11:30" in filed
    assert "amended, last by Ravi Kumar" in filed
    assert "Vrutti (no approved PoC)" in missing
    assert PRADAN not in missing
    assert "Women members reached: 55 women" in overview.text
    assert utf16_length(overview.text) <= MESSAGE_LIMIT
    # No button leads to April, which is still in the future.
    assert month_button("previous_month", "Feb 2026") in overview.button_texts()
    assert month_button("next_month", "Apr 2026") not in overview.button_texts()

    history = await tap(harness, harness.facilitator, "PRADAN")
    assert "Mar 2026" in history.text
    assert "Amended by Ravi Kumar, 11 Mar 2026" in history.text
    assert "Women members reached: 40 women → 55 women" in history.text

    # History and months are edited into the same message.
    await tap(harness, harness.facilitator, month_button("back", "Mar 2026"))
    february = await tap(harness, harness.facilitator, month_button("previous_month", "Feb 2026"))
    assert february.message_id == overview.message_id
    assert "Progress updates for Feb 2026" in february.text
    assert "0 of 14 BSOs" in february.text
    assert month_button("next_month", "Mar 2026") in february.button_texts()
    assert harness.errors == []


async def test_progress_pages_many_bsos(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=harness.settings.community_name, timezone="Asia/Kolkata"
        )
        for number in range(40):
            await people.ensure_bso(session, community.id, f"{number:02d} " + "Long BSO name " * 14)

    first = (await say(harness, harness.facilitator, "/progress")).text
    # The page buttons edit the same message.
    second = await tap(harness, harness.facilitator, label("progress", "next_page"))

    assert utf16_length(first) <= MESSAGE_LIMIT
    assert "Page 1 of 4" in first
    assert "Page 2 of 4" in second.text
    assert utf16_length(second.text) <= MESSAGE_LIMIT
    assert label("progress", "previous_page") in second.button_texts()
    assert harness.errors == []


async def test_progress_with_month_argument(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    reply = await say(harness, harness.facilitator, "/progress Jan 2026")
    assert "Progress updates for Jan 2026" in reply.text

    future = await say(harness, harness.facilitator, "/progress Dec 2026")
    assert "/progress Mar 2025" in future.text
    assert harness.errors == []


async def test_closed_month_blocks_amendments(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    ravi = await approved_poc(harness, "ravi", "Ravi Kumar")
    await file_checkin(harness, asha)

    # Ravi opens the amendment before the facilitator closes the month.
    await say(harness, ravi, "/checkin")
    await tap(harness, ravi, edit_button("fpos_supported"))
    await say(harness, ravi, "20")

    await say(harness, harness.facilitator, "/progress")
    question = await tap(harness, harness.facilitator, month_button("close", "Mar 2026"))
    assert "Close Mar 2026?" in question.text
    closed = await tap(harness, harness.facilitator, month_button("close_yes", "Mar 2026"))
    assert "closed now" in closed.text
    assert month_button("reopen", "Mar 2026") in closed.button_texts()

    rejected = await tap(harness, ravi, label("forms", "confirm"))
    assert "closed Mar 2026 while you were filling in the form" in rejected.text
    [report] = await load_reports(harness)
    assert report.fpos_supported == 12

    blocked = await say(harness, asha, "/checkin")
    assert "Mar 2026 is closed" in blocked.text
    assert "filed by Asha Patil" in blocked.text
    update = await press(harness, asha, CheckinStart(month=202603).pack())
    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert "Mar 2026 is closed" in answer["text"]

    reopened = await tap(harness, harness.facilitator, month_button("reopen", "Mar 2026"))
    assert "open again" in reopened.text
    saved = await tap(harness, ravi, label("forms", "confirm"))
    assert "amended" in saved.text
    [report] = await load_reports(harness)
    assert report.fpos_supported == 20
    assert harness.errors == []


async def test_progress_rejected_for_poc(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")

    reply = await say(harness, asha, "/progress")
    assert reply.html == render("common/facilitators_only")

    for data in (
        ProgressView(action="month", month=202603).pack(),
        ProgressView(action="close_yes", month=202603).pack(),
        ProgressView(action="reopen", month=202603).pack(),
        ProgressView(action="bso", month=202603, bso_id=1).pack(),
    ):
        update = await press(harness, asha, data)
        answer = callback_answer_for(harness, update)
        assert answer is not None
        assert answer["text"] == render("common/facilitators_only")
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        assert (await session.scalars(select(ClosedMonth))).all() == []
    assert harness.errors == []


async def test_forged_progress_buttons_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/progress")
    expected = TEXTS.render("en", "progress/month_invalid")

    for data in ("pg1:month:202604:0:0", "pg1:close_yes:202613:0:0", "pg1:month:12:0:0"):
        update = await press(harness, facilitator, data)
        answer = callback_answer_for(harness, update)
        assert answer is not None
        assert answer["text"] == expected, data
    update = await press(harness, facilitator, "pg1:bso:202603:999999:0")
    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert answer["text"] == render("progress/bso_unknown")
    async with harness.app.sessionmaker() as session:  # type: ignore[union-attr]
        assert (await session.scalars(select(ClosedMonth))).all() == []
    assert harness.errors == []


async def test_forged_checkin_buttons_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    await say(harness, asha, "/help")

    for data in ("ci1:202604", "ci1:202613", "ci1:0"):
        update = await press(harness, asha, data)
        answer = callback_answer_for(harness, update)
        assert answer is not None
        assert answer["text"] == render("progress/month_invalid"), data
    update = await press(harness, asha, "ci1:abc")
    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert answer["text"] == render("common/button_unknown")

    # A past month that is open can be filed late from a button.
    await press(harness, asha, CheckinStart(month=202602).pack())
    chat = harness.server.private_chat(asha)
    intro = harness.server.bot_messages(chat)[-2]
    assert "for Feb 2026" in intro.text
    assert harness.errors == []


async def test_checkin_rejected_outside_pocs(harness: SandboxHarness) -> None:
    stranger = harness.server.user("stranger")
    reply = await say(harness, stranger, "/checkin")
    assert reply.html == render("asks/pocs_only", command="/checkin")

    pending = harness.server.user("pending")
    await register(harness, pending, Answers(name="Pending Person"))
    reply = await say(harness, pending, "/checkin")
    assert reply.html == render("asks/pending_only", command="/checkin")

    reply = await say(harness, harness.facilitator, "/checkin")
    assert reply.html == render("asks/pocs_only", command="/checkin")
    assert harness.errors == []


async def test_checkin_in_group_points_to_private(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", "Asha Patil")
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()

    reply = await say(harness, asha, "/checkin", chat=group)

    assert reply.html == render("progress/private_only", command="/checkin")
    assert "Send /checkin there" in reply.text
    assert "/progress" not in reply.text
    assert await load_reports(harness) == []
    assert harness.errors == []


# --- Month boundaries in Asia/Kolkata -------------------------------------------------------


async def test_checkin_month_in_kolkata(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", "Asha Patil")

    # 23:00 UTC on 31 December is 04:30 on 1 January in India.
    harness.clock.set(dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC))
    await say(harness, asha, "/checkin")
    intro = harness.server.bot_messages(harness.server.private_chat(asha))[-2]
    assert "for Jan 2026" in intro.text
    await say(harness, asha, "/cancel")

    # 18:00 UTC is 23:30 the same day in India: still December.
    harness.clock.set(dt.datetime(2025, 12, 31, 18, 0, tzinfo=dt.UTC))
    saved = await file_checkin(harness, asha)
    assert "for Dec 2025" in saved.text
    [report] = await load_reports(harness)
    assert report.month == dt.date(2025, 12, 1)
    assert harness.errors == []


async def test_progress_in_group_points_to_private(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()

    reply = await say(harness, harness.facilitator, "/progress", chat=group)

    assert reply.html == render("progress/private_only", command="/progress")
    assert "Send /progress there" in reply.text
    assert "/checkin" not in reply.text
    assert PRADAN not in reply.text
    assert harness.errors == []


def test_private_only_names_command_in_hindi() -> None:
    for command in ("/checkin", "/progress"):
        other = "/progress" if command == "/checkin" else "/checkin"
        text = render("progress/private_only", "hi", command=command)
        assert f"{command} वहीं भेजें" in text
        assert other not in text


# --- Months before the earliest one ---------------------------------------------------------


async def test_progress_month_before_earliest_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    facilitator = harness.facilitator

    for argument in ("0001-01", "1990-01", "Dec 1999"):
        reply = await say(harness, facilitator, f"/progress {argument}")
        assert "Progress updates for" not in reply.text, argument
        assert "a month from Jan 2000 to Mar 2026" in reply.text, argument
        assert "/progress Mar 2025" in reply.text, argument

    earliest = await say(harness, facilitator, "/progress 2000-01")
    assert "Progress updates for Jan 2000" in earliest.text
    assert month_button("previous_month", "Dec 1999") not in earliest.button_texts()
    later = await tap(harness, facilitator, month_button("next_month", "Feb 2000"))
    assert "Progress updates for Feb 2000" in later.text
    back = await tap(harness, facilitator, month_button("previous_month", "Jan 2000"))
    assert "Progress updates for Jan 2000" in back.text
    assert harness.errors == []


# --- Stuck actions reported to their recorder -----------------------------------------------


def stuck_reports(harness: SandboxHarness) -> list[BotMessage]:
    chat = harness.server.private_chat(harness.facilitator)
    return [message for message in harness.server.bot_messages(chat) if "🚧" in message.text]


async def test_checkin_stuck_reported_to_recorder(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    recorder = harness.facilitator.id
    await add_action(harness, "Visit the Pune mandi", dt.date(2026, 3, 1), created_by=recorder)
    await add_action(harness, "Draft a business plan", dt.date(2026, 3, 2), created_by=recorder)
    await add_action(harness, "Call the bank", dt.date(2026, 3, 3))
    await add_action(harness, "Train FPO boards", dt.date(2026, 3, 4), created_by=recorder)

    saved = await file_checkin(
        harness,
        asha,
        actions=("stuck", "stuck", "stuck", "done"),
        reasons=("The mandi committee has not replied",),
    )
    assert "is saved" in saved.text

    reports = stuck_reports(harness)
    assert len(reports) == 2
    with_reason, without_reason = reports
    assert f"{PRADAN} is stuck on a follow-up action: Visit the Pune mandi" in with_reason.text
    assert "Reason: The mandi committee has not replied" in with_reason.text
    assert "Marked by Asha Patil in the progress update for Mar 2026" in with_reason.text
    assert "Draft a business plan" in without_reason.text
    assert "No reason was given." in without_reason.text

    # An amendment that leaves the actions stuck reports nothing again.
    await say(harness, asha, "/checkin")
    amended = await tap(harness, asha, label("forms", "confirm"))
    assert amended.text == render(
        "progress/saved",
        month="Mar 2026",
        bso=PRADAN,
        created=False,
        merged=False,
        changed=[],
        actions=[],
        skipped=[],
        filing=None,
        offer_ask=False,
    )
    assert "Nothing was saved, because your answers are the same" in amended.text
    assert len(stuck_reports(harness)) == 2
    assert harness.errors == []


async def test_stuck_not_reported_when_save_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    await add_action(harness, "Visit the Pune mandi", None, created_by=harness.facilitator.id)

    await say(harness, asha, "/checkin")
    await tap(harness, asha, field_label("status_stuck"))
    await say(harness, asha, "The mandi committee has not replied")
    await say(harness, asha, "Met two buyers")
    await say(harness, asha, "/skip")
    await say(harness, asha, "/skip")
    await fill_numbers(harness, asha)
    await say(harness, harness.facilitator, "/progress")
    await tap(harness, harness.facilitator, month_button("close", "Mar 2026"))
    await tap(harness, harness.facilitator, month_button("close_yes", "Mar 2026"))

    rejected = await tap(harness, asha, label("forms", "confirm"))

    assert "closed Mar 2026 while you were filling in the form" in rejected.text
    assert stuck_reports(harness) == []
    assert harness.errors == []


# --- Counts and their units -----------------------------------------------------------------


async def test_counts_of_one_are_singular(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    await say(harness, asha, "/checkin")
    await say(harness, asha, "Trained one FPO board")
    await say(harness, asha, "/skip")
    await say(harness, asha, "/skip")
    summary = await fill_numbers(harness, asha, ("1", "1 buyer", "1 tonne", "1", "1 woman"))

    for shown in ("1 FPO", "1 buyer", "1 tonne", "1 woman"):
        assert f": {shown}\n" in summary.text + "\n", shown
    for wrong in ("1 FPOs", "1 buyers", "1 tonnes", "1 women"):
        assert wrong not in summary.text, wrong
    await tap(harness, asha, label("forms", "confirm"))

    overview = await say(harness, harness.facilitator, "/progress")
    assert "1 of 14 BSOs has filed" in overview.text
    assert "FPOs supported: 1 FPO\n" in overview.text
    assert "Women members reached: 1 woman" in overview.text
    assert harness.errors == []


# --- A BSO's full update --------------------------------------------------------------------

TOKEN_RE = re.compile(r"\b[ACS]\d{3}\b")


def long_answer(prefix: str, limit: int) -> tuple[str, list[str]]:
    """Build an answer of at most `limit` characters of numbered tokens, and the tokens.

    The tokens are followed by characters that HTML escapes, so the message grows well
    beyond the answer's own length.
    """
    tokens: list[str] = []
    text = ""
    while True:
        token = f"{prefix}{len(tokens):03d}"
        separator = "\n" if len(tokens) % 6 == 5 else " "
        piece = f"{token}<&>&<>&{separator}"
        if len(text) + len(piece) > limit:
            return text.strip(), tokens
        text += piece
        tokens.append(token)


async def report_pages(harness: SandboxHarness, first: BotMessage) -> list[str]:
    """Return the text of each page of the full update on `first`, pressing Next page.

    Every page is edited into the same message, so each text is copied before the next press.
    """
    pages = [first.text]
    while label("progress", "next_page") in first.button_texts():
        first = await tap(harness, harness.facilitator, label("progress", "next_page"))
        pages.append(first.text)
    return pages


async def test_full_update_shows_every_answer(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    ravi = await approved_poc(harness, "ravi", "Ravi Kumar")
    await add_action(harness, "Visit the Pune mandi", None)
    actions_taken, action_tokens = long_answer("A", 1500)
    challenges, challenge_tokens = long_answer("C", 1000)
    support, support_tokens = long_answer("S", 1500)
    await file_checkin(
        harness,
        asha,
        actions=("stuck",),
        reasons=("The mandi committee has not replied",),
        actions_taken=actions_taken,
        challenges=challenges,
        support=support,
    )
    harness.clock.advance(dt.timedelta(days=1))
    await say(harness, ravi, "/checkin")
    await tap(harness, ravi, edit_button("women_reached"))
    await say(harness, ravi, "55")
    await tap(harness, ravi, label("forms", "confirm"))

    facilitator = harness.facilitator
    overview = await say(harness, facilitator, "/progress")
    report_button = label("progress", "bso_report", bso="PRADAN")
    assert report_button in overview.button_texts()
    first = await tap(harness, facilitator, report_button)
    assert first.message_id == overview.message_id
    pages = await report_pages(harness, first)

    assert len(pages) > 1
    assert f"Page 1 of {len(pages)}" in pages[0]
    for page in pages:
        assert utf16_length(page) <= MESSAGE_LIMIT
    shown = "\n".join(pages)
    assert TOKEN_RE.findall(shown) == action_tokens + challenge_tokens + support_tokens
    # The escaped answer of the actions is too long for one message, so it is split.
    assert f"{field_label('actions_taken')} (continued)" in shown
    assert "filed by Asha Patil on 10 Mar 2026, 11:30" in pages[0]
    assert "last by Ravi Kumar on 11 Mar 2026" in pages[0]
    assert field_label("challenges") in shown
    assert "Women members reached: 55 women" in shown
    assert (
        "Follow-up “Visit the Pune mandi”: Stuck. Reason: The mandi committee has not replied"
        in shown
    )
    assert "✏️ Ravi Kumar, 11 Mar 2026, 11:30: Women members reached" in shown

    back = await tap(harness, facilitator, month_button("back", "Mar 2026"))
    assert back.message_id == overview.message_id
    assert "Progress updates for Mar 2026" in back.text
    assert harness.errors == []


async def test_full_update_from_history(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    challenges = "Late rains delayed the harvest. " * 20
    await file_checkin(harness, asha, challenges=challenges.strip())

    facilitator = harness.facilitator
    await say(harness, facilitator, "/progress")
    history = await tap(harness, facilitator, "PRADAN")
    assert "Challenges: Late rains delayed the harvest." in history.text
    month_report = label("progress", "month_report", month="Mar 2026")
    assert month_report in history.button_texts()

    report = await tap(harness, facilitator, month_report)
    assert challenges.strip() in report.text
    assert "Page 1 of" not in report.text
    back = await tap(harness, facilitator, label("progress", "back_history", bso="PRADAN"))
    assert back.message_id == history.message_id
    assert f"{PRADAN}: progress month by month" in back.text
    assert harness.errors == []


async def test_forged_report_buttons_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, "asha", "Asha Patil")
    await file_checkin(harness, asha)
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        pradan = await session.scalar(select(Bso).where(Bso.short_name == "PRADAN"))
        other = await session.scalar(select(Bso).where(Bso.short_name != "PRADAN"))
    assert pradan is not None and other is not None

    update = await press(harness, asha, ProgressReportPage(month=202603, bso_id=pradan.id).pack())
    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert answer["text"] == render("common/facilitators_only")

    facilitator = harness.facilitator
    await say(harness, facilitator, "/progress")
    cases = [
        (f"pr1:202604:{pradan.id}:0:month:202603:0", "progress/month_invalid"),
        (f"pr1:202603:{pradan.id}:0:month:202604:0", "progress/month_invalid"),
        (f"pr1:202603:{pradan.id}:0:month:199912:0", "progress/month_invalid"),
        (f"pr1:202603:{pradan.id}:0:close_yes:202603:0", "progress/month_invalid"),
        ("pr1:202603:999999:0:month:202603:0", "progress/bso_unknown"),
        (f"pr1:202603:{other.id}:0:month:202603:0", "progress/report_gone"),
        (f"pr1:202602:{pradan.id}:0:month:202603:0", "progress/report_gone"),
    ]
    for data, template in cases:
        update = await press(harness, facilitator, data)
        answer = callback_answer_for(harness, update)
        assert answer is not None, data
        assert answer["text"] == render(template), data
    assert harness.errors == []
