"""End-to-end tests of buyer requirements: who sees contacts, two PoCs of one BSO, offer
revisions, long views, line structure, quantities, Hindi names and refusal messages."""

from __future__ import annotations

import datetime as dt

from asks_steps import alert, approved_poc, button_data, cop_group, press
from e2e_helpers import TEXTS, Answers, error, label, register, render, say, tap
from sqlalchemy import select, update
from test_requirements import NOW, add_profile, load_requirements, post_requirement
from test_requirements_more import card_in, offer, posted_from_private

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from bot.texts import MESSAGE_LIMIT, utf16_length
from storage.models import Bso, Offer, Person, Requirement
from storage.normalize import name_key

CONTACT_PHONE = "98765 11111"


def private_messages(harness: SandboxHarness, user: SandboxUser) -> list[BotMessage]:
    return harness.server.bot_messages(harness.server.private_chat(user))


async def details_of(harness: SandboxHarness, user: SandboxUser, number: int = 1) -> BotMessage:
    """Send /requirements in the user's private chat and press Details of requirement `number`."""
    await say(harness, user, "/requirements")
    return await tap(harness, user, label("requirements", "details_of", number=number))


async def test_details_contact_only_for_approved(harness: SandboxHarness) -> None:
    await posted_from_private(harness)
    stranger = harness.server.user("stranger")
    pending = harness.server.user("pending")
    await register(harness, pending, Answers(name="Meena Gowda", bso="ASA"))
    hidden = "Only approved PoCs and facilitators see the contact, in private chat with me."

    for user in (stranger, pending):
        shown = await details_of(harness, user)
        assert shown.text.startswith("Buyer requirement #1")
        assert CONTACT_PHONE not in shown.text
        assert "Ravi Kumar" not in shown.text
        assert hidden in shown.text

    reader = await approved_poc(harness, "reader", Answers(name="Vikas Rao", bso="ASA"))
    shown = await details_of(harness, reader)
    assert CONTACT_PHONE in shown.text
    assert hidden not in shown.text


async def test_second_poc_of_bso_sees_and_changes_offer(harness: SandboxHarness) -> None:
    poster, supplier, _, _ = await posted_from_private(harness)
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier, "15 tonnes")
    first_offer = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert "New offer" in first_offer.text

    colleague = await approved_poc(
        harness, "colleague", Answers(name="Meena Yadav", bso="BAIF", phone="98765 33333")
    )
    summary = await say(harness, colleague, "/start rqo1")
    assert label("forms", "confirm") in summary.button_texts()
    told = [message.text for message in private_messages(harness, colleague)]
    assert any("Vikas Rao of your BSO offered already" in text for text in told)
    assert any("15 tonnes" in text for text in told)

    quantity = label("requirements/offer", "quantity")
    await tap(harness, colleague, TEXTS.label("en", "forms", "edit", field=quantity))
    await say(harness, colleague, "12 tonnes")
    await tap(harness, colleague, label("forms", "confirm"))
    await harness.settle()

    saved = harness.server.last_bot_message(harness.server.private_chat(colleague))
    assert "made by Vikas Rao, is changed" in saved.text
    notice = harness.server.last_bot_message(harness.server.private_chat(supplier))
    assert notice.text.startswith("Meena Yadav of your BSO changed your offer for requirement #1")
    assert "12 tonnes" in notice.text

    changed = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert "Changed offer" in changed.text
    accept = label("requirements", "accept", bso="BAIF")
    outdated = await press(harness, poster, first_offer, button_data(first_offer, accept))
    assert outdated is not None
    assert outdated.get("text") == alert("requirements/offer_outdated", offer={"bso": "BAIF"})
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        stored = await session.scalar(select(Offer))
    assert stored is not None
    assert stored.status == "pending"
    assert stored.revision == 2

    accepted = await press(harness, poster, changed, button_data(changed, accept))
    assert accepted is not None
    assert accepted.get("text") == alert("requirements/offer_accepted")
    assert harness.errors == []


async def test_accepted_offer_cannot_change(harness: SandboxHarness) -> None:
    poster, supplier, _, _ = await posted_from_private(harness)
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier, "15 tonnes")
    await tap(harness, poster, label("requirements", "accept", bso="BAIF"))
    await harness.settle()

    reply = await say(harness, supplier, "/start rqo1")
    assert reply.text == render("requirements/offer_locked", requirement={"id": 1})
    assert label("forms", "confirm") not in reply.button_texts()
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        stored = await session.scalar(select(Offer))
    assert stored is not None
    assert stored.status == "accepted"
    assert stored.quantity_tonnes == 15


async def add_long_offers(harness: SandboxHarness, poster: SandboxUser, count: int) -> None:
    """Store ten requirements of maximum length, each with `count` offers of maximum length."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == poster.id))
        assert person is not None
        bsos = []
        for number in range(count):
            name = f"Farmer Producer Support Foundation number {number:02d} " + "x" * 140
            bsos.append(Bso(community_id=person.community_id, name=name, name_key=name_key(name)))
        session.add_all(bsos)
        for _ in range(10):
            requirement = Requirement(
                community_id=person.community_id,
                posted_by=person.id,
                commodity="onion",
                commodity_text="onion",
                variety="v" * 200,
                quantity=1_000_000,
                unit="tonne",
                quantity_tonnes=1_000_000,
                frequency="one_off",
                quality="q" * 1000,
                delivery_place="Nashik, Maharashtra " + "p" * 180,
                delivery_state="Maharashtra",
                window_start=dt.date(2027, 4, 1),
                window_end=dt.date(2027, 5, 31),
                price="r" * 200,
                buyer_name="b" * 200,
                contact="c" * 120 + ", +91 98765 11111",
                status="offers",
            )
            session.add(requirement)
            await session.flush()
            session.add_all(
                Offer(
                    community_id=person.community_id,
                    requirement_id=requirement.id,
                    bso_id=bso.id,
                    quantity_tonnes=123456.789,
                    fpos_place="f" * 1000,
                    months=[3, 4, 5],
                    price="₹" * 200,
                )
                for bso in bsos
            )


def assert_fits(message: BotMessage) -> None:
    assert utf16_length(message.text) <= MESSAGE_LIMIT


async def test_views_fit_with_maximum_inputs(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await add_long_offers(harness, poster, 20)

    mine = await say(harness, poster, "/requirements mine")
    assert mine.text.startswith("Your buyer requirements")
    assert_fits(mine)
    assert "and 17 more: open Details #10" in mine.text

    listing = await say(harness, poster, "/requirements")
    assert listing.text.startswith("Open buyer requirements")
    assert_fits(listing)

    details = await tap(harness, poster, label("requirements", "details_of", number=10))
    assert details.text.startswith("Buyer requirement #10")
    assert_fits(details)
    assert "Offers 1–8 of 20:" in details.text
    assert label("requirements", "close") in details.button_texts()
    last = await tap(harness, poster, label("requirements", "next"))
    last = await tap(harness, poster, label("requirements", "next"))
    assert last.message_id == details.message_id
    assert "Offers 17–20 of 20:" in last.text
    assert_fits(last)
    assert label("requirements", "close") in last.button_texts()
    assert harness.errors == []


async def test_views_keep_line_breaks(harness: SandboxHarness) -> None:
    poster, supplier, north, _ = await posted_from_private(harness)
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier, "15 tonnes")

    card_lines = card_in(harness, north).text.splitlines()
    assert card_lines[0] == "Buyer requirement #1: onion"
    assert card_lines[1].startswith("Quantity: 20 tonnes, ")

    mine = await say(harness, poster, "/requirements mine")
    mine_lines = mine.text.splitlines()
    assert mine_lines[1] == "#1 onion, 20 tonnes (offers received)"
    assert mine_lines[2] == "  • BAIF: 15 tonnes (waiting for an answer)"
    assert mine_lines[3] == "Open one to accept offers or close it."

    details = await tap(harness, poster, label("requirements", "details_of", number=1))
    details_lines = details.text.splitlines()
    assert details_lines[0] == "Buyer requirement #1: onion"
    assert details_lines[1].startswith("Quantity: 20 tonnes")
    assert details_lines[-2] == "Offers:"
    assert details_lines[-1].startswith("• BAIF: 15 tonnes, Sahyadri FPC, Nashik")

    posted = next(
        message
        for message in private_messages(harness, poster)
        if message.text.startswith("Requirement #1 is saved")
    )
    assert posted.text.splitlines()[1].startswith("1 BSO was told: BAIF.")


async def test_group_start_says_where_card_goes(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    cop = await cop_group(harness, "CoP all")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))

    none_yet = await say(harness, poster, "/requirement", chat=cop)
    assert "will then be posted here" not in none_yet.text
    assert "/groupkind" in none_yet.text

    await cop_group(harness, "Onion task force", kind="task_force")
    elsewhere = await say(harness, poster, "/requirement", chat=cop)
    assert "will then be posted here" not in elsewhere.text
    assert "Onion task force" in elsewhere.text


async def test_quantities_formatted_and_minimum(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    group = await cop_group(harness, "Task force", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement")
    await say(harness, poster, "onion")
    await say(harness, poster, "/skip")
    refused = await say(harness, poster, "0.0001 kg")
    assert refused.text.startswith("“0.0001 kg” is less than 1 kg, the smallest quantity")
    await say(harness, poster, "/cancel")

    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster, quantity="1234567.5 kg")
    await harness.settle()
    assert "Quantity: 12,34,567.5 kg, " in card_in(harness, group).text
    assert ".0 " not in card_in(harness, group).text


async def test_hindi_poster_sees_hindi_commodity(harness: SandboxHarness) -> None:
    poster, supplier, _, _ = await posted_from_private(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        await session.execute(
            update(Person).where(Person.telegram_id == poster.id).values(locale="hi")
        )
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier)

    received = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert "(प्याज)" in received.text
    assert "onion" not in received.text


async def test_two_commodities_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement")
    reply = await say(harness, poster, "onion and potato")
    assert "“onion”, “potato”" in reply.text
    assert reply.text.startswith(
        error("commodity_several", typed="onion and potato", names=["onion", "potato"])
    )


async def test_pending_poc_told_to_wait(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    group = await cop_group(harness, "Market task force", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement", chat=group)
    await tap(harness, poster, label("requirements", "continue_private"), chat=group)
    await post_requirement(harness, poster)
    await harness.settle()
    waiting = harness.server.user("waiting")
    await register(harness, waiting, Answers(name="Meena Gowda", bso="BAIF"))

    card = card_in(harness, group)
    answer = await press(
        harness, waiting, card, button_data(card, label("requirements", "we_can_supply"))
    )
    assert answer is not None
    assert answer.get("text") == alert("requirements/pending_offer")
    reply = await say(harness, waiting, "/requirement")
    assert reply.text == render("requirements/pending")


async def test_facilitator_accept_names_facilitator(harness: SandboxHarness) -> None:
    poster, supplier, _, _ = await posted_from_private(harness)
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier)

    await details_of(harness, harness.facilitator)
    await tap(harness, harness.facilitator, label("requirements", "accept", bso="BAIF"))
    await harness.settle()
    contact = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert "(facilitator) accepted the offer of" in contact.text
    assert not contact.text.startswith("You accepted")


async def test_dead_offer_link_says_why(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    supplier = await approved_poc(harness, "supplier", Answers(name="Vikas Rao", bso="BAIF"))
    reply = await say(harness, supplier, "/start rqo999")
    assert reply.text == render("requirements/link_dead", reason="not_found")
    assert "no requirement has this number" in reply.text


async def test_accepted_contacts_link_both_sides(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = harness.server.user("poster", username="asha_pradan")
    await approved_poc(harness, "poster", Answers(name="Asha <Patil>", bso="PRADAN", phone=None))
    supplier = harness.server.user("supplier", username="vikas_baif")
    await approved_poc(harness, "supplier", Answers(name="Vikas Rao", bso="BAIF", phone=None))
    await cop_group(harness, "Task force", kind="task_force")
    await add_profile(harness, "BAIF", "onion", [3, 4, 5], 100)
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster)
    await harness.settle()
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier)
    await tap(harness, poster, label("requirements", "accept", bso="BAIF"))
    await harness.settle()

    to_poster = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert to_poster.html is not None
    assert f'<a href="tg://user?id={supplier.id}">Vikas Rao</a>' in to_poster.html
    assert "@vikas_baif" in to_poster.text
    to_supplier = harness.server.last_bot_message(harness.server.private_chat(supplier))
    assert to_supplier.html is not None
    assert f'<a href="tg://user?id={poster.id}">Asha &lt;Patil&gt;</a>' in to_supplier.html
    assert "@asha_pradan" in to_supplier.text
    assert CONTACT_PHONE in to_supplier.text
    assert harness.errors == []


async def test_summary_hides_typed_buyer_name(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    # The test community's buyer registry lists Sarthi Agritech Pvt Ltd of New Delhi.
    await say(harness, poster, "/requirement")
    for answer in ("onion", "/skip", "20 tonnes"):
        await say(harness, poster, answer)
    await tap(harness, poster, label("requirements", "one_off"))
    for answer in ("/skip", "Nashik, Maharashtra", "April-May", "/skip", "Sarthi"):
        await say(harness, poster, answer)
    await tap(harness, poster, "Sarthi Agritech Pvt Ltd (New Delhi)")
    await say(harness, poster, "Ravi Kumar")
    summary = await say(harness, poster, "98765 11111")

    assert "Buyer: Sarthi Agritech Pvt Ltd (New Delhi)" in summary.text
    assert label("requirements", "buyer_query") + ":" not in summary.text
    edit = TEXTS.label("en", "forms", "edit", field=label("requirements", "buyer_query"))
    assert edit in summary.button_texts()
    await tap(harness, poster, label("forms", "confirm"))
    assert (await load_requirements(harness))[0].buyer_name == "Sarthi Agritech Pvt Ltd"
