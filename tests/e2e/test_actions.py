"""Follow-up actions through the sandbox: recording, listing, status buttons and who may press them."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from e2e_helpers import (
    TEXTS,
    Answers,
    callback_answer_for,
    decide,
    label,
    load_person,
    register,
    render,
    say,
    tap,
)
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from bot.texts import MESSAGE_LIMIT, utf16_length
from handlers.callbacks import ActionsPage, ActionStatus
from storage import actions as action_store
from storage import people
from storage.models import Bso, FollowUpAction

# 1 December 2026, 11:30 in Kolkata.
START = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
TITLE = "Share the onion buyer list with Vrutti"


def action_button(op: str, number: int = 1, locale: str = "en") -> str:
    return TEXTS.label(locale, "actions", op, number=number)


async def approved_poc(
    harness: SandboxHarness, name: str = "asha", bso: str = "PRADAN", locale: str = "en"
) -> SandboxUser:
    user = harness.server.user(name)
    review = await register(harness, user, Answers(name=name.title(), bso=bso, language=locale))
    await decide(harness, review, "approve")
    return user


async def record_action(
    harness: SandboxHarness,
    title: str = TITLE,
    *,
    bso: str = "PRADAN",
    theme: str = "market_access",
    due: str | None = "15/12",
) -> BotMessage:
    """Fill /action as the facilitator and confirm; return the facilitator's last message."""
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, title)
    await tap(harness, facilitator, bso)
    await tap(harness, facilitator, label("themes", theme))
    await say(harness, facilitator, "/skip" if due is None else due)
    return await tap(harness, facilitator, label("forms", "confirm"))


async def load_actions(harness: SandboxHarness) -> list[FollowUpAction]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list(
            (await session.scalars(select(FollowUpAction).order_by(FollowUpAction.id))).all()
        )


async def bso_id(harness: SandboxHarness, short_name: str) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        found = await session.scalar(select(Bso.id).where(Bso.short_name == short_name))
    assert found is not None
    return found


async def add_actions(
    harness: SandboxHarness, bso_short_name: str, titles: list[str], due_on: dt.date | None = None
) -> None:
    """Insert open actions for a BSO directly, for tests about the list rather than the form."""
    assert harness.app is not None
    owner = await bso_id(harness, bso_short_name)
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(session, name="x", timezone="Asia/Kolkata")
        for title in titles:
            await action_store.add_action(
                session,
                community_id=community.id,
                bso_id=owner,
                theme_id=None,
                title=title,
                due_on=due_on,
                created_by=harness.facilitator.id,
            )


async def press(harness: SandboxHarness, user: SandboxUser, text: str) -> dict:
    """Press a button in the user's private chat; return the bot's answerCallbackQuery parameters."""
    update = await harness.server.press(user, harness.server.private_chat(user), text)
    await harness.server.wait_idle()
    answer = callback_answer_for(harness, update)
    assert answer is not None, "the bot did not answer the callback"
    return answer


async def forge(harness: SandboxHarness, user: SandboxUser, anchor: BotMessage, data: str) -> dict:
    """Send callback data no button carries from a message in the user's private chat."""
    chat = harness.server.private_chat(user)
    update = await harness.server.press_data(user, chat, anchor.message_id, data)
    await harness.server.wait_idle()
    answer = callback_answer_for(harness, update)
    assert answer is not None, "the bot did not answer the forged callback"
    return answer


# --- Recording ----------------------------------------------------------------------------------


async def test_action_recorded_and_poc_notified(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)

    reply = await record_action(harness)

    actions = await load_actions(harness)
    assert len(actions) == 1
    assert actions[0].title == TITLE
    assert actions[0].due_on == dt.date(2026, 12, 15)
    assert actions[0].status == "open"
    assert actions[0].created_by == harness.facilitator.id
    assert actions[0].theme is not None and actions[0].theme.key == "market_access"
    assert "saved for Professional Assistance for Development Action" in reply.text
    assert "1 Point of Contact told in private" in reply.text
    notice = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert TITLE in notice.text
    assert "Due: 15 Dec 2026" in notice.text
    assert harness.errors == []


async def test_notice_in_poc_language(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, locale="hi")

    await record_action(harness)

    notice = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert "नया फ़ॉलो-अप काम" in notice.text
    assert "15 दिस॰ 2026" in notice.text


async def test_blocked_poc_counted_and_marked(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    # Blocked without the bot seeing the update, so it learns of it from the 403.
    asha.blocked = True

    reply = await record_action(harness)

    person = await load_person(harness, asha)
    assert "1 message to Points of Contact could not be delivered" in reply.text
    assert person is not None
    assert person.private_chat_open is False
    assert len(await load_actions(harness)) == 1
    assert harness.errors == []


async def test_poc_seen_blocking_counted_as_unreachable(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    harness.server.block(asha)
    await harness.server.wait_idle()

    person = await load_person(harness, asha)
    assert person is not None and person.private_chat_open is False
    reply = await record_action(harness)

    assert "has not opened a private chat with me yet" in reply.text
    assert "could not be delivered" not in reply.text
    harness.server.unblock(asha)
    await harness.server.wait_idle()
    person = await load_person(harness, asha)
    assert person is not None and person.private_chat_open is True
    assert harness.errors == []


async def test_action_without_poc_or_due_date(harness: SandboxHarness) -> None:
    harness.clock.set(START)

    reply = await record_action(harness, bso="Vrutti", due=None)

    actions = await load_actions(harness)
    assert actions[0].due_on is None
    assert "no approved Point of Contact yet" in reply.text


async def test_action_command_facilitators_only(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness)

    reply = await say(harness, asha, "/action")

    assert reply.html == render("common/facilitators_only")
    assert await load_actions(harness) == []


async def test_due_date_in_past_or_impossible_reasked(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, TITLE)
    await tap(harness, facilitator, "PRADAN")
    await tap(harness, facilitator, label("themes", "finance"))

    past = await say(harness, facilitator, "30/11/2026")
    impossible = await say(harness, facilitator, "31/02")
    words = await say(harness, facilitator, "someday")
    summary = await say(harness, facilitator, "tomorrow")

    assert "“30/11/2026” is outside the allowed dates" in past.text
    assert "a date from 1 Dec 2026 to 1 Dec 2028" in past.text
    assert "By when should it be done?" in past.text
    assert "“31/02” is not a real date: February has at most 29 days" in impossible.text
    assert "could not read “someday” as a date" in words.text
    assert "2 Dec 2026" in summary.text
    assert harness.errors == []


async def test_due_date_bounded_to_two_years(harness: SandboxHarness) -> None:
    # 5 December 2026 in Kolkata.
    harness.clock.set(dt.datetime(2026, 12, 5, 6, 0, tzinfo=dt.UTC))
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, TITLE)
    await tap(harness, facilitator, "PRADAN")

    question = await tap(harness, facilitator, label("themes", "finance"))
    far = await say(harness, facilitator, "5/12/2099")
    past_limit = await say(harness, facilitator, "6/12/2028")
    summary = await say(harness, facilitator, "5/12/2028")

    assert "15/12/2026" in question.text
    assert "up to 2 years ahead" in question.text
    assert "“5/12/2099” is outside the allowed dates" in far.text
    assert "a date from 5 Dec 2026 to 5 Dec 2028" in far.text
    assert "“6/12/2028” is outside the allowed dates" in past_limit.text
    assert "Due date:</b> 5 Dec 2028 (the year after next)" in (summary.html or "")
    assert harness.errors == []


async def test_due_date_without_year_in_next_year(harness: SandboxHarness) -> None:
    # 5 December 2026 in Kolkata: "4/12" is next year's 4 December.
    harness.clock.set(dt.datetime(2026, 12, 5, 6, 0, tzinfo=dt.UTC))
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, TITLE)
    await tap(harness, facilitator, "PRADAN")

    question = await tap(harness, facilitator, label("themes", "finance"))
    next_year = await say(harness, facilitator, "4/12")
    due_label = TEXTS.label("en", "actions/new", "due")
    await tap(harness, facilitator, TEXTS.label("en", "forms", "edit", field=due_label))
    this_year = await say(harness, facilitator, "20/12")

    assert "15/12/2026" in question.text
    assert "Due date:</b> 4 Dec 2027 (next year)" in (next_year.html or "")
    assert "Due date:</b> 20 Dec 2026\n" in (this_year.html or "")
    assert "(next year)" not in this_year.text
    assert harness.errors == []


async def test_due_question_example_next_year(harness: SandboxHarness) -> None:
    # 20 December 2026 in Kolkata: the example 15 December is next year's.
    harness.clock.set(dt.datetime(2026, 12, 20, 6, 0, tzinfo=dt.UTC))
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, TITLE)
    await tap(harness, facilitator, "PRADAN")

    question = await tap(harness, facilitator, label("themes", "finance"))

    assert "15/12/2027" in question.text
    assert "15 Dec 2027" in question.text


async def test_due_date_typed_in_hindi(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, TITLE)
    await tap(harness, facilitator, "PRADAN")
    await tap(harness, facilitator, label("themes", "finance"))

    devanagari = await say(harness, facilitator, "२० दिसंबर")
    due_label = TEXTS.label("en", "actions/new", "due")
    await tap(harness, facilitator, TEXTS.label("en", "forms", "edit", field=due_label))
    tomorrow = await say(harness, facilitator, "कल")
    await tap(harness, facilitator, label("forms", "confirm"))

    assert "20 Dec 2026" in devanagari.text
    assert "2 Dec 2026" in tomorrow.text
    actions = await load_actions(harness)
    assert actions[0].due_on == dt.date(2026, 12, 2)


async def test_due_date_passed_before_confirm(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")
    await say(harness, facilitator, TITLE)
    await tap(harness, facilitator, "PRADAN")
    await tap(harness, facilitator, label("themes", "finance"))
    await say(harness, facilitator, "today")
    harness.clock.set(START + dt.timedelta(days=1))

    rejected = await tap(harness, facilitator, label("forms", "confirm"))
    due_question = await say(harness, facilitator, "/back")
    summary = await say(harness, facilitator, "5/12")
    await tap(harness, facilitator, label("forms", "confirm"))

    assert rejected.html == render("actions/due_past", due=dt.date(2026, 12, 1))
    assert "By when should it be done?" in due_question.text
    assert "5 Dec 2026" in summary.text
    actions = await load_actions(harness)
    assert [action.due_on for action in actions] == [dt.date(2026, 12, 5)]


async def test_many_bsos_typed_not_buttons(harness: SandboxHarness) -> None:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(session, name="x", timezone="Asia/Kolkata")
        for number in range(1, 12):
            await people.ensure_bso(session, community.id, f"Kisan Sahayog {number}", None)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/action")

    question = await say(harness, facilitator, TITLE)
    unknown = await say(harness, facilitator, "Nobody Foundation")
    themes = await say(harness, facilitator, "watershed organisation")

    assert "Type its name or short name" in question.text
    assert "PRADAN" not in question.button_texts()
    assert "is not one of the options" in unknown.text
    assert "Which theme" in themes.text


# --- Listing and changing -----------------------------------------------------------------------


async def test_poc_marks_action_done(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)

    listed = await say(harness, asha, "/actions")
    listed_text = listed.text
    answer = await press(harness, asha, action_button("done"))
    again = await forge(
        harness,
        asha,
        listed,
        ActionStatus(op="done", action_id=(await load_actions(harness))[0].id).pack(),
    )

    assert TITLE in listed_text
    assert "due 15 Dec 2026" in listed_text
    assert "overdue" not in listed_text
    assert answer["text"] == TEXTS.bind("en").alert("actions/marked", title=TITLE, status="Done")
    action = (await load_actions(harness))[0]
    assert action.status == "done"
    assert action.done_at is not None
    person = await load_person(harness, asha)
    assert person is not None and action.updated_by == person.id
    updated = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert updated.message_id == listed.message_id
    assert "No open actions" in updated.text
    assert "Closed in the last 30 days" in updated.text
    assert "(done 1 Dec 2026)" in updated.text
    assert again["show_alert"] is True
    assert "already marked done" in again["text"]
    assert harness.errors == []


async def test_poc_marks_action_in_progress(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    await say(harness, asha, "/actions")

    await press(harness, asha, action_button("in_progress"))

    updated = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert "In progress" in updated.text
    assert action_button("in_progress") not in updated.button_texts()
    assert action_button("done") in updated.button_texts()
    assert (await load_actions(harness))[0].status == "in_progress"


async def test_poc_marks_action_stuck_with_reason(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    listed = await say(harness, asha, "/actions")

    await press(harness, asha, action_button("stuck"))
    question = harness.server.last_bot_message(harness.server.private_chat(asha))
    second = await forge(
        harness,
        asha,
        listed,
        ActionStatus(op="stuck", action_id=(await load_actions(harness))[0].id).pack(),
    )
    summary = await say(harness, asha, "Waiting for the buyer's quality specs")
    saved = await tap(harness, asha, label("forms", "confirm"))
    listed_again = await say(harness, asha, "/actions")

    assert f"What is blocking “{TITLE}”?" in question.text
    assert second["text"] == TEXTS.bind("en").alert("actions/stuck_asked")
    assert "Waiting for the buyer's quality specs" in summary.text
    assert "Marked as stuck" in saved.text
    action = (await load_actions(harness))[0]
    assert action.status == "stuck"
    assert action.stuck_reason == "Waiting for the buyer's quality specs"
    assert "Stuck because: Waiting for the buyer's quality specs" in listed_again.text
    report = harness.server.last_bot_message(harness.server.private_chat(harness.facilitator))
    assert "is stuck on a follow-up action" in report.text
    assert "Waiting for the buyer's quality specs" in report.text
    assert harness.errors == []


async def test_stuck_waits_for_open_form(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    await say(harness, asha, "/actions")
    await say(harness, asha, "/ask")

    answer = await press(harness, asha, action_button("stuck"))

    assert answer["text"] == TEXTS.bind("en").alert("actions/finish_first")
    assert (await load_actions(harness))[0].status == "open"


async def test_poc_drops_action_after_confirming(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    listed = await say(harness, asha, "/actions")

    await press(harness, asha, action_button("drop"))
    question = harness.server.last_bot_message(harness.server.private_chat(asha))
    question_text = question.text
    await press(harness, asha, label("actions", "drop_keep"))
    kept = harness.server.last_bot_message(harness.server.private_chat(asha))
    kept_text, kept_buttons = kept.text, kept.button_texts()
    status_after_keep = (await load_actions(harness))[0].status
    await press(harness, asha, action_button("drop"))
    await press(harness, asha, label("actions", "drop_yes"))
    action_id = (await load_actions(harness))[0].id
    again = await forge(
        harness, asha, listed, ActionStatus(op="drop_yes", action_id=action_id).pack()
    )

    assert question.message_id == listed.message_id
    assert f"Drop “{TITLE}”?" in question_text
    assert status_after_keep == "open"
    assert TITLE in kept_text
    assert action_button("drop") in kept_buttons
    assert (await load_actions(harness))[0].status == "dropped"
    dropped = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert "(dropped 1 Dec 2026)" in dropped.text
    assert "already marked dropped" in again["text"]
    assert harness.errors == []


async def test_overdue_marked_after_due_date(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness, due="3/12")

    on_due_date = await say(harness, asha, "/actions")
    # 20:00 UTC on 3 December is already 4 December in Kolkata.
    harness.clock.set(dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC))
    after = await say(harness, asha, "/actions")

    assert "overdue" not in on_due_date.text
    assert "1 open, 1 overdue" in after.text
    assert "due 3 Dec 2026 · ⏰ overdue" in after.text


async def test_overdue_listed_before_later_actions(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await add_actions(harness, "PRADAN", ["No date"])
    await add_actions(harness, "PRADAN", ["Later"], due_on=dt.date(2026, 12, 20))
    await add_actions(harness, "PRADAN", ["Late"], due_on=dt.date(2026, 11, 20))

    listed = await say(harness, asha, "/actions")

    assert listed.text.index("Late") < listed.text.index("Later") < listed.text.index("No date")
    assert "1. Late" in listed.text


async def test_other_bso_forged_callback_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    await approved_poc(harness)
    ravi = await approved_poc(harness, "ravi", bso="Vrutti")
    await record_action(harness)
    action_id = (await load_actions(harness))[0].id
    vrutti = await bso_id(harness, "Vrutti")
    pradan = await bso_id(harness, "PRADAN")
    own_list = await say(harness, ravi, "/actions")

    answers = [
        await forge(
            harness, ravi, own_list, ActionStatus(op=op, action_id=action_id, scope=vrutti).pack()
        )
        for op in ("done", "in_progress", "stuck", "drop", "drop_yes")
    ]
    page = await forge(harness, ravi, own_list, ActionsPage(scope=pradan).pack())
    every_bso = await forge(harness, ravi, own_list, ActionsPage(scope=0).pack())

    not_yours = TEXTS.bind("en").alert("actions/not_yours")
    assert TITLE not in own_list.text
    assert [answer["text"] for answer in answers] == [not_yours] * 5
    assert page["text"] == not_yours
    assert every_bso["text"] == not_yours
    assert (await load_actions(harness))[0].status == "open"
    assert harness.server.last_bot_message(harness.server.private_chat(ravi)).text == own_list.text
    assert harness.errors == []


async def test_forged_unknown_action_and_op(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness)
    listed = await say(harness, asha, "/actions")

    missing = await forge(harness, asha, listed, ActionStatus(op="done", action_id=999).pack())
    bad_op = await forge(harness, asha, listed, "ac1:reopen:1:0:0")
    huge = await forge(harness, asha, listed, "ac1:done:99999999999999:0:0")

    assert missing["text"] == TEXTS.bind("en").alert("actions/not_found")
    assert bad_op["text"] == TEXTS.bind("en").alert("common/button_unknown")
    assert huge["text"] == TEXTS.bind("en").alert("common/button_unknown")
    assert harness.errors == []


async def test_actions_for_pocs_only(harness: SandboxHarness) -> None:
    newcomer = harness.server.user("newcomer")
    pending = harness.server.user("pending")
    await register(harness, pending, Answers(name="Pending Person"))

    stranger = await say(harness, newcomer, "/actions")
    waiting = await say(harness, pending, "/actions")

    assert stranger.html == render("asks/pocs_only", command="/actions")
    assert waiting.html == render("asks/pending_only", command="/actions")


async def test_facilitator_sees_every_bso_grouped(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    await add_actions(harness, "Vrutti", ["Vrutti task"], due_on=dt.date(2026, 11, 30))
    await add_actions(harness, "PRADAN", ["PRADAN task"])
    facilitator = harness.facilitator

    listed = await say(harness, facilitator, "/actions")
    listed_text = listed.text
    await press(harness, facilitator, action_button("done", 2))

    assert "Open follow-up actions of all BSOs" in listed_text
    assert "— PRADAN —" in listed_text
    assert "— Vrutti —" in listed_text
    assert listed_text.index("PRADAN task") < listed_text.index("Vrutti task")
    assert "2 open, 1 overdue" in listed_text
    assert "due 30 Nov 2026 · ⏰ overdue" in listed_text
    statuses = {action.title: action.status for action in await load_actions(harness)}
    assert statuses == {"Vrutti task": "done", "PRADAN task": "open"}
    updated = harness.server.last_bot_message(harness.server.private_chat(facilitator))
    assert "Vrutti task" not in updated.text


async def test_list_pages_and_fits_message(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    titles = [f"{number} " + "x" * 190 for number in range(1, 8)]
    await add_actions(harness, "PRADAN", titles, due_on=dt.date(2026, 11, 1))
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        for action in await session.scalars(select(FollowUpAction)):
            action_store.set_status(action, "stuck", None, reason="r" * 500)

    first = await say(harness, asha, "/actions")
    first_text, first_html = first.text, first.html or ""
    await press(harness, asha, label("actions", "next"))
    second = harness.server.last_bot_message(harness.server.private_chat(asha))
    second_text, second_buttons = second.text, second.button_texts()
    await press(harness, asha, label("actions", "previous"))
    back = harness.server.last_bot_message(harness.server.private_chat(asha))

    assert "page 1 of 2" in first_text
    assert "5. 5 xxx" in first_text
    assert "6. 6 xxx" not in first_text
    assert utf16_length(first_html) <= MESSAGE_LIMIT
    assert "page 2 of 2" in second_text
    assert "7. 7 xxx" in second_text
    assert label("actions", "next") not in second_buttons
    assert "page 1 of 2" in back.text
    assert harness.errors == []


async def test_facilitator_list_fits_with_long_names(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(session, name="x", timezone="Asia/Kolkata")
        for number in range(5):
            bso = await people.ensure_bso(session, community.id, f"{number} " + "B" * 195, None)
            action = await action_store.add_action(
                session,
                community_id=community.id,
                bso_id=bso.id,
                theme_id=None,
                title="प" * 200,
                due_on=dt.date(2026, 11, 1),
                created_by=None,
            )
            action_store.set_status(action, "stuck", None, reason="क" * 500)

    listed = await say(harness, harness.facilitator, "/actions")

    assert "— 4 BBBB" in listed.text
    assert utf16_length(listed.html or "") <= MESSAGE_LIMIT
    assert harness.errors == []


async def test_hindi_list_and_buttons(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness, locale="hi")
    await record_action(harness, due="3/12")
    harness.clock.set(START + dt.timedelta(days=3))

    listed = await say(harness, asha, "/actions")
    listed_text, listed_html = listed.text, listed.html or ""
    listed_buttons = listed.button_texts()
    progress = await press(harness, asha, action_button("in_progress", locale="hi"))
    await press(harness, asha, action_button("drop", locale="hi"))
    question = harness.server.last_bot_message(harness.server.private_chat(asha))
    question_text, question_buttons = question.text, question.button_texts()
    await press(harness, asha, label("actions", "drop_yes", "hi"))
    closed = harness.server.last_bot_message(harness.server.private_chat(asha))

    assert "के फ़ॉलो-अप काम" in listed_text
    assert "1 खुला काम, " in listed_text
    assert "अंतिम तारीख़ निकल चुकी" in listed_text
    assert "<i>खुला</i>" in listed_html
    assert listed_buttons == ["1 ✅ पूरा", "1 ⏳ जारी", "1 🚧 अटका", "1 ✖️ बंद करें"]
    assert progress["text"] == TEXTS.bind("hi").alert("actions/marked", title=TITLE, status="जारी")
    assert "बंद करें?" in question_text
    assert "छोड़" not in question_text
    assert question_buttons == ["✖️ हाँ, बंद करें", "खुला रखें"]
    assert "को बंद किया)" in closed.text
    assert "छोड़" not in closed.text


async def test_double_tap_done_applies_once(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    listed = await say(harness, asha, "/actions")
    data = ActionStatus(op="done", action_id=(await load_actions(harness))[0].id).pack()
    chat = harness.server.private_chat(asha)

    first = await harness.server.press_data(asha, chat, listed.message_id, data)
    second = await harness.server.press_data(asha, chat, listed.message_id, data)
    await harness.server.wait_idle()

    answers = [callback_answer_for(harness, update) for update in (first, second)]
    assert answers[0] is not None and answers[1] is not None
    assert answers[0]["text"] == TEXTS.bind("en").alert(
        "actions/marked", title=TITLE, status="Done"
    )
    assert "already marked done" in answers[1]["text"]
    action = (await load_actions(harness))[0]
    assert action.status == "done"
    assert harness.errors == []


async def test_actions_private_only(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    group = harness.server.group("PRADAN team", added_by=asha)
    await harness.server.wait_idle()
    action_id = (await load_actions(harness))[0].id

    poc_reply = await say(harness, asha, "/actions", chat=group)
    facilitator_reply = await say(harness, harness.facilitator, "/actions", chat=group)
    update = await harness.server.press_data(
        asha, group, poc_reply.message_id, ActionStatus(op="stuck", action_id=action_id).pack()
    )
    page = await harness.server.press_data(
        harness.facilitator, group, poc_reply.message_id, ActionsPage(scope=0).pack()
    )
    await harness.server.wait_idle()

    assert poc_reply.html == render("actions/private_only")
    assert facilitator_reply.html == render("actions/private_only")
    assert TITLE not in facilitator_reply.text
    private_only = TEXTS.bind("en").alert("actions/private_only")
    for pressed in (update, page):
        answer = callback_answer_for(harness, pressed)
        assert answer is not None
        assert answer["text"] == private_only
    assert (await load_actions(harness))[0].status == "open"
    assert harness.errors == []


async def test_unapproved_press_gets_reason(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    action_id = (await load_actions(harness))[0].id
    newcomer = harness.server.user("newcomer")
    pending = harness.server.user("pending")
    await register(harness, pending, Answers(name="Pending Person"))
    group = harness.server.group("PRADAN team", added_by=asha)
    await harness.server.wait_idle()
    anchor = await say(harness, asha, "/actions", chat=group)
    own_chat = await say(harness, newcomer, "/actions")
    data = ActionStatus(op="done", action_id=action_id).pack()

    in_group = await harness.server.press_data(newcomer, group, anchor.message_id, data)
    in_private = await harness.server.press_data(
        newcomer, harness.server.private_chat(newcomer), own_chat.message_id, data
    )
    waiting = await harness.server.press_data(pending, group, anchor.message_id, data)
    paging = await harness.server.press_data(
        newcomer, group, anchor.message_id, ActionsPage(scope=0).pack()
    )
    await harness.server.wait_idle()

    texts = TEXTS.bind("en")
    pocs_only = texts.alert("asks/pocs_only", command="/actions")
    for update in (in_group, in_private, paging):
        answer = callback_answer_for(harness, update)
        assert answer is not None
        assert answer["text"] == pocs_only
    waiting_answer = callback_answer_for(harness, waiting)
    assert waiting_answer is not None
    assert waiting_answer["text"] == texts.alert("asks/pending_only", command="/actions")
    assert (await load_actions(harness))[0].status == "open"
    assert harness.errors == []


async def test_facilitator_marks_stuck(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/actions")

    await press(harness, facilitator, action_button("stuck"))
    await say(harness, facilitator, "Buyer has not replied")
    saved = await tap(harness, facilitator, label("forms", "confirm"))

    action = (await load_actions(harness))[0]
    assert action.status == "stuck"
    assert saved.html == render("actions/stuck_saved_facilitator", action=action, bso=action.bso)
    assert "Professional Assistance for Development Action" in saved.text
    assert "The facilitator can see it" not in saved.text
    listed = await say(harness, asha, "/actions")
    assert "Stuck because: Buyer has not replied" in listed.text
    assert harness.errors == []


async def test_double_tap_drop_quiet(
    harness: SandboxHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.clock.set(START)
    asha = await approved_poc(harness)
    await record_action(harness)
    listed = await say(harness, asha, "/actions")
    data = ActionStatus(op="drop", action_id=(await load_actions(harness))[0].id).pack()
    chat = harness.server.private_chat(asha)
    caplog.set_level(logging.DEBUG, logger="handlers.actions")

    first = await harness.server.press_data(asha, chat, listed.message_id, data)
    second = await harness.server.press_data(asha, chat, listed.message_id, data)
    await harness.server.wait_idle()

    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "handlers.actions" and record.levelno >= logging.WARNING
    ]
    assert warnings == []
    assert any("already shown" in record.getMessage() for record in caplog.records)
    for update in (first, second):
        assert callback_answer_for(harness, update) is not None
    question = harness.server.last_bot_message(chat)
    assert f"Drop “{TITLE}”?" in question.text
    assert (await load_actions(harness))[0].status == "open"
    assert harness.errors == []
