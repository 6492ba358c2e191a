"""Progress check-ins through the sandbox: filing, amending, closing months and /progress."""

from __future__ import annotations

import datetime as dt

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
from handlers.callbacks import CheckinStart, ProgressView
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


async def add_action(harness: SandboxHarness, title: str, due_on: dt.date | None) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=harness.settings.community_name, timezone="Asia/Kolkata"
        )
        bso = await session.scalar(select(Bso).where(Bso.short_name == "PRADAN"))
        assert bso is not None
        action = FollowUpAction(
            community_id=community.id, bso_id=bso.id, title=title, due_on=due_on, status="open"
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
    support: str | None = None,
) -> BotMessage:
    """Run /checkin as a first filing and confirm it; return the confirmation."""
    await say(harness, user, "/checkin")
    for status in actions:
        await tap(harness, user, field_label(f"status_{status}"))
        if status == "stuck":
            await say(harness, user, "/skip")
    await say(harness, user, "Trained 3 FPO boards on GST filing")
    await say(harness, user, "Late rains delayed the harvest")
    if support is None:
        await say(harness, user, "/skip")
    else:
        await say(harness, user, support)
    summary = await fill_numbers(harness, user)
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

    assert reply.html == render("progress/private_only")
    assert PRADAN not in reply.text
    assert harness.errors == []
