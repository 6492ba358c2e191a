"""Registration end to end: the private form, the group deep link, approval and rejection."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from e2e_helpers import (
    Answers,
    decide,
    decision_data,
    fill_form,
    label,
    load_person,
    question,
    register,
    render,
    say,
    tap,
)
from sqlalchemy import delete

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from handlers import registration
from storage import people
from storage.models import Bso


async def test_registration_private_then_approved(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha", username="asha_p")

    review = await register(harness, asha)

    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "pending"
    assert person.name == "Asha Patil"
    assert person.phone == "+919876543210"
    assert person.states == ["Maharashtra", "Karnataka"]
    assert person.registered_via_chat_id is None
    assert server.last_bot_message(server.private_chat(asha)).html == render(
        "registration/submitted"
    )
    expected_review = render(
        "registration/review", person=person, bso_name=person.bso.name, new_bso=False, other_pocs=[]
    )
    assert review.html == expected_review
    assert review.button_texts() == [
        label("registration", "approve"),
        label("registration", "reject"),
    ]

    await decide(harness, review, "approve")

    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "approved"
    assert person.decided_by == harness.facilitator.id
    facilitator_chat = server.private_chat(harness.facilitator)
    assert server.last_bot_message(facilitator_chat).html == render(
        "registration/decision_done", person=person
    )
    assert server.bot_messages(facilitator_chat)[-2].buttons == []
    assert server.last_bot_message(server.private_chat(asha)).html == render(
        "registration/approved", person=person
    )

    me = await say(harness, asha, "/me")
    assert me.html == render("common/me", person=person, is_facilitator=False)
    assert "Asha Patil" in me.text
    assert "+91 98765 43210" in me.text
    assert me.button_texts() == [label("common", "forget")]
    assert harness.errors == []


async def test_registration_via_group_records_group(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    group = server.group("Onion task force", added_by=ravi)

    reply = await say(harness, ravi, "/register", chat=group)
    assert reply.html == render("registration/continue_in_private")
    assert reply.buttons[0][0].url == f"https://t.me/{server.bot_username}?start=reg_{group.id}"

    await register(harness, ravi, Answers(name="Ravi Kumar", bso="BAIF"), via_group=group)

    person = await load_person(harness, ravi)
    assert person is not None
    assert person.status == "pending"
    assert person.registered_via_chat_id == group.id
    assert person.bso is not None
    assert person.bso.short_name == "BAIF"
    assert harness.errors == []


async def test_registration_skip_phone_button(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")
    await tap(harness, asha, "PRADAN")
    await say(harness, asha, "FPO coordinator")

    states_question = await tap(harness, asha, label("forms", "skip"))

    assert states_question.html == question("registration/q_states")
    summary = await fill_form_rest(harness, asha)
    assert "Phone: skipped" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "pending"
    assert person.phone is None
    assert harness.errors == []


async def fill_form_rest(harness: SandboxHarness, user: SandboxUser) -> BotMessage:
    """Answer states, commodities and language; return the summary."""
    await say(harness, user, "Bihar")
    await say(harness, user, "potato")
    return await tap(harness, user, label("registration", "english"))


async def open_form_at_bso(harness: SandboxHarness, user: SandboxUser) -> BotMessage:
    """Agree and answer the name; return the BSO question."""
    await say(harness, user, "/start")
    await tap(harness, user, label("registration", "agree"))
    return await say(harness, user, "Asha Patil")


async def add_bso(harness: SandboxHarness, name: str, short_name: str | None = None) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=harness.app.settings.community_name, timezone="Asia/Kolkata"
        )
        bso = await people.ensure_bso(session, community.id, name, short_name)
        return bso.id


async def test_registration_typed_bso_fuzzy(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")

    role_question = await say(harness, asha, "Pradan")

    assert role_question.html == question("registration/q_role")


async def test_registration_misspelt_bso_matched(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_bso(harness, asha)

    role_question = await say(harness, asha, "Pradhan")

    assert role_question.html == question("registration/q_role")
    await say(harness, asha, "director")
    await say(harness, asha, "/skip")
    summary = await fill_form_rest(harness, asha)
    assert "BSO: Professional Assistance for Development Action" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    person = await load_person(harness, asha)
    assert person is not None
    assert person.bso is not None
    assert person.bso.short_name == "PRADAN"
    assert person.proposed_bso_name is None
    assert harness.errors == []


async def test_registration_hindi_language_switches_texts(harness: SandboxHarness) -> None:
    server = harness.server
    meena = server.user("meena")

    summary = await fill_form(harness, meena, Answers(name="मीना वर्मा", language="hi"))

    assert summary.button_texts()[-2:] == [
        label("forms", "confirm", "hi"),
        label("forms", "cancel", "hi"),
    ]
    assert render("registration/title", "hi") in summary.text
    language = f"{label('registration', 'language', 'hi')}: {label('registration', 'hindi', 'hi')}"
    assert language in summary.text
    await tap(harness, meena, label("forms", "confirm", "hi"))
    assert server.last_bot_message(server.private_chat(meena)).html == render(
        "registration/submitted", "hi"
    )
    help_message = await say(harness, meena, "/help")
    person = await load_person(harness, meena)
    from bot.commands import MEMBER_HELP

    assert help_message.html == render(
        "common/help", "hi", commands=MEMBER_HELP, person=person, is_facilitator=False
    )


async def test_rejection_tells_registrant(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    review = await register(harness, ravi, Answers(name="Ravi Kumar"))

    await decide(harness, review, "reject")

    person = await load_person(harness, ravi)
    assert person is not None
    assert person.status == "rejected"
    assert server.last_bot_message(server.private_chat(ravi)).html == render(
        "registration/rejected", person=person
    )
    facilitator_chat = server.private_chat(harness.facilitator)
    assert server.last_bot_message(facilitator_chat).html == render(
        "registration/decision_done", person=person
    )
    assert harness.errors == []


async def test_second_decision_reports_already_decided(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    review = await register(harness, ravi, Answers(name="Ravi Kumar"))
    reject_data = decision_data(review, "reject")
    await decide(harness, review, "approve")

    await decide(harness, review, "reject", reject_data)

    person = await load_person(harness, ravi)
    assert person is not None
    assert person.status == "approved"
    assert server.callback_answers[-1]["text"] == str(
        render("registration/decision_already", person=person)
    )
    assert harness.errors == []


async def test_second_poc_flagged_as_handover(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    first_review = await register(harness, asha)
    await decide(harness, first_review, "approve")
    ravi = server.user("ravi")

    second_review = await register(harness, ravi, Answers(name="Ravi Kumar"))

    first = await load_person(harness, asha)
    second = await load_person(harness, ravi)
    assert first is not None and second is not None
    expected = render(
        "registration/review",
        person=second,
        bso_name=second.bso.name,
        new_bso=False,
        other_pocs=[first],
    )
    assert second_review.html == expected
    assert html.escape("Asha Patil") in second_review.html
    assert "<b>" in expected.split("Asha Patil")[0]  # the handover paragraph is rendered
    assert harness.errors == []


async def test_pending_lists_waiting_registrations(harness: SandboxHarness) -> None:
    server = harness.server
    await register(harness, server.user("asha"))
    await register(harness, server.user("ravi"), Answers(name="Ravi Kumar", bso="BAIF"))

    await say(harness, harness.facilitator, "/pending")

    messages = server.bot_messages(server.private_chat(harness.facilitator))[-3:]
    assert messages[0].html == render("registration/pending_count", count=2)
    assert "Asha Patil" in messages[1].text
    assert "Ravi Kumar" in messages[2].text
    assert messages[2].button_texts() == [
        label("registration", "approve"),
        label("registration", "reject"),
    ]
    assert harness.errors == []


async def test_pending_refused_for_member(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    reply = await say(harness, ravi, "/pending")

    assert reply.html == render("common/facilitators_only")


async def test_new_bso_marked_in_review(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")
    await tap(harness, asha, label("registration", "bso_not_listed"))
    await say(harness, asha, "Krishi Seva Sansthan")
    await say(harness, asha, "director")
    await say(harness, asha, "/skip")
    summary = await fill_form_rest(harness, asha)
    assert "New BSO: Krishi Seva Sansthan" in summary.text

    await tap(harness, asha, label("forms", "confirm"))

    person = await load_person(harness, asha)
    assert person is not None
    # The typed BSO joins the list only when a facilitator approves the person.
    assert person.bso is None
    assert person.proposed_bso_name == "Krishi Seva Sansthan"
    review = server.last_bot_message(server.private_chat(harness.facilitator))
    assert review.html == render(
        "registration/review",
        person=person,
        bso_name="Krishi Seva Sansthan",
        new_bso=True,
        other_pocs=[],
    )
    assert harness.errors == []


async def test_approved_member_reregisters(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    review = await register(harness, asha)
    await decide(harness, review, "approve")

    welcome = server.bot_messages(server.private_chat(asha))
    await say(harness, asha, "/register")

    person = await load_person(harness, asha)
    messages = server.bot_messages(server.private_chat(asha))[len(welcome) :]
    assert messages[0].html == render("registration/welcome_back", person=person)
    assert messages[1].html == render("registration/consent")


async def test_pending_person_cannot_restart(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await register(harness, asha)

    reply = await say(harness, asha, "/register")

    assert reply.html == render("registration/already_pending")


async def test_forget_my_data_erases_registration(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    review = await register(harness, asha)
    await decide(harness, review, "approve")
    await say(harness, asha, "/me")
    await tap(harness, asha, label("common", "forget"))

    done = await tap(harness, asha, label("common", "forget_confirm"))

    person = await load_person(harness, asha)
    assert person is not None
    assert done.html == render("common/forget_done")
    assert person.status == "new"
    assert person.name is None
    assert person.phone is None
    assert harness.errors == []


async def test_proposed_bso_hidden_until_approved(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    ravi = harness.server.user("ravi")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")
    await tap(harness, asha, label("registration", "bso_not_listed"))
    await say(harness, asha, "Gram Vikas Trust")
    await say(harness, asha, "coordinator")
    await say(harness, asha, "/skip")
    await say(harness, asha, "Odisha")
    await say(harness, asha, "ragi")
    await tap(harness, asha, label("registration", "english"))
    await tap(harness, asha, label("forms", "confirm"))

    await say(harness, ravi, "/start")
    await tap(harness, ravi, label("registration", "agree"))
    menu = await say(harness, ravi, "Ravi Kumar")

    assert "Gram Vikas Trust" not in menu.button_texts()
    review = harness.server.last_bot_message(harness.server.private_chat(harness.facilitator))
    assert review is not None
    assert "Gram Vikas Trust" in review.text
    assert harness.errors == []


async def test_typed_new_bso_reuses_listed_one(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_bso(harness, asha)
    await tap(harness, asha, label("registration", "bso_not_listed"))
    await say(harness, asha, "Professional Assistance for Development Action")
    await say(harness, asha, "director")
    await say(harness, asha, "/skip")
    await fill_form_rest(harness, asha)

    await tap(harness, asha, label("forms", "confirm"))

    person = await load_person(harness, asha)
    assert person is not None
    assert person.bso is not None
    assert person.bso.short_name == "PRADAN"
    assert person.proposed_bso_name is None
    assert harness.errors == []


async def test_misspelt_new_bso_joins_listed_one(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_bso(harness, asha)
    await tap(harness, asha, label("registration", "bso_not_listed"))
    await say(harness, asha, "Pradhan")
    await say(harness, asha, "director")
    await say(harness, asha, "/skip")
    await fill_form_rest(harness, asha)

    await tap(harness, asha, label("forms", "confirm"))

    person = await load_person(harness, asha)
    assert person is not None
    assert person.bso is not None
    assert person.bso.short_name == "PRADAN"
    assert person.proposed_bso_name is None
    assert harness.errors == []


async def test_edit_bso_to_listed_drops_new_name(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_bso(harness, asha)
    await tap(harness, asha, label("registration", "bso_not_listed"))
    await say(harness, asha, "Gram Vikas Trust")
    await say(harness, asha, "coordinator")
    await say(harness, asha, "/skip")
    await fill_form_rest(harness, asha)
    await tap(harness, asha, label("forms", "edit", field=label("registration", "bso")))

    summary = await tap(harness, asha, "BAIF")

    assert "Gram Vikas Trust" not in summary.text
    assert "BSO: Bharatiya Agro Industries Foundation" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    person = await load_person(harness, asha)
    assert person is not None
    assert person.bso is not None
    assert person.bso.short_name == "BAIF"
    assert person.proposed_bso_name is None
    assert harness.errors == []


async def test_shared_contact_answers_phone(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await open_form_at_bso(harness, asha)
    await tap(harness, asha, "PRADAN")
    await say(harness, asha, "programme manager")

    await server.send_contact(asha, server.private_chat(asha), "919876543210")
    await server.wait_idle()

    states_question = server.last_bot_message(server.private_chat(asha))
    assert states_question.html == question("registration/q_states")
    await say(harness, asha, "MH")
    await say(harness, asha, "onion")
    summary = await tap(harness, asha, label("registration", "english"))
    assert "Phone: +91 98765 43210" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    person = await load_person(harness, asha)
    assert person is not None
    assert person.phone == "+919876543210"
    assert harness.errors == []


async def test_shared_contact_before_phone_reasked(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))

    await server.send_contact(asha, server.private_chat(asha), "919876543210")
    await server.wait_idle()

    assert server.last_bot_message(server.private_chat(asha)).html == question(
        "registration/q_name",
        notes=(render("forms/not_expected", kind="contact"),),
        can_go_back=False,
    )
    person = await load_person(harness, asha)
    assert person is not None
    assert person.phone is None


async def test_deleted_bso_asked_again_at_confirm(harness: SandboxHarness) -> None:
    server = harness.server
    bso_id = await add_bso(harness, "Kisan Mitra Trust", "KMT")
    asha = server.user("asha")
    await fill_form(harness, asha, Answers(bso="KMT"))
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(delete(Bso).where(Bso.id == bso_id))

    bso_question = await tap(harness, asha, label("forms", "confirm"))

    assert bso_question.html == question(
        "registration/q_bso", notes=(render("forms/answer_dropped"),)
    )
    assert "KMT" not in bso_question.button_texts()
    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "new"
    summary = await tap(harness, asha, "PRADAN")
    assert "BSO: Professional Assistance for Development Action" in summary.text
    await tap(harness, asha, label("forms", "confirm"))
    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "pending"
    assert person.bso is not None
    assert person.bso.short_name == "PRADAN"
    assert harness.errors == []


async def test_bso_removed_during_save_keeps_summary(
    harness: SandboxHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = harness.server
    asha = server.user("asha")
    await fill_form(harness, asha, Answers())

    async def removed(*args: object) -> None:
        return None

    # As if the BSO was deleted after the form was built for this press, before the save.
    monkeypatch.setattr(registration.people, "get_bso", removed)
    reply = await tap(harness, asha, label("forms", "confirm"))

    assert reply.html == render("registration/bso_gone")
    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "new"
    monkeypatch.undo()
    await tap(harness, asha, label("forms", "confirm"))
    assert server.last_bot_message(server.private_chat(asha)).html == render(
        "registration/submitted"
    )
    assert harness.errors == []


async def test_many_bsos_asked_typed(harness: SandboxHarness) -> None:
    for number in range(registration.BSO_BUTTONS_MAX):
        await add_bso(harness, f"Farmer Support Society {number}")
    asha = harness.server.user("asha")

    bso_question = await open_form_at_bso(harness, asha)

    assert bso_question.html == question("registration/q_bso_typed")
    assert bso_question.button_texts() == [
        label("registration", "bso_not_listed"),
        label("forms", "back"),
        label("forms", "cancel"),
    ]
    role_question = await say(harness, asha, "Pradhan")
    assert role_question.html == question("registration/q_role")
    assert harness.errors == []


async def test_registration_expires_after_ttl(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await open_form_at_bso(harness, asha)
    harness.clock.advance(dt.timedelta(hours=harness.app.settings.form_ttl_hours, minutes=1))

    reply = await say(harness, asha, "PRADAN")

    assert reply.html == render(
        "forms/expired", title=render("registration/title"), command="/register"
    )
    person = await load_person(harness, asha)
    assert person is not None
    assert person.status == "new"
    again = await say(harness, asha, "/register")
    assert again.html == render("registration/consent")
