"""Bad input in the registration form: each is re-asked with its reason, and /cancel saves nothing."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from e2e_helpers import Answers, error, fill_form, label, load_person, question, render, say, tap
from markupsafe import Markup

from bot.forms import FieldError, StateList
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import SandboxUser

NAME = "registration/q_name"
PHONE = "registration/q_phone"
TITLE = "Registration"


async def open_form_at_name(harness: SandboxHarness, user: SandboxUser) -> None:
    await say(harness, user, "/start")
    await tap(harness, user, label("registration", "agree"))


async def open_form_at_phone(harness: SandboxHarness, user: SandboxUser) -> None:
    await open_form_at_name(harness, user)
    await say(harness, user, "Asha Patil")
    await tap(harness, user, "PRADAN")
    await say(harness, user, "programme manager")


def name_question(*, reason: Markup | None = None, note: Markup | None = None) -> Markup:
    """The first question, which has no /back."""
    notes = (note,) if note is not None else ()
    return question(NAME, reason=reason, notes=notes, can_go_back=False)


async def test_name_without_letters_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)

    reply = await say(harness, asha, "12345 !!")

    assert reply.html == name_question(reason=error("text_letters_required", typed="12345 !!"))


async def test_name_too_long_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)

    reply = await say(harness, asha, "A" * 101)

    assert reply.html == name_question(reason=error("text_too_long", maximum=100, length=101))


async def test_name_sticker_reasked(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await open_form_at_name(harness, asha)

    await server.send_sticker(asha, server.private_chat(asha))
    await server.wait_idle()

    assert server.last_bot_message(server.private_chat(asha)).html == name_question(
        note=render("forms/not_expected", kind="sticker")
    )


async def test_name_photo_reasked(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await open_form_at_name(harness, asha)

    await server.send_photo(asha, server.private_chat(asha), b"\xff\xd8\xff\xe0 jpeg")
    await server.wait_idle()

    assert server.last_bot_message(server.private_chat(asha)).html == name_question(
        note=render("forms/not_expected", kind="photo")
    )


async def test_command_mid_form_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)

    reply = await say(harness, asha, "/buyers onion")

    assert reply.html == name_question(
        note=render("forms/unexpected_command", command="buyers", title=TITLE)
    )
    assert harness.errors == []


async def test_edited_message_mid_form_reasked(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await open_form_at_phone(harness, asha)
    chat = server.private_chat(asha)

    await server.edit_text(asha, chat, server.last_user_message_id(asha, chat), "director")
    await server.wait_idle()

    assert server.last_bot_message(chat).html == question(
        PHONE, notes=(render("forms/not_expected", kind="edited"),), optional=True
    )
    person = await load_person(harness, asha)
    assert person is not None
    assert person.bso_role is None


async def test_skip_required_question_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)

    reply = await say(harness, asha, "/skip")

    assert reply.html == name_question(note=render("forms/not_optional"))


async def test_invalid_phone_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_phone(harness, asha)

    reply = await say(harness, asha, "call me maybe")

    assert reply.html == question(
        PHONE, reason=error("phone_invalid", typed="call me maybe"), optional=True
    )
    assert reply.button_texts() == [
        label("forms", "back"),
        label("forms", "skip"),
        label("forms", "cancel"),
    ]


async def test_short_phone_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_phone(harness, asha)

    reply = await say(harness, asha, "12345")

    assert reply.html == question(
        PHONE, reason=error("phone_invalid", typed="12345"), optional=True
    )


async def test_unknown_state_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_phone(harness, asha)
    await say(harness, asha, "/skip")

    reply = await say(harness, asha, "Maharashtra, Narnia")

    with pytest.raises(FieldError) as caught:
        StateList().parse("Maharashtra, Narnia", today=dt.date.today(), locale="en")
    reason = error(caught.value.code, **caught.value.params)
    assert reason.striptags().startswith("“Narnia” is not an Indian state")
    assert reply.html == question("registration/q_states", reason=reason)


async def test_unknown_bso_typed_reasked(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)
    await say(harness, asha, "Asha Patil")

    reply = await say(harness, asha, "Zyxwv Trust")

    assert reply.html == question(
        "registration/q_bso", reason=error("bso_not_found", typed="Zyxwv Trust")
    )
    assert label("registration", "bso_not_listed") in reply.button_texts()


async def test_text_at_consent_asks_for_button(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")

    reply = await say(harness, asha, "what is this?")

    assert reply.html == render("registration/consent_press_button")


async def test_text_at_summary_shows_summary_again(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await fill_form(harness, asha, Answers())
    before = len(server.bot_messages(server.private_chat(asha)))

    await say(harness, asha, "ok")

    messages = server.bot_messages(server.private_chat(asha))[before:]
    assert len(messages) == 1
    assert messages[0].html.startswith(render("forms/not_expected", kind="text"))
    assert "Asha Patil" in messages[0].text
    assert label("forms", "confirm") in messages[0].button_texts()


async def test_stale_bso_button_rejected(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    chat = server.private_chat(asha)
    await open_form_at_name(harness, asha)
    bso_question = await say(harness, asha, "Asha Patil")
    baif = next(button for row in bso_question.buttons for button in row if button.text == "BAIF")
    await say(harness, asha, "PRADAN")

    # A tap on a button of the earlier question, e.g. from a second device.
    assert baif.callback_data is not None
    await server.press_data(asha, chat, bso_question.message_id, baif.callback_data)
    await server.wait_idle()

    assert server.callback_answers[-1]["text"] == str(render("forms/stale"))
    assert server.callback_answers[-1]["show_alert"] is True
    person = await load_person(harness, asha)
    assert person is not None
    assert person.bso_id is None
    assert harness.errors == []


async def test_edit_from_summary_returns_to_summary(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await fill_form(harness, asha, Answers())
    await tap(harness, asha, label("forms", "edit", field=label("registration", "name")))

    summary = await say(harness, asha, "Asha R. Patil")

    assert "Asha R. Patil" in summary.text
    assert label("forms", "confirm") in summary.button_texts()


async def test_declined_consent_saves_nothing(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")

    reply = await tap(harness, asha, label("registration", "decline"))

    assert reply.html == render("registration/declined")
    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "new"
    assert person.consent_at is None


async def assert_nothing_saved(harness: SandboxHarness, user: SandboxUser) -> None:
    person = await load_person(harness, user)
    assert person is not None
    assert person.status == "new"
    assert person.name is None
    assert person.bso_id is None
    assert person.phone is None


async def test_cancel_at_consent_saves_nothing(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")

    reply = await say(harness, asha, "/cancel")

    assert reply.html == render("common/cancelled")
    await assert_nothing_saved(harness, asha)


async def test_cancel_at_phone_saves_nothing(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_phone(harness, asha)

    reply = await say(harness, asha, "/cancel")

    assert reply.html == render("forms/cancelled", title=TITLE)
    await assert_nothing_saved(harness, asha)
    after = await say(harness, asha, "98765 43210")
    assert after.html == render("common/not_understood")


async def test_cancel_at_summary_saves_nothing(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await fill_form(harness, asha, Answers())

    reply = await say(harness, asha, "/cancel")

    assert reply.html == render("forms/cancelled", title=TITLE)
    await assert_nothing_saved(harness, asha)


async def test_cancel_button_at_summary_saves_nothing(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await fill_form(harness, asha, Answers())

    reply = await tap(harness, asha, label("forms", "cancel"))

    assert reply.html == render("forms/cancelled", title=TITLE)
    await assert_nothing_saved(harness, asha)
    assert harness.errors == []


async def test_cancel_outside_form_says_nothing_to_cancel(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")

    reply = await say(harness, asha, "/cancel")

    assert reply.html == render("common/nothing_to_cancel")


async def test_names_escaped_in_summary_and_review(harness: SandboxHarness) -> None:
    server = harness.server
    tricky = "Ravi <b>Kumar</b> & Sons 🌾"
    ravi = server.user("ravi", first_name="<i>R&D</i> 🚜")  # and no username
    summary = await fill_form(harness, ravi, Answers(name=tricky, role="head <of> R&D"))

    assert f"{label('registration', 'name')}: {tricky}" in summary.text
    assert html.escape(tricky, quote=False) in summary.html
    assert "head <of> R&D" in summary.text

    await tap(harness, ravi, label("forms", "confirm"))
    review = server.last_bot_message(server.private_chat(harness.facilitator))
    person = await load_person(harness, ravi)
    assert person is not None
    assert person.name == tricky
    assert tricky in review.text
    assert "@" not in review.text.splitlines()[1]
    assert review.html == render(
        "registration/review", person=person, bso_name=person.bso.name, new_bso=False, other_pocs=[]
    )

    me = await say(harness, ravi, "/me")
    assert "<i>R&D</i> 🚜" in me.text
    assert harness.errors == []


async def test_new_bso_name_escaped(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)
    await say(harness, asha, "Asha Patil")
    await tap(harness, asha, label("registration", "bso_not_listed"))

    role_question = await say(harness, asha, "Seva <Trust> & Co")

    assert role_question.html == question("registration/q_role")
    assert harness.errors == []


async def test_back_returns_to_new_bso_name(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_name(harness, asha)
    await say(harness, asha, "Asha Patil")
    await tap(harness, asha, label("registration", "bso_not_listed"))
    await say(harness, asha, "Gram Vikas Trust")

    reply = await say(harness, asha, "/back")

    assert reply.html == render(
        "forms/ask",
        notes=[],
        reason=None,
        question=render("registration/q_bso_new"),
        current_answer="Gram Vikas Trust",
        optional=False,
        editing=False,
        multi=False,
        can_go_back=True,
        in_group=False,
    )
    role_question = await say(harness, asha, "Gram Vikas Trust, Odisha")
    assert role_question.html == question("registration/q_role")
    new_name_again = await say(harness, asha, "/back")
    assert "Gram Vikas Trust, Odisha" in new_name_again.text
    bso_question = await say(harness, asha, "/back")
    assert render("registration/q_bso") in bso_question.html
    assert label("registration", "bso_not_listed") in bso_question.button_texts()
    assert harness.errors == []
