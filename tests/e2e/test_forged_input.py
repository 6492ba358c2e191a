"""Forged buttons, deep links and control characters are rejected without an error."""

from __future__ import annotations

import pytest
from e2e_helpers import (
    Answers,
    callback_answer_for,
    label,
    load_person,
    question,
    register,
    render,
    say,
    tap,
)
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from handlers.callbacks import FormButton
from storage import people
from storage.models import Person

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "data",
    [
        f"lk1:open:{HUGE}:1",
        f"lk1:page:{HUGE}:0",
        f"dc1:approve:{HUGE}",
        f"gk1:bso:{HUGE}",
        f"cm1:{HUGE}",
        "lk1:open:-1:1",
    ],
)
async def test_oversized_ids_in_buttons_rejected(harness: SandboxHarness, data: str) -> None:
    facilitator = harness.facilitator
    chat = harness.server.private_chat(facilitator)
    anchor = await say(harness, facilitator, "/help")
    answered = len(harness.server.callback_answers)

    await harness.server.press_data(facilitator, chat, anchor.message_id, data)
    await harness.server.wait_idle()

    answers = harness.server.callback_answers[answered:]
    assert harness.errors == []
    assert len(answers) == 1
    assert answers[0]["text"] == render("common/button_unknown")


async def test_oversized_deep_link_starts_plain_registration(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    reply = await say(harness, ravi, f"/start reg_{HUGE}")

    assert reply.html == render("registration/consent")
    assert harness.errors == []


async def test_control_characters_become_spaces(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    await say(harness, asha, "Asha\x00Patil")
    await tap(harness, asha, "PRADAN")
    await say(harness, asha, "programme manager")
    await say(harness, asha, "/skip")
    await say(harness, asha, "MH")
    await say(harness, asha, "onion")

    summary = await tap(harness, asha, label("registration", "english"))
    await tap(harness, asha, label("forms", "confirm"))

    person = await load_person(harness, asha)
    assert "Asha Patil" in summary.text
    assert person is not None
    assert person.name == "Asha Patil"
    assert harness.errors == []


async def test_forget_erases_every_community(harness: SandboxHarness) -> None:
    assert harness.app is not None
    ravi = harness.server.user("ravi")
    await register(harness, ravi, Answers(name="Ravi One"))
    async with harness.app.sessionmaker.begin() as session:
        second = await people.add_community(session, name="Second CoP", timezone="Asia/Kolkata")
        session.add(
            Person(
                community_id=second.id,
                telegram_id=ravi.id,
                name="Ravi Two",
                status="pending",
                phone="+919822233355",
                proposed_bso_name="Kulkarni Family Producer Trust",
                states=["Bihar"],
                commodities=["potato"],
            )
        )

    await say(harness, ravi, "/me")
    await tap(harness, ravi, label("common", "forget"))
    await tap(harness, ravi, label("common", "forget_confirm"))

    async with harness.app.sessionmaker() as session:
        rows = (await session.scalars(select(Person).where(Person.telegram_id == ravi.id))).all()
    assert len(rows) == 2
    assert all(row.name is None for row in rows)
    assert all(row.phone is None for row in rows)
    assert all(row.proposed_bso_name is None for row in rows)
    assert all(row.status == "new" for row in rows)
    assert harness.errors == []


async def test_forged_bso_button_rejected(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    chat = server.private_chat(asha)
    await say(harness, asha, "/start")
    await tap(harness, asha, label("registration", "agree"))
    bso_question = await say(harness, asha, "Asha Patil")
    pradan = next(
        button for row in bso_question.buttons for button in row if button.text == "PRADAN"
    )
    assert pradan.callback_data is not None
    genuine = FormButton.unpack(pradan.callback_data)
    forged = FormButton(flow=genuine.flow, action="choose", value="b99999", version=genuine.version)

    update = await server.press_data(asha, chat, bso_question.message_id, forged.pack())
    await server.wait_idle()

    answer = callback_answer_for(harness, update)
    assert answer is not None
    assert answer["text"] == str(render("forms/stale"))
    assert answer["show_alert"] is True
    role_question = await tap(harness, asha, "PRADAN")
    assert role_question.html == question("registration/q_role")
    assert harness.errors == []
