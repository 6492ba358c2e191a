"""Registration end to end: the private form, the group deep link, approval and rejection."""

from __future__ import annotations

import html

from e2e_helpers import (
    Answers,
    decide,
    decision_data,
    fill_form,
    label,
    load_person,
    register,
    render,
    say,
    tap,
)

from bot.sandbox.harness import SandboxHarness


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

    states_question = await tap(harness, asha, label("registration", "skip"))

    assert states_question.html == render("registration/ask_states", reason=None)
    summary = await fill_form_rest(harness, asha)
    assert "Phone: not given" in summary.text
    assert harness.errors == []


async def fill_form_rest(harness: SandboxHarness, user) -> object:
    await say(harness, user, "Bihar")
    await say(harness, user, "potato")
    return await tap(harness, user, label("registration", "english"))


async def test_registration_typed_bso_fuzzy(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha Patil")

    role_question = await say(harness, asha, "Pradan")

    assert role_question.html == render("registration/ask_role", reason=None)


async def test_registration_hindi_language_switches_texts(harness: SandboxHarness) -> None:
    server = harness.server
    meena = server.user("meena")

    summary = await fill_form(harness, meena, Answers(name="मीना वर्मा", language="hi"))

    assert summary.button_texts()[-2:] == [
        label("registration", "confirm", "hi"),
        label("registration", "cancel", "hi"),
    ]
    await tap(harness, meena, label("registration", "confirm", "hi"))
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
    await fill_form_rest(harness, asha)

    await tap(harness, asha, label("registration", "confirm"))

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
    await tap(harness, asha, label("registration", "confirm"))

    await say(harness, ravi, "/start")
    await tap(harness, ravi, label("registration", "agree"))
    menu = await say(harness, ravi, "Ravi Kumar")

    assert "Gram Vikas Trust" not in menu.button_texts()
    review = harness.server.last_bot_message(harness.server.private_chat(harness.facilitator))
    assert review is not None
    assert "Gram Vikas Trust" in review.text
    assert harness.errors == []
