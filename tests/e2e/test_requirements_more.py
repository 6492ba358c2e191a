"""End-to-end tests of buyer requirements: cards in several groups, paging, declines,
buyer proposals, the group card's buttons and refused offers."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from asks_steps import alert, approved_poc, button_data, cop_group, press
from e2e_helpers import TEXTS, Answers, label, render, say, tap
from schedule_steps import india, run_at
from sqlalchemy import select
from test_requirements import NOW, add_profile, load_cards, load_requirements, post_requirement

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from storage.models import Buyer, BuyerProposal, Offer, Person, Requirement

DECLINED_NOTICE = "has not accepted it this time"


def card_in(harness: SandboxHarness, group: SandboxChat) -> BotMessage:
    """Return the requirement card the bot posted in a group, as it reads now."""
    cards = [
        message
        for message in harness.server.bot_messages(group)
        if message.text.startswith("Buyer requirement #")
    ]
    assert len(cards) == 1, f"expected one card in {group.title}, got {len(cards)}"
    return cards[0]


def status_line(status: str) -> str:
    return f"Status: {label('requirements', f'status_{status}')}"


async def offer(harness: SandboxHarness, user: SandboxUser, tonnes: str = "15 tonnes") -> None:
    """Fill in the offer form, already opened in the user's private chat, up to Confirm."""
    await say(harness, user, tonnes)
    await say(harness, user, "Sahyadri FPC, Nashik")
    await say(harness, user, "Mar-May")
    await say(harness, user, "/skip")
    await tap(harness, user, label("forms", "confirm"))
    await harness.settle()


async def posted_from_private(
    harness: SandboxHarness,
) -> tuple[SandboxUser, SandboxUser, SandboxChat, SandboxChat]:
    """Two task-force groups, a poster of PRADAN, a supplier of BAIF notified of requirement #1."""
    harness.clock.set(NOW)
    north = await cop_group(harness, "Task force north", kind="task_force")
    south = await cop_group(harness, "Task force south", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    supplier = await approved_poc(
        harness, "supplier", Answers(name="Vikas Rao", bso="BAIF", phone="98765 22222")
    )
    await add_profile(harness, "BAIF", "onion", [3, 4, 5], 100)
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster)
    await harness.settle()
    return poster, supplier, north, south


async def test_cards_follow_status_in_every_group(
    harness: SandboxHarness, caplog: pytest.LogCaptureFixture
) -> None:
    poster, supplier, north, south = await posted_from_private(harness)

    cards = await load_cards(harness)
    assert sorted(card.chat_id for card in cards) == sorted([north.id, south.id])
    for group in (north, south):
        assert status_line("open") in card_in(harness, group).text

    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier)
    for group in (north, south):
        assert status_line("offers") in card_in(harness, group).text

    # The north card's message is deleted, and the south card must still follow the status.
    caplog.set_level(logging.WARNING, logger="handlers.requirements")
    north_card = card_in(harness, north)
    del harness.server._messages[(north.id, north_card.message_id)]
    await tap(harness, poster, label("requirements", "accept", bso="BAIF"))
    await harness.settle()
    assert status_line("matched") in card_in(harness, south).text
    assert any(
        str(north.id) in record.getMessage() and "not updated" in record.getMessage()
        for record in caplog.records
    )

    await say(harness, poster, "/requirements mine")
    await tap(harness, poster, label("requirements", "details_of", number=1))
    await tap(harness, poster, label("requirements", "close"))
    await tap(harness, poster, label("requirements/close", "supplied"))
    await say(harness, poster, "15")
    await tap(harness, poster, label("forms", "confirm"))
    south_card = card_in(harness, south)
    assert status_line("closed") in south_card.text
    assert south_card.buttons == []
    assert harness.errors == []


async def test_expiry_updates_cards_past_failed_group(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    north = await cop_group(harness, "Task force north", kind="task_force")
    south = await cop_group(harness, "Task force south", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster, window="Dec")
    await harness.settle()
    first, second = await load_cards(harness)
    failing, working = (north, south) if first.chat_id == north.id else (south, north)

    # The bot was removed from the group of the first card: its edit fails with 403.
    harness.server.faults.fail("editMessageText", 403, "Forbidden: bot was kicked from the group")
    await run_at(harness, india(2027, 1, 2, 10))

    assert (await load_requirements(harness))[0].status == "expired"
    assert status_line("open") in card_in(harness, failing).text
    expired_card = card_in(harness, working)
    assert status_line("expired") in expired_card.text
    assert expired_card.buttons == []
    assert second.chat_id == working.id


async def add_requirements(
    harness: SandboxHarness, poster: SandboxUser, count: int, *, commodity: str = "onion"
) -> None:
    """Store `count` open requirements of the poster directly in the database."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == poster.id))
        assert person is not None
        session.add_all(
            Requirement(
                community_id=person.community_id,
                posted_by=person.id,
                commodity=commodity,
                commodity_text=commodity,
                quantity=10 + number,
                unit="tonne",
                quantity_tonnes=10 + number,
                frequency="one_off",
                delivery_place="Nashik, Maharashtra",
                delivery_state="Maharashtra",
                window_start=dt.date(2027, 4, 1),
                window_end=dt.date(2027, 5, 31),
                buyer_name="Fresh Basket Retail",
                contact="Ravi Kumar, +91 98765 11111",
            )
            for number in range(count)
        )


def listed_numbers(message: BotMessage) -> list[str]:
    prefix = label("requirements", "details_of", number="")
    return [text.removeprefix(prefix) for text in message.button_texts() if text.startswith(prefix)]


async def test_list_pages_keep_filter(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    reader = await approved_poc(harness, "reader", Answers(name="Vikas Rao", bso="BAIF"))
    await add_requirements(harness, poster, 12, commodity="onion")
    await add_requirements(harness, poster, 3, commodity="mango")

    first = await say(harness, reader, "/requirements onion")
    assert listed_numbers(first) == [str(number) for number in range(12, 2, -1)]
    assert "page 1 of 2" in first.text
    assert label("requirements", "previous") not in first.button_texts()
    for row in first.buttons:
        for found in row:
            assert found.callback_data is None or len(found.callback_data.encode()) <= 64

    second = await tap(harness, reader, label("requirements", "next"))
    assert second.message_id == first.message_id
    assert listed_numbers(second) == ["2", "1"]
    assert "page 2 of 2" in second.text
    assert label("requirements", "next") not in second.button_texts()

    back = await tap(harness, reader, label("requirements", "previous"))
    assert listed_numbers(back) == [str(number) for number in range(12, 2, -1)]

    everything = await say(harness, reader, "/requirements")
    assert listed_numbers(everything) == [str(number) for number in range(15, 5, -1)]
    last = await tap(harness, reader, label("requirements", "next"))
    assert listed_numbers(last) == [str(number) for number in range(5, 0, -1)]


async def test_list_page_forged_query_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await add_requirements(harness, poster, 12)
    listing = await say(harness, poster, "/requirements onion")
    data = button_data(listing, label("requirements", "next"))
    prefix, query_id, page, mine = data.split(":")

    forged = await press(harness, poster, listing, f"{prefix}:999999:{page}:{mine}")
    assert forged is not None
    assert forged.get("text") == alert("common/button_unknown")
    assert forged.get("show_alert") is True

    beyond = await press(harness, poster, listing, f"{prefix}:{query_id}:50:{mine}")
    assert beyond is not None and beyond.get("text") is None
    assert listed_numbers(card_or_list(harness, harness.server.private_chat(poster), listing)) == [
        "2",
        "1",
    ]


async def test_mine_list_pages(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await add_requirements(harness, poster, 11)
    first = await say(harness, poster, "/requirements mine")
    assert len(listed_numbers(first)) == 10
    second = await tap(harness, poster, label("requirements", "next"))
    assert listed_numbers(second) == ["1"]


async def test_mine_page_in_group_only_for_owner(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    group = await cop_group(harness, "Market task force", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    other = await approved_poc(harness, "other", Answers(name="Vikas Rao", bso="BAIF"))
    await add_requirements(harness, poster, 11)
    listing = await say(harness, poster, "/requirements mine", chat=group)

    refused = await press(
        harness, other, listing, button_data(listing, label("requirements", "next"))
    )
    assert refused is not None
    assert refused.get("text") == alert("requirements/mine_not_yours")
    assert len(listed_numbers(card_or_list(harness, group, listing))) == 10


def card_or_list(harness: SandboxHarness, chat: SandboxChat, message: BotMessage) -> BotMessage:
    """Return a bot message of the chat as it reads now, after edits."""
    return next(
        found
        for found in harness.server.bot_messages(chat)
        if found.message_id == message.message_id
    )


async def test_decline_tells_supplier_and_offer_resent(harness: SandboxHarness) -> None:
    poster, supplier, _, _ = await posted_from_private(harness)
    await tap(harness, supplier, label("requirements", "we_can_supply"))
    await offer(harness, supplier)

    received = harness.server.last_bot_message(harness.server.private_chat(poster))
    answer = await press(
        harness,
        poster,
        received,
        button_data(received, label("requirements", "decline", bso="BAIF")),
    )
    await harness.settle()
    assert answer is not None
    assert answer.get("text") == alert("requirements/offer_declined")
    assert card_or_list(harness, harness.server.private_chat(poster), received).buttons == []
    assert harness.errors == []
    notice = harness.server.last_bot_message(harness.server.private_chat(supplier))
    assert DECLINED_NOTICE in notice.text
    assert "98765 11111" not in notice.text
    assert label("requirements", "we_can_supply") in notice.button_texts()

    summary = await tap(harness, supplier, label("requirements", "we_can_supply"))
    assert label("forms", "confirm") in summary.button_texts()
    quantity = label("requirements/offer", "quantity")
    await tap(harness, supplier, TEXTS.label("en", "forms", "edit", field=quantity))
    await say(harness, supplier, "12 tonnes")
    await tap(harness, supplier, label("forms", "confirm"))
    await harness.settle()

    resent = harness.server.last_bot_message(harness.server.private_chat(poster))
    assert "Changed offer" in resent.text
    assert label("requirements", "accept", bso="BAIF") in resent.button_texts()
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        offers = list((await session.scalars(select(Offer))).all())
    assert len(offers) == 1
    assert offers[0].status == "pending"
    assert offers[0].quantity_tonnes == 12


async def proposal_message(harness: SandboxHarness) -> BotMessage:
    """Post requirement #1 with a new buyer; return the facilitator's proposal message."""
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster)
    await harness.settle()
    chat = harness.server.private_chat(harness.facilitator)
    found = [
        message
        for message in harness.server.bot_messages(chat)
        if label("requirements", "proposal_add") in message.button_texts()
    ]
    assert len(found) == 1
    return found[0]


async def load_buyers(harness: SandboxHarness, name: str) -> list[Buyer]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Buyer).where(Buyer.name == name))).all())


async def test_proposal_add_lands_in_registry(harness: SandboxHarness) -> None:
    message = await proposal_message(harness)
    add = button_data(message, label("requirements", "proposal_add"))
    stranger = await approved_poc(harness, "stranger", Answers(name="Meena Gowda", bso="ASA"))

    refused = await press(harness, stranger, message, add)
    assert refused is not None
    assert refused.get("text") == alert("common/facilitators_only")
    assert await load_buyers(harness, "Fresh Basket Retail") == []

    forged = await press(harness, harness.facilitator, message, add.replace(":1", ":999999"))
    assert forged is not None
    assert forged.get("text") == alert("common/button_unknown")

    added = await press(harness, harness.facilitator, message, add)
    assert added is not None
    assert added.get("text") == alert("requirements/proposal_added")
    again = await press(harness, harness.facilitator, message, add)
    assert again is not None
    assert again.get("text") == alert("requirements/already_decided")

    buyers = await load_buyers(harness, "Fresh Basket Retail")
    assert len(buyers) == 1
    assert buyers[0].commodities == ["onion"]
    requirement = (await load_requirements(harness))[0]
    assert requirement.buyer_id == buyers[0].id

    found = await say(harness, harness.facilitator, "/buyers onion Fresh Basket")
    assert "Fresh Basket Retail" in found.text


async def test_proposal_dismiss_adds_nothing(harness: SandboxHarness) -> None:
    message = await proposal_message(harness)
    dismiss = button_data(message, label("requirements", "proposal_dismiss"))
    add = button_data(message, label("requirements", "proposal_add"))
    dismissed = await press(harness, harness.facilitator, message, dismiss)
    assert dismissed is not None
    assert dismissed.get("text") == alert("requirements/proposal_dismissed")
    added = await press(harness, harness.facilitator, message, add)
    assert added is not None
    assert added.get("text") == alert("requirements/already_decided")
    assert await load_buyers(harness, "Fresh Basket Retail") == []
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        proposal = await session.scalar(select(BuyerProposal))
    assert proposal is not None and proposal.status == "dismissed"


async def posted_in_group(
    harness: SandboxHarness,
) -> tuple[SandboxUser, SandboxChat, BotMessage]:
    """Requirement #1 posted from a task-force group by a PoC of PRADAN; return its card."""
    harness.clock.set(NOW)
    group = await cop_group(harness, "Market task force", kind="task_force")
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    await say(harness, poster, "/requirement", chat=group)
    await tap(harness, poster, label("requirements", "continue_private"), chat=group)
    await post_requirement(harness, poster)
    await harness.settle()
    return poster, group, card_in(harness, group)


async def test_group_card_supply_opens_offer_by_link(harness: SandboxHarness) -> None:
    _, group, card = await posted_in_group(harness)
    supplier = await approved_poc(harness, "supplier", Answers(name="Vikas Rao", bso="BAIF"))

    answer = await press(
        harness, supplier, card, button_data(card, label("requirements", "we_can_supply"))
    )
    assert answer is not None
    link = f"https://t.me/{harness.server.bot_username}?start=rqo1"
    assert answer.get("url") == link

    await say(harness, supplier, "/start rqo1")
    messages = harness.server.bot_messages(harness.server.private_chat(supplier))
    assert any(message.text.startswith("Your offer for requirement #1") for message in messages)
    await offer(harness, supplier)
    assert status_line("offers") in card_in(harness, group).text


async def test_group_card_details_hide_contact(harness: SandboxHarness) -> None:
    _, group, card = await posted_in_group(harness)
    reader = await approved_poc(harness, "reader", Answers(name="Vikas Rao", bso="BAIF"))
    answer = await press(harness, reader, card, button_data(card, label("requirements", "details")))
    assert answer is not None and answer.get("text") is None
    details = harness.server.last_bot_message(group)
    assert details.message_id != card.message_id
    assert details.text.startswith("Buyer requirement #1")
    assert "98765 11111" not in details.text
    assert "Ravi Kumar" not in details.text
    assert details.buttons == []


async def test_unregistered_user_told_to_register(harness: SandboxHarness) -> None:
    _, _, card = await posted_in_group(harness)
    stranger = harness.server.user("stranger")
    answer = await press(
        harness, stranger, card, button_data(card, label("requirements", "we_can_supply"))
    )
    assert answer is not None
    assert answer.get("text") == alert("requirements/pocs_only")
    assert answer.get("url") is None


async def test_own_bso_cannot_offer(harness: SandboxHarness) -> None:
    _, _, card = await posted_in_group(harness)
    colleague = await approved_poc(harness, "colleague", Answers(name="Ravi Kumar", bso="PRADAN"))
    answer = await press(
        harness, colleague, card, button_data(card, label("requirements", "we_can_supply"))
    )
    assert answer is not None
    assert answer.get("text") == alert("requirements/own_bso")
    reply = await say(harness, colleague, "/start rqo1")
    assert reply.text == render("requirements/own_bso")


async def test_offer_on_closed_requirement_refused(harness: SandboxHarness) -> None:
    poster, group, card = await posted_in_group(harness)
    supplier = await approved_poc(harness, "supplier", Answers(name="Vikas Rao", bso="BAIF"))
    # A button of the card as it was before closing, as a client that has not refreshed shows it.
    supply = button_data(card, label("requirements", "we_can_supply"))
    # The supplier opens the offer form before the poster closes the requirement.
    await say(harness, supplier, "/start rqo1")

    await say(harness, poster, "/requirements mine")
    await tap(harness, poster, label("requirements", "details_of", number=1))
    await tap(harness, poster, label("requirements", "close"))
    await tap(harness, poster, label("requirements/close", "not_supplied"))
    await tap(harness, poster, label("forms", "confirm"))
    assert (await load_requirements(harness))[0].status == "closed"

    await offer(harness, supplier)
    reply = harness.server.last_bot_message(harness.server.private_chat(supplier))
    assert reply.text == render("requirements/not_open")
    assert card_in(harness, group).buttons == []
    answer = await press(harness, supplier, card, supply)
    assert answer is not None
    assert answer.get("text") == alert("requirements/not_open")
    reply = await say(harness, supplier, "/start rqo1")
    assert reply.text == render("requirements/link_dead", reason="closed")
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        assert await session.scalar(select(Offer)) is None


async def test_offer_on_expired_requirement_refused(harness: SandboxHarness) -> None:
    harness.clock.set(NOW)
    poster = await approved_poc(harness, "poster", Answers(name="Asha Patil", bso="PRADAN"))
    supplier = await approved_poc(harness, "supplier", Answers(name="Vikas Rao", bso="BAIF"))
    await say(harness, poster, "/requirement")
    await post_requirement(harness, poster, window="Dec")
    await harness.settle()
    await run_at(harness, india(2027, 1, 2, 10))
    assert (await load_requirements(harness))[0].status == "expired"

    reply = await say(harness, supplier, "/start rqo1")
    assert reply.text == render("requirements/link_dead", reason="expired")
