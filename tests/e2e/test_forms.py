"""The form runner through the sandbox, with /ask as the form: what real people do mid-form.

Two people at once in one group, restarts, stickers and edits, typed answers, navigation,
double taps, expiry, other people's and forged buttons, and state kept in Redis.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from e2e_form_helpers import (
    alert_of,
    approved_poc,
    button_data,
    contains,
    contributions,
    form_data_of,
    form_state_of,
    press_on,
    question_to,
    questions_to,
    reply,
    sent_markups,
    set_form_data,
    theme_key,
)
from e2e_helpers import TEXTS, label, render, say, tap

from bot.config import load_settings
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from handlers import forms
from handlers.callbacks import FormButton
from handlers.forms import FORM_STATE

# A database index of its own, emptied before each test that uses it.
REDIS_URL = "redis://127.0.0.1:6379/11"
TITLE = "Working capital for onion aggregation"
DESCRIPTION = "Our FPOs need 20 lakh before the rabi harvest."


# --- Helpers ---------------------------------------------------------------------------------


async def fill_to_urgency(harness: SandboxHarness, user: SandboxUser) -> None:
    """In private chat, start /ask and answer up to the urgency question."""
    await say(harness, user, "/ask")
    await tap(harness, user, label("themes", "finance"))
    await say(harness, user, TITLE)
    await say(harness, user, DESCRIPTION)
    await say(harness, user, "onion")
    await say(harness, user, "/skip")


async def fill_to_summary(harness: SandboxHarness, user: SandboxUser) -> BotMessage:
    await fill_to_urgency(harness, user)
    await tap(harness, user, label("asks", "high"))
    await say(harness, user, "peer, expert")
    summary = await tap(harness, user, label("forms", "no"))
    assert summary.button_texts()[-2:] == [label("forms", "confirm"), label("forms", "cancel")]
    return summary


# --- Two people in one group -------------------------------------------------------------------


async def test_two_pocs_fill_ask_in_one_group(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", "PRADAN")
    bob = await approved_poc(harness, "bob", "SRIJAN")
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()

    await say(harness, asha, "/ask", chat=group)
    await say(harness, bob, "/ask", chat=group)
    await press_on(
        harness, asha, group, question_to(harness, group, asha), label("themes", "finance")
    )
    await reply(harness, bob, group, "technology")
    await reply(harness, asha, group, TITLE)
    await reply(harness, bob, group, "Offline sensors for cold storage")
    await reply(harness, bob, group, "Which sensors work without a network?")
    # Asha's reply to Bob's question is not an answer to her own form.
    bob_question = question_to(harness, group, bob)
    sent_before = len(harness.server.bot_messages(group))
    await harness.server.send_text(
        asha, group, "Try the Pune vendor", reply_to_message_id=bob_question.message_id
    )
    await harness.server.wait_idle()
    assert len(harness.server.bot_messages(group)) == sent_before
    await reply(harness, asha, group, DESCRIPTION)
    await reply(harness, asha, group, "onion")
    await say(harness, bob, "/skip", chat=group)
    await say(harness, asha, "/skip", chat=group)
    await reply(harness, bob, group, "MH")
    await press_on(harness, asha, group, question_to(harness, group, asha), label("asks", "high"))
    await reply(harness, bob, group, "no hurry")
    await press_on(harness, asha, group, question_to(harness, group, asha), label("asks", "peer"))
    await reply(harness, bob, group, "workshop, webinar")
    await press_on(harness, asha, group, question_to(harness, group, asha), label("asks", "expert"))
    await press_on(harness, asha, group, question_to(harness, group, asha), label("forms", "done"))
    await reply(harness, bob, group, "no")
    await press_on(harness, asha, group, question_to(harness, group, asha), label("forms", "no"))
    await press_on(harness, bob, group, question_to(harness, group, bob), label("forms", "confirm"))
    await press_on(
        harness, asha, group, question_to(harness, group, asha), label("forms", "confirm")
    )

    for message in questions_to(harness, group, asha):
        assert message.text.startswith("Asha Patil: "), message.text
    for message in questions_to(harness, group, bob):
        assert message.text.startswith("Bob Patil: "), message.text
    force_replies = [markup for markup in sent_markups(harness, group) if "force_reply" in markup]
    assert len(force_replies) >= 4
    assert all(markup.get("selective") is True for markup in force_replies)

    entries = await contributions(harness)
    assert len(entries) == 2
    by_title = {entry.title: entry for entry in entries}
    asha_entry = by_title[TITLE]
    bob_entry = by_title["Offline sensors for cold storage"]
    assert asha_entry.description == DESCRIPTION
    assert await theme_key(harness, asha_entry.theme_id) == "finance"
    assert asha_entry.commodities == ["onion"]
    assert asha_entry.states == []
    assert asha_entry.urgency == "high"
    assert asha_entry.help_kinds == ["peer", "expert"]
    assert asha_entry.private is False
    assert bob_entry.description == "Which sensors work without a network?"
    assert await theme_key(harness, bob_entry.theme_id) == "technology"
    assert bob_entry.commodities == []
    assert len(bob_entry.states) == 1
    assert bob_entry.urgency == "low"
    assert bob_entry.help_kinds == ["workshop", "webinar"]
    assert bob_entry.private is False
    assert bob_entry.person_id != asha_entry.person_id
    assert harness.errors == []


# --- Restarts ------------------------------------------------------------------------------------


async def test_form_resumed_after_restart(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))
    await say(harness, asha, TITLE)

    await harness.stop_bot()
    await harness.start_bot()
    question = await say(harness, asha, DESCRIPTION)
    assert contains(question, "asks/q_commodities")
    await say(harness, asha, "onion")
    await say(harness, asha, "/skip")
    await tap(harness, asha, label("asks", "high"))
    await say(harness, asha, "peer")
    await tap(harness, asha, label("forms", "yes"))
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert len(entries) == 1
    assert entries[0].title == TITLE
    assert entries[0].description == DESCRIPTION
    assert entries[0].private is True
    assert harness.errors == []


async def test_form_survives_restart_in_redis(redis_harness: SandboxHarness) -> None:
    asha = await approved_poc(redis_harness, "asha")
    await say(redis_harness, asha, "/ask")
    await tap(redis_harness, asha, label("themes", "finance"))
    await say(redis_harness, asha, TITLE)

    await redis_harness.stop_bot()
    await redis_harness.start_bot()
    await say(redis_harness, asha, DESCRIPTION)
    await say(redis_harness, asha, "/skip")
    await say(redis_harness, asha, "/skip")
    await tap(redis_harness, asha, label("asks", "low"))
    await say(redis_harness, asha, "webinar")
    await tap(redis_harness, asha, label("forms", "no"))
    await redis_harness.stop_bot()
    await redis_harness.start_bot()
    await tap(redis_harness, asha, label("forms", "confirm"))

    entries = await contributions(redis_harness)
    assert len(entries) == 1
    assert entries[0].title == TITLE
    assert entries[0].description == DESCRIPTION
    assert entries[0].help_kinds == ["webinar"]
    assert redis_harness.errors == []


# --- Input that is not an answer ---------------------------------------------------------------


async def test_other_input_mid_form_reasked(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))

    await harness.server.send_sticker(asha, chat)
    await harness.server.wait_idle()
    response = harness.server.last_bot_message(chat)
    assert contains(response, "forms/not_expected", kind="sticker")
    assert contains(response, "asks/ask/q_title")

    await harness.server.send_photo(asha, chat, b"\xff\xd8photo")
    await harness.server.wait_idle()
    response = harness.server.last_bot_message(chat)
    assert contains(response, "forms/not_expected", kind="photo")
    assert contains(response, "asks/ask/q_title")

    await harness.server.send_voice(asha, chat)
    await harness.server.wait_idle()
    response = harness.server.last_bot_message(chat)
    assert contains(response, "forms/not_expected", kind="voice")
    assert contains(response, "asks/ask/q_title")

    await say(harness, asha, TITLE)
    title_message = harness.server.last_user_message_id(asha, chat)
    await harness.server.edit_text(asha, chat, title_message, "A different title")
    await harness.server.wait_idle()
    response = harness.server.last_bot_message(chat)
    assert contains(response, "forms/not_expected", kind="edited")
    assert contains(response, "asks/ask/q_description")

    await harness.server.forward_text(asha, chat, "Forwarded text", from_user=harness.facilitator)
    await harness.server.wait_idle()
    response = harness.server.last_bot_message(chat)
    assert contains(response, "forms/not_expected", kind="forwarded")
    assert contains(response, "asks/ask/q_description")

    response = await say(harness, asha, "/buyers onion")
    assert contains(response, "forms/unexpected_command", command="buyers", title="Ask")
    assert contains(response, "asks/ask/q_description")

    await say(harness, asha, DESCRIPTION)
    await say(harness, asha, "/skip")
    await say(harness, asha, "/skip")
    await tap(harness, asha, label("asks", "medium"))
    await say(harness, asha, "expert")
    await tap(harness, asha, label("forms", "no"))
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert len(entries) == 1
    assert entries[0].title == TITLE
    assert entries[0].description == DESCRIPTION
    assert harness.errors == []


async def test_ticks_kept_after_sticker(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await fill_to_urgency(harness, asha)
    await tap(harness, asha, label("asks", "high"))
    await tap(harness, asha, label("asks", "workshop"))
    await harness.server.send_sticker(asha, chat)
    await harness.server.wait_idle()

    question = harness.server.last_bot_message(chat)
    ticked = TEXTS.label("en", "forms", "ticked", label=label("asks", "workshop"))
    assert ticked in question.button_texts()
    await tap(harness, asha, label("forms", "done"))
    await tap(harness, asha, label("forms", "yes"))
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert [entry.help_kinds for entry in entries] == [["workshop"]]


# --- Typed answers and navigation --------------------------------------------------------------


async def test_typed_choices_and_navigation(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, "/ask")
    question = await say(harness, asha, "3")
    assert contains(question, "asks/ask/q_title")

    question = await say(harness, asha, "/back")
    assert contains(question, "asks/ask/q_theme")
    assert label("themes", "technology") in question.text
    question = await say(harness, asha, "/back")
    assert contains(question, "forms/no_previous")
    question = await say(harness, asha, label("themes", "finance", "hi"))
    assert contains(question, "asks/ask/q_title")
    await say(harness, asha, TITLE)
    await say(harness, asha, DESCRIPTION)
    question = await say(harness, asha, "/skip")
    assert contains(question, "asks/q_states")
    question = await say(harness, asha, "/skip")
    assert contains(question, "asks/ask/q_urgency")

    question = await say(harness, asha, "/skip")
    assert contains(question, "forms/not_optional")
    assert contains(question, "asks/ask/q_urgency")
    await say(harness, asha, "2")
    await say(harness, asha, "peer, expert")
    summary = await say(harness, asha, "हाँ")
    assert TITLE in summary.text

    edit_title = TEXTS.label("en", "forms", "edit", field=label("asks/ask", "title"))
    question = await tap(harness, asha, edit_title)
    assert contains(question, "asks/ask/q_title")
    assert TITLE in question.text
    summary = await say(harness, asha, "Working capital for turmeric")
    assert "Working capital for turmeric" in summary.text
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert len(entries) == 1
    entry = entries[0]
    assert await theme_key(harness, entry.theme_id) == "finance"
    assert entry.title == "Working capital for turmeric"
    assert entry.commodities == []
    assert entry.states == []
    assert entry.urgency == "medium"
    assert entry.help_kinds == ["peer", "expert"]
    assert entry.private is True
    assert harness.errors == []


async def test_yes_typed_and_skip_button(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, "/ask")
    await say(harness, asha, "market access")
    await say(harness, asha, TITLE)
    await say(harness, asha, DESCRIPTION)
    question = await tap(harness, asha, label("forms", "skip"))
    assert contains(question, "asks/q_states")
    skipped = harness.server.bot_messages(harness.server.private_chat(asha))[-2]
    assert contains(
        skipped,
        "forms/answered",
        question=render("asks/q_commodities"),
        answer=None,
        skipped=True,
        in_group=False,
        person_name="Asha Patil",
        user_id=asha.id,
    )
    await tap(harness, asha, label("forms", "skip"))
    await tap(harness, asha, label("asks", "low"))
    await say(harness, asha, "1")
    await say(harness, asha, "Yes")
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert len(entries) == 1
    assert await theme_key(harness, entries[0].theme_id) == "market_access"
    assert entries[0].help_kinds == ["peer"]
    assert entries[0].private is True


async def test_back_button_keeps_answer(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    theme_question = await say(harness, asha, "/ask")
    first = await tap(harness, asha, label("themes", "finance"))
    answered = render(
        "forms/answered",
        question=render("asks/ask/q_theme"),
        answer=label("themes", "finance"),
        skipped=False,
        in_group=False,
        person_name="Asha Patil",
        user_id=asha.id,
    )
    assert harness.server.bot_messages(chat)[-2].message_id == theme_question.message_id
    assert theme_question.html == answered
    assert theme_question.buttons == []
    assert label("forms", "back") in first.button_texts()
    question = await tap(harness, asha, label("forms", "back"))
    assert contains(question, "asks/ask/q_theme")
    assert label("forms", "back") not in question.button_texts()
    assert label("themes", "finance") in question.text


async def test_cancel_command_saves_nothing(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))
    response = await say(harness, asha, "/cancel")

    assert response.html == render("forms/cancelled", title=render("asks/ask/title"))
    assert await form_state_of(harness, asha, chat) is None
    response = await say(harness, asha, TITLE)
    assert response.html == render("common/not_understood")
    assert await contributions(harness) == []


async def test_cancel_button_saves_nothing(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/give")
    await tap(harness, asha, label("themes", "finance"))
    title_question = harness.server.last_bot_message(chat)
    response = await tap(harness, asha, label("forms", "cancel"))

    assert response.html == render("forms/cancelled", title=render("asks/give/title"))
    assert title_question.buttons == []
    assert await form_state_of(harness, asha, chat) is None
    assert await contributions(harness) == []
    assert harness.errors == []


# --- Double taps and bursts --------------------------------------------------------------------


async def test_double_tapped_confirm_saves_once(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    summary = await fill_to_summary(harness, asha)
    data = button_data(summary, label("forms", "confirm"))

    first = await harness.server.press_data(asha, chat, summary.message_id, data)
    second = await harness.server.press_data(asha, chat, summary.message_id, data)
    await harness.server.wait_idle()

    assert len(await contributions(harness)) == 1
    assert alert_of(harness, first) is None
    assert alert_of(harness, second) == render("forms/ended", command="/ask")
    assert summary.buttons == []
    assert harness.errors == []


async def test_burst_of_messages_answers_in_order(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))

    for text in (TITLE, DESCRIPTION, "onion", "Maharashtra"):
        await harness.server.send_text(asha, chat, text)
    await harness.server.wait_idle()
    question = harness.server.last_bot_message(chat)
    assert contains(question, "asks/ask/q_urgency")
    await tap(harness, asha, label("asks", "high"))
    await say(harness, asha, "peer")
    await tap(harness, asha, label("forms", "no"))
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert len(entries) == 1
    assert entries[0].title == TITLE
    assert entries[0].description == DESCRIPTION
    assert entries[0].commodities == ["onion"]
    assert len(entries[0].states) == 1


async def test_button_of_earlier_form_is_stale(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    summary = await fill_to_summary(harness, asha)
    await say(harness, asha, "/cancel")
    # A new form of the same flow, brought to its summary at the same version.
    await fill_to_summary(harness, asha)

    update = await harness.server.press_data(
        asha, chat, summary.message_id, button_data(summary, label("forms", "confirm"))
    )
    await harness.server.wait_idle()

    assert alert_of(harness, update) == render("forms/stale")
    assert await contributions(harness) == []
    assert await form_state_of(harness, asha, chat) == FORM_STATE


# --- Failures while saving or sending ------------------------------------------------------------


async def test_failed_save_keeps_answers(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await fill_to_summary(harness, asha)
    # A database error inside the save: the trigger aborts the insert, so the save rolls back.
    assert harness.app is not None
    async with harness.app.engine.begin() as connection:
        await connection.exec_driver_sql(
            "CREATE TRIGGER refuse_entries BEFORE INSERT ON contributions "
            "BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
        )
    response = await tap(harness, asha, label("forms", "confirm"))

    assert await contributions(harness) == []
    assert contains(response, "forms/save_failed")
    assert TITLE in response.text
    assert label("forms", "confirm") in response.button_texts()
    async with harness.app.engine.begin() as connection:
        await connection.exec_driver_sql("DROP TRIGGER refuse_entries")
    await tap(harness, asha, label("forms", "confirm"))
    assert len(await contributions(harness)) == 1
    assert await form_state_of(harness, asha, chat) is None
    assert harness.errors == []


async def test_unsent_confirmation_keeps_save(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await fill_to_summary(harness, asha)
    # The confirmation goes out after the commit, so its failure cannot undo the save.
    harness.server.faults.fail("sendMessage", 500, "Internal Server Error")
    await tap(harness, asha, label("forms", "confirm"))

    assert len(await contributions(harness)) == 1
    assert await form_state_of(harness, asha, chat) is None
    assert harness.errors == []


async def test_unsent_question_asked_again(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))
    harness.server.faults.fail("sendMessage", 429, "Too Many Requests: retry after 1")
    response = await say(harness, asha, TITLE)

    # The description question never arrived, so the form is still at the title.
    assert response.html == render("common/error")
    assert len(harness.errors) == 1
    question = await say(harness, asha, TITLE)
    assert contains(question, "asks/ask/q_description")
    await say(harness, asha, DESCRIPTION)
    await say(harness, asha, "/skip")
    await say(harness, asha, "/skip")
    await tap(harness, asha, label("asks", "high"))
    await say(harness, asha, "peer")
    await tap(harness, asha, label("forms", "no"))
    await tap(harness, asha, label("forms", "confirm"))

    entries = await contributions(harness)
    assert [(entry.title, entry.description) for entry in entries] == [(TITLE, DESCRIPTION)]
    assert await form_state_of(harness, asha, chat) is None


async def test_confirmed_state_left_behind_ends_form(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await fill_to_summary(harness, asha)
    # As if the bot stopped between storing the confirmed state and clearing it.
    data = await form_data_of(harness, asha, chat)
    data["form"]["status"] = "confirmed"
    await set_form_data(harness, asha, chat, data)

    update = await harness.server.press(asha, chat, label("forms", "confirm"))
    await harness.server.wait_idle()

    assert alert_of(harness, update) == render("forms/ended")
    assert await contributions(harness) == []
    assert await form_state_of(harness, asha, chat) is None


async def test_concurrent_write_not_overwritten(
    harness: SandboxHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    sent = len(harness.server.bot_messages(chat))
    build = forms._build

    async def build_then_write_elsewhere(flow, context):  # type: ignore[no-untyped-def]
        # Another process stores a newer version of the form after this update read it.
        form = await build(flow, context)
        data = await form_data_of(harness, asha, chat)
        data["form"]["version"] += 5
        await set_form_data(harness, asha, chat, data)
        return form

    monkeypatch.setattr(forms, "_build", build_then_write_elsewhere)
    await say(harness, asha, "2")

    data = await form_data_of(harness, asha, chat)
    assert data["form"]["version"] == 5
    assert data["form"]["current"] == "theme"
    assert len(harness.server.bot_messages(chat)) == sent
    assert harness.errors == []


# --- Expiry --------------------------------------------------------------------------------------


async def test_form_expires_after_48_hours(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))
    title_question = harness.server.last_bot_message(chat)

    harness.clock.advance(dt.timedelta(hours=47))
    question = await say(harness, asha, TITLE)
    assert contains(question, "asks/ask/q_description")

    harness.clock.advance(dt.timedelta(hours=48, minutes=1))
    response = await say(harness, asha, DESCRIPTION)
    assert response.html == render("forms/expired", title=render("asks/ask/title"), command="/ask")
    assert await form_state_of(harness, asha, chat) is None

    update = await harness.server.press_data(
        asha, chat, title_question.message_id, button_data(title_question, label("forms", "cancel"))
    )
    await harness.server.wait_idle()
    assert alert_of(harness, update) == render("forms/ended", command="/ask")
    assert await contributions(harness) == []
    assert harness.errors == []


async def test_button_after_expiry_alerts(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    question = harness.server.last_bot_message(chat)

    harness.clock.advance(dt.timedelta(hours=49))
    update = await harness.server.press_data(
        asha, chat, question.message_id, button_data(question, label("themes", "finance"))
    )
    await harness.server.wait_idle()

    assert alert_of(harness, update) == render("forms/expired_alert", command="/ask")
    response = harness.server.last_bot_message(chat)
    assert response.html == render("forms/expired", title=render("asks/ask/title"), command="/ask")
    assert question.buttons == []
    assert await form_state_of(harness, asha, chat) is None
    assert harness.errors == []


async def test_tick_after_expiry_alerts(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await fill_to_urgency(harness, asha)
    question = await tap(harness, asha, label("asks", "high"))

    harness.clock.advance(dt.timedelta(hours=49))
    update = await harness.server.press_data(
        asha, chat, question.message_id, button_data(question, label("asks", "peer"))
    )
    await harness.server.wait_idle()

    assert alert_of(harness, update) == render("forms/expired_alert", command="/ask")
    assert await form_state_of(harness, asha, chat) is None
    assert harness.errors == []


async def test_form_ttl_configurable(short_ttl_harness: SandboxHarness) -> None:
    harness = short_ttl_harness
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, "/ask")
    await tap(harness, asha, label("themes", "finance"))

    harness.clock.advance(dt.timedelta(hours=2, minutes=1))
    response = await say(harness, asha, TITLE)

    assert response.html == render("forms/expired", title=render("asks/ask/title"), command="/ask")


# --- Buttons that are not the presser's -----------------------------------------------------------


async def test_other_persons_button_in_group_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", "PRADAN")
    bob = await approved_poc(harness, "bob", "SRIJAN")
    ravi = harness.server.user("ravi")
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()
    await say(harness, asha, "/ask", chat=group)
    asha_question = question_to(harness, group, asha)
    finance = label("themes", "finance")

    # Bob has no form; Ravi is not even registered.
    for presser in (bob, ravi):
        update = await press_on(harness, presser, group, asha_question, finance)
        assert alert_of(harness, update) == render("forms/not_yours", command="/ask")
    # With a form of his own at the same question and version, Bob's press is still refused,
    # and he is not told to send /ask, which cannot start while his form is open.
    await say(harness, bob, "/ask", chat=group)
    update = await press_on(harness, bob, group, asha_question, finance)
    assert alert_of(harness, update) == render("forms/not_yours", command=None)
    assert finance in asha_question.button_texts()
    assert finance in question_to(harness, group, bob).button_texts()

    await press_on(harness, asha, group, asha_question, finance)
    assert contains(question_to(harness, group, asha), "asks/ask/q_title")
    assert harness.errors == []


async def test_other_persons_button_without_reply_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", "PRADAN")
    bob = harness.server.user("bob")
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()
    await say(harness, asha, "/ask", chat=group)
    await press_on(
        harness, asha, group, question_to(harness, group, asha), label("themes", "finance")
    )
    await reply(harness, asha, group, TITLE)
    await reply(harness, asha, group, DESCRIPTION)
    await say(harness, asha, "/skip", chat=group)
    await say(harness, asha, "/skip", chat=group)
    urgency = question_to(harness, group, asha)
    # As if Asha deleted her /skip: the next question cannot reply to it.
    anchor = harness.server.last_user_message_id(asha, group)
    del harness.server._messages[(group.id, anchor)]
    await press_on(harness, asha, group, urgency, label("asks", "high"))
    help_question = harness.server.last_bot_message(group)
    assert help_question.reply_to_message_id is None
    assert label("asks", "peer") in help_question.button_texts()

    update = await press_on(harness, bob, group, help_question, label("asks", "peer"))

    assert alert_of(harness, update) == render("forms/not_yours", command="/ask")
    assert label("asks", "peer") in help_question.button_texts()
    assert harness.errors == []


@pytest.mark.parametrize(
    "data",
    [
        FormButton(flow="zz", action="choose", value="t1", version=0).pack(),
        "fo1:ask:choose:t1:" + str(2**40),
        FormButton(flow="ask", action="frobnicate", value="", version=0).pack(),
        FormButton(flow="ask", action="toggle", value="t1", version=0).pack(),
        FormButton(flow="ask", action="done", value="", version=0).pack(),
        FormButton(flow="ask", action="choose", value="nope", version=0).pack(),
        FormButton(flow="ask", action="edit", value="title", version=0).pack(),
        FormButton(flow="ask", action="confirm", value="", version=0).pack(),
        FormButton(flow="ask", action="choose", value="t1", version=7).pack(),
        "fo1:ask:choose",
        "fo1::::",
        "garbage",
    ],
)
async def test_forged_form_button_rejected(harness: SandboxHarness, data: str) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    question = harness.server.last_bot_message(chat)

    update = await harness.server.press_data(asha, chat, question.message_id, data)
    await harness.server.wait_idle()

    assert alert_of(harness, update)
    assert harness.server.last_bot_message(chat).message_id == question.message_id
    response = await tap(harness, asha, label("themes", "finance"))
    assert contains(response, "asks/ask/q_title")
    assert harness.errors == []


# --- Fixtures --------------------------------------------------------------------------------------


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
async def redis_harness(tmp_path: Path) -> AsyncIterator[SandboxHarness]:
    if not redis_reachable():
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    settings = load_settings(
        bot_token=None,
        database_url=f"sqlite:///{tmp_path / 'redis.sqlite'}",
        redis_url=REDIS_URL,
        facilitator_ids=[],
        default_locale="en",
    )
    started = SandboxHarness(settings, demo=True)
    await started.start()
    yield started
    await started.stop()


@pytest.fixture
async def short_ttl_harness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SandboxHarness]:
    """A harness whose forms expire after two hours, set through FORM_TTL_HOURS."""
    monkeypatch.setenv("FORM_TTL_HOURS", "2")
    settings = load_settings(
        bot_token=None,
        database_url=f"sqlite:///{tmp_path / 'ttl.sqlite'}",
        redis_url=None,
        facilitator_ids=[],
        default_locale="en",
    )
    assert settings.form_ttl_hours == 2
    started = SandboxHarness(settings, demo=True)
    await started.start()
    yield started
    await started.stop()


async def test_command_after_expiry_runs(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, "/ask")
    harness.clock.advance(dt.timedelta(hours=49))

    await harness.server.send_text(asha, chat, "/give")
    await harness.server.wait_idle()

    replies = harness.server.bot_messages(chat)[-2:]
    assert replies[0].html == render(
        "forms/expired", title=render("asks/ask/title"), command="/ask"
    )
    assert contains(replies[1], "asks/give/q_theme")
    data = await form_data_of(harness, asha, chat)
    assert data["flow"] == "give"
    assert harness.errors == []


async def test_button_mid_form_keeps_open_form(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await fill_to_summary(harness, asha)
    await tap(harness, asha, label("forms", "confirm"))
    entry_list = await say(harness, asha, "/mine")
    entry = await press_on(harness, asha, chat, entry_list, entry_list.button_texts()[0])
    assert entry is not None
    opened = harness.server.last_bot_message(chat)
    await say(harness, asha, "/give")
    await tap(harness, asha, label("themes", "finance"))

    await press_on(harness, asha, chat, opened, label("asks/mine", "edit"))

    note = harness.server.last_bot_message(chat)
    assert note.html == render("forms/finish_first", title=render("asks/give/title"))
    data = await form_data_of(harness, asha, chat)
    assert data["flow"] == "give"
    assert "theme" in data["form"]["answers"]
    assert harness.errors == []
