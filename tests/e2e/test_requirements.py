"""End-to-end tests of buyer requirements: posting, matching, offers, acceptance, closing, expiry."""

from __future__ import annotations

import datetime as dt

from asks_steps import alert, approved_poc, bso_id_of, button_data, cop_group, press
from e2e_helpers import Answers, error, label, say, tap
from schedule_steps import india, run_at
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import SandboxUser
from storage.models import Offer, Requirement, RequirementCard, SupplyProfile

NOW = india(2026, 12, 4, 10)


async def add_profile(
    harness: SandboxHarness, short_name: str, commodity: str, months: list[int], tonnes: float
) -> None:
    assert harness.app is not None
    bso_id = await bso_id_of(harness, short_name)
    async with harness.app.sessionmaker.begin() as session:
        session.add(
            SupplyProfile(
                community_id=1,
                bso_id=bso_id,
                commodity=commodity,
                states=["Maharashtra"],
                harvest_months=months,
                volume_tonnes=tonnes,
            )
        )


async def post_requirement(
    harness: SandboxHarness,
    user: SandboxUser,
    *,
    commodity: str = "onion",
    quantity: str = "20 tonnes",
    window: str = "April-May",
) -> None:
    """Answer the requirement form in private chat up to Confirm."""
    await say(harness, user, commodity)
    await say(harness, user, "/skip")
    await say(harness, user, quantity)
    await tap(harness, user, label("requirements", "one_off"))
    await say(harness, user, "/skip")
    await say(harness, user, "Nashik, Maharashtra")
    await say(harness, user, window)
    await say(harness, user, "/skip")
    await say(harness, user, "Fresh Basket Retail")
    await tap(harness, user, label("requirements", "new_buyer", name="Fresh Basket Retail"))
    await say(harness, user, "Ravi Kumar")
    await say(harness, user, "98765 11111")
    await tap(harness, user, label("forms", "confirm"))


async def load_requirements(harness: SandboxHarness) -> list[Requirement]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Requirement).order_by(Requirement.id))).all())


async def load_cards(harness: SandboxHarness) -> list[RequirementCard]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        query = select(RequirementCard).order_by(RequirementCard.id)
        return list((await session.scalars(query)).all())


async def test_requirement_offer_accept_close(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    group = await cop_group(harness, "Market task force", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    supplier = await approved_poc(
        harness, "supplier", Answers(name="Vikas Rao", bso="BAIF", phone="98765 22222")
    )
    await add_profile(harness, "BAIF", "onion", [3, 4, 5], 100)

    await say(harness, poster, "/requirement", chat=group)
    await tap(harness, poster, label("requirements", "continue_private"), chat=group)
    await post_requirement(harness, poster)
    await harness.settle()

    requirements = await load_requirements(harness)
    assert len(requirements) == 1
    requirement = requirements[0]
    assert requirement.commodity == "onion"
    assert requirement.quantity_tonnes == 20
    assert requirement.delivery_state == "Maharashtra"
    cards = await load_cards(harness)
    assert [(card.chat_id, card.thread_id) for card in cards] == [(group.id, 0)]
    card = harness.server.last_bot_message(group)
    assert label("requirements", "we_can_supply") in card.button_texts()

    notice = harness.server.last_bot_message(harness.server.private_chat(supplier))
    assert "requirement #1" in notice.text
    notices = [
        message
        for message in harness.server.bot_messages(harness.server.private_chat(supplier))
        if "requirement #1" in message.text and "Why you" in message.text
    ]
    assert len(notices) == 1

    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await say(harness, supplier, "15 tonnes")
    await say(harness, supplier, "Sahyadri FPC, Nashik")
    await say(harness, supplier, "Mar-May")
    await say(harness, supplier, "/skip")
    await tap(harness, supplier, label("forms", "confirm"))
    await harness.settle()

    offer_message = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert "New offer" in offer_message.text
    await tap(harness, poster, label("requirements", "accept", bso="BAIF"))
    await harness.settle()

    assert (
        harness.server.last_bot_message(harness.server.private_chat(poster)).text.count(
            "+91 98765 22222"
        )
        == 1
    )
    assert (
        "98765 11111" in harness.server.last_bot_message(harness.server.private_chat(supplier)).text
    )
    assert (await load_requirements(harness))[0].status == "matched"

    await say(harness, poster, "/requirements mine")
    await tap(harness, poster, label("requirements", "details_of", number=1))
    await tap(harness, poster, label("requirements", "close"))
    await tap(harness, poster, label("requirements/close", "supplied"))
    await say(harness, poster, "15")
    await tap(harness, poster, label("forms", "confirm"))
    closed = (await load_requirements(harness))[0]
    assert closed.status == "closed"
    assert closed.outcome_tonnes == 15


async def test_other_poc_cannot_accept(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    supplier = await approved_poc(harness, "supplier", Answers(name="Vikas Rao", bso="BAIF"))
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster)
    await harness.settle()
    await say(harness, supplier, "/requirements")
    await tap(harness, supplier, label("requirements", "details_of", number=1))
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    for answer in ("5 tonnes", "Sahyadri FPC", "Apr-May", "/skip"):
        await say(harness, supplier, answer)
    await tap(harness, supplier, label("forms", "confirm"))
    await harness.settle()
    offer_message = harness.server.last_bot_message(harness.server.private_chat(poster))
    data = button_data(offer_message, label("requirements", "accept", bso="BAIF"))

    forged = await press(
        harness,
        supplier,
        harness.server.last_bot_message(harness.server.private_chat(supplier)),
        data,
    )
    assert forged is not None
    assert forged.get("text") == alert("requirements/not_yours")
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        offer = await session.scalar(select(Offer))
    assert offer is not None and offer.status == "pending"


async def test_bad_inputs_keep_answers(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement")
    reply = await say(harness, poster, "xyzzy")
    assert str(error("commodity_unknown", unknown=["xyzzy"])) in (reply.html or "")
    await say(harness, poster, "प्याज")
    await say(harness, poster, "/skip")
    reply = await say(harness, poster, "0 kg")
    assert str(error("quantity_not_positive", typed="0 kg")) in (reply.html or "")
    await say(harness, poster, "५०० क्विंटल")
    await tap(harness, poster, label("requirements", "weekly"))
    await say(harness, poster, "/skip")
    await say(harness, poster, "नासिक, महाराष्ट्र")
    reply = await say(harness, poster, "Jan 2026 to Mar 2026")
    assert str(error("window_past", typed="Jan 2026 to Mar 2026", end="31 Mar 2026")) in (
        reply.html or ""
    )
    await say(harness, poster, "मार्च से मई")
    await say(harness, poster, "/skip")
    await say(harness, poster, "Fresh Basket")
    await tap(harness, poster, label("requirements", "new_buyer", name="Fresh Basket"))
    await say(harness, poster, "Ravi")
    reply = await say(harness, poster, "12345")
    assert str(error("phone_invalid", typed="12345")) in (reply.html or "")
    await say(harness, poster, "98765 11111")
    await tap(harness, poster, label("forms", "confirm"))
    requirement = (await load_requirements(harness))[0]
    assert requirement.commodity == "onion"
    assert requirement.quantity_tonnes == 50
    assert requirement.window_start == dt.date(2027, 3, 1)
    assert requirement.window_end == dt.date(2027, 5, 31)


async def test_requirement_expires(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster, window="Dec")
    await run_at(harness, india(2027, 1, 2, 10))
    await run_at(harness, india(2027, 1, 3, 10))
    assert (await load_requirements(harness))[0].status == "expired"
    expired = [
        message
        for message in harness.server.bot_messages(harness.server.private_chat(poster))
        if "has expired" in message.text
    ]
    assert len(expired) == 1


async def test_complementary_mango_seasons(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    maharashtra = await approved_poc(harness, "mh", Answers(name="Vikas Rao", bso="BAIF"))
    karnataka = await approved_poc(harness, "ka", Answers(name="Meena Gowda", bso="ASA"))
    await add_profile(harness, "BAIF", "mango", [2, 3, 4], 30)
    await add_profile(harness, "ASA", "mango", [5, 6], 30)

    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster, commodity="आम", quantity="40 टन", window="Feb to Jun")
    await harness.settle()

    for user in (maharashtra, karnataka):
        told = [
            message
            for message in harness.server.bot_messages(harness.server.private_chat(user))
            if "requirement #1" in message.text
        ]
        assert len(told) == 1, f"{user.first_name} was told {len(told)} times"
    posted = [
        message.text
        for message in harness.server.bot_messages(harness.server.private_chat(poster))
        if message.text.startswith("Requirement #1 is saved")
    ]
    assert len(posted) == 1
    assert "Together: BAIF supplies Feb–Apr, ASA supplies May–Jun." in posted[0]
