"""Buyer and scheme lookups, and the registry import by file, end to end."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import Answers, decide, label, load_person, register, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage
from handlers.callbacks import Lookup
from storage import search
from storage.models import Buyer, Person, Scheme

MESSY_CSV = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "demo" / "buyers_messy.csv"


async def expected_page(
    harness: SandboxHarness, kind: str, words: str, page: int, locale: str = "en"
) -> str:
    """Render the page the bot should show, from the same search and template."""
    assert harness.app is not None
    finder = search.search_buyers if kind == "buyers" else search.search_schemes
    async with harness.app.sessionmaker() as session:
        community_id = (await session.scalars(select(Person.community_id).limit(1))).first() or 1
        result = await finder(session, community_id, words, offset=page * 5, limit=5)
        pages = max(1, -(-result.total // 5))
        return render(
            f"lookups/{kind}_page",
            locale,
            result=result,
            words=words,
            page=page,
            pages=pages,
            first=page * 5 + 1,
        )


async def expected_details(
    harness: SandboxHarness,
    page: BotMessage,
    number: str,
    *,
    show_contacts: bool,
    in_private: bool,
    person: Person | None,
    kind: str = "buyers",
) -> str:
    button = next(button for row in page.buttons for button in row if button.text == number)
    assert button.callback_data is not None
    entry_id = Lookup.unpack(button.callback_data).value
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        entry = await session.get(Buyer if kind == "buyers" else Scheme, entry_id)
        template = "lookups/buyer_details" if kind == "buyers" else "lookups/scheme_details"
        return render(
            template, entry=entry, show_contacts=show_contacts, in_private=in_private, person=person
        )


async def test_buyers_synonym_and_city(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    page = await say(harness, ravi, "/buyers kanda pune")

    assert page.html == await expected_page(harness, "buyers", "kanda pune", 0)
    assert "QueryTerm(" not in page.text
    assert "kanda → onion" in page.text


async def test_buyers_typo_understood(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    page = await say(harness, ravi, "/buyers tumeric")

    assert page.html == await expected_page(harness, "buyers", "tumeric", 0)
    assert "turmeric" in page.text
    assert "QueryTerm(" not in page.text


async def test_buyers_hindi_word(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    page = await say(harness, ravi, "/buyers मिर्च")

    assert page.html == await expected_page(harness, "buyers", "मिर्च", 0)
    assert "chilli" in page.text
    assert page.button_texts()[:5] == ["1", "2", "3", "4", "5"]


async def test_schemes_warehouse_found(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    page = await say(harness, ravi, "/schemes warehouse")

    assert page.html == await expected_page(harness, "schemes", "warehouse", 0)
    assert "Agriculture Infrastructure Fund" in page.text


async def test_buyers_no_results_hint(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")

    page = await say(harness, ravi, "/buyers zzzqqq")

    assert page.html == await expected_page(harness, "buyers", "zzzqqq", 0)
    assert "/buyers onion" in page.text
    assert page.buttons == []


async def test_buyers_without_words_usage(harness: SandboxHarness) -> None:
    reply = await say(harness, harness.server.user("ravi"), "/buyers")

    assert reply.html == render("lookups/buyers_usage")


async def test_buyers_pages_next_previous(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")
    first = await say(harness, ravi, "/buyers onion")
    assert first.html == await expected_page(harness, "buyers", "onion", 0)
    assert first.button_texts() == ["1", "2", "3", "4", "5", label("lookups", "next")]

    second = await tap(harness, ravi, label("lookups", "next"))
    assert second.message_id == first.message_id
    assert second.html == await expected_page(harness, "buyers", "onion", 1)
    assert second.button_texts() == [
        "6",
        "7",
        "8",
        "9",
        "10",
        label("lookups", "previous"),
        label("lookups", "next"),
    ]

    third = await tap(harness, ravi, label("lookups", "next"))
    assert third.html == await expected_page(harness, "buyers", "onion", 2)
    assert label("lookups", "next") not in third.button_texts()

    back = await tap(harness, ravi, label("lookups", "previous"))
    assert back.html == await expected_page(harness, "buyers", "onion", 1)
    assert harness.errors == []


async def test_details_contacts_for_approved_poc(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    review = await register(harness, asha)
    await decide(harness, review, "approve")
    page = await say(harness, asha, "/buyers onion")

    details = await tap(harness, asha, "1")

    person = await load_person(harness, asha)
    assert details.html == await expected_details(
        harness, page, "1", show_contacts=True, in_private=True, person=person
    )
    assert "+91" in details.text


async def test_details_no_contacts_for_non_member(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")
    page = await say(harness, ravi, "/buyers onion")

    details = await tap(harness, ravi, "1")

    person = await load_person(harness, ravi)
    assert details.html == await expected_details(
        harness, page, "1", show_contacts=False, in_private=True, person=person
    )
    assert "+91" not in details.text


async def test_details_no_contacts_for_pending_member(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await register(harness, asha)
    page = await say(harness, asha, "/buyers onion")

    details = await tap(harness, asha, "1")

    person = await load_person(harness, asha)
    assert details.html == await expected_details(
        harness, page, "1", show_contacts=False, in_private=True, person=person
    )
    assert "+91" not in details.text


async def test_details_no_contacts_in_group(harness: SandboxHarness) -> None:
    server = harness.server
    asha = server.user("asha")
    review = await register(harness, asha)
    await decide(harness, review, "approve")
    group = server.group("Onion task force", added_by=asha)
    page = await say(harness, asha, "/buyers onion", chat=group)

    details = await tap(harness, asha, "1", chat=group)

    person = await load_person(harness, asha)
    assert details.html == await expected_details(
        harness, page, "1", show_contacts=False, in_private=False, person=person
    )
    assert "+91" not in details.text


async def test_scheme_details_opened(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")
    page = await say(harness, ravi, "/schemes warehouse")

    details = await tap(harness, ravi, "1")

    person = await load_person(harness, ravi)
    assert details.html == await expected_details(
        harness, page, "1", show_contacts=False, in_private=True, person=person, kind="schemes"
    )


async def test_hindi_user_gets_hindi_texts(harness: SandboxHarness) -> None:
    meena = harness.server.user("meena", language_code="hi")

    usage = await say(harness, meena, "/buyers")
    page = await say(harness, meena, "/buyers onion")

    assert usage.html == render("lookups/buyers_usage", "hi")
    assert page.html == await expected_page(harness, "buyers", "onion", 0, "hi")
    assert page.button_texts()[-1] == label("lookups", "next", "hi")


async def test_hindi_registrant_gets_hindi_lookups(harness: SandboxHarness) -> None:
    meena = harness.server.user("meena")
    await register(harness, meena, Answers(name="मीना वर्मा", language="hi"))

    page = await say(harness, meena, "/schemes warehouse")

    assert page.html == await expected_page(harness, "schemes", "warehouse", 0, "hi")


async def import_messy(harness: SandboxHarness) -> BotMessage:
    server = harness.server
    chat = server.private_chat(harness.facilitator)
    await server.send_document(
        harness.facilitator, chat, MESSY_CSV.read_bytes(), filename=MESSY_CSV.name
    )
    await server.wait_idle()
    question = server.last_bot_message(chat)
    assert question.button_texts() == [label("imports", "buyers"), label("imports", "schemes")]
    return await tap(harness, harness.facilitator, label("imports", "buyers"))


async def test_import_messy_file_report(harness: SandboxHarness) -> None:
    report = await import_messy(harness)

    assert "3 added, 0 updated, 0 unchanged" in report.text
    assert "Row 3 merged into row 2" in report.text
    assert "1 blank row" in report.text
    assert "Row 7 (Tapti Traders)" in report.text
    assert "Row 8 (Megh Retail)" in report.text
    assert "Row 9 (Urja Farm Connect)" in report.text
    assert "3 rows not imported" in report.text
    assert harness.errors == []


async def test_import_messy_file_twice_unchanged(harness: SandboxHarness) -> None:
    await import_messy(harness)

    report = await import_messy(harness)

    assert "0 added, 0 updated, 3 unchanged" in report.text
    assert harness.errors == []


async def test_imported_buyer_found(harness: SandboxHarness) -> None:
    await import_messy(harness)

    page = await say(harness, harness.facilitator, "/buyers Kesar Fresh Exports")

    assert "Kesar Fresh Exports" in page.text


async def test_import_by_member_refused(harness: SandboxHarness) -> None:
    server = harness.server
    ravi = server.user("ravi")
    chat = server.private_chat(ravi)

    await server.send_document(ravi, chat, MESSY_CSV.read_bytes(), filename=MESSY_CSV.name)
    await server.wait_idle()

    reply = server.last_bot_message(chat)
    assert reply.html == render("imports/facilitators_only")
    assert reply.buttons == []


async def test_import_wrong_extension_refused(harness: SandboxHarness) -> None:
    server = harness.server
    chat = server.private_chat(harness.facilitator)

    await server.send_document(harness.facilitator, chat, b"PK\x03\x04", filename="buyers.xls")
    await server.wait_idle()

    assert server.last_bot_message(chat).html == render(
        "imports/wrong_type", name="buyers.xls", old_excel=True
    )
