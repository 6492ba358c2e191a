"""The facilitator's /matrix through the sandbox: counts, cells, CSV files and who may see them."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from types import SimpleNamespace

import pytest
from asks_steps import (
    add_entries,
    alert,
    approved_poc,
    bso_id_of,
    button_data,
    file_entry,
    press,
)
from e2e_helpers import TEXTS, Answers, label, render, say, tap
from sqlalchemy import func, select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from bot.texts import MESSAGE_LIMIT, utf16_length
from handlers.callbacks import MatrixView
from storage import people
from storage import themes as theme_store
from storage.models import Bso

PRE = re.compile(r"<pre>(.*?)</pre>", re.DOTALL)
BOM = b"\xef\xbb\xbf"


def table(message: BotMessage) -> dict[str, list[str]]:
    """Read the matrix's fixed-width table into its cells by row name, the header row included."""
    match = PRE.search(message.html or "")
    assert match, f"no table in: {message.text}"
    lines = html.unescape(match.group(1)).splitlines()
    columns = len(lines[0].split()) - 1
    rows = {}
    for line in lines:
        # Cells never contain spaces, so the last words are the cells and the rest the name.
        words = line.split()
        rows[" ".join(words[:-columns])] = words[-columns:]
    return rows


async def download(harness: SandboxHarness, message: BotMessage) -> bytes:
    assert harness.app is not None
    assert message.kind == "document"
    assert message.file_id is not None
    bot = harness.app.create_bot()
    try:
        downloaded = await bot.download(message.file_id)
    finally:
        await bot.session.close()
    assert downloaded is not None
    return downloaded.read()


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(BOM), "CSV without the UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def two_bsos(harness: SandboxHarness) -> tuple[SandboxUser, SandboxUser]:
    """PRADAN files a finance ask; Vrutti a finance give and a private market-access ask."""
    asha = await approved_poc(harness, "asha")
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti"))
    await file_entry(harness, asha, title="Working capital for onion")
    await file_entry(harness, ravi, "give", title="Warehouse receipt finance guide")
    await file_entry(
        harness, ravi, theme="market_access", title="Buyers for pomegranate", private=True
    )
    return asha, ravi


async def test_matrix_counts_two_bsos(harness: SandboxHarness) -> None:
    await two_bsos(harness)

    shown = await say(harness, harness.facilitator, "/matrix")

    rows = table(shown)
    # Columns: T1 market access, T2 finance, T3 technology, T4 governance.
    assert rows["BSO"] == ["T1", "T2", "T3", "T4"]
    assert rows["PRADAN"] == ["·", "1/0", "·", "·"]
    assert rows["Vrutti"] == ["1/0", "0/1", "·", "·"]
    assert rows["All BSOs"] == ["1/0", "1/1", "·", "·"]
    async with harness.app.sessionmaker() as session:  # type: ignore[union-attr]
        bso_count = await session.scalar(select(func.count(Bso.id)))
    # Every BSO is a row, with or without entries, plus the header and the total.
    assert len(rows) == bso_count + 2
    assert rows["ACCESS"] == ["·", "·", "·", "·"]
    for number, key in enumerate(("market_access", "finance", "technology", "governance"), 1):
        assert f"T{number} {label('themes', key)}" in shown.text
    assert shown.button_texts() == ["PRADAN", "Vrutti", label("matrix", "csv")]
    assert harness.errors == []


async def test_matrix_csv_files(harness: SandboxHarness) -> None:
    await two_bsos(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/matrix")
    sent = len(harness.server.bot_messages(harness.server.private_chat(facilitator)))

    await tap(harness, facilitator, label("matrix", "csv"))

    messages = harness.server.bot_messages(harness.server.private_chat(facilitator))
    matrix_file, entries_file = messages[sent:]
    assert matrix_file.document_name is not None
    assert matrix_file.document_name.startswith("asks-gives-matrix-")
    rows = read_csv(await download(harness, matrix_file))
    finance, market = label("themes", "finance"), label("themes", "market_access")
    header = rows[0]
    assert header[:4] == [
        label("matrix", "csv_bso"),
        label("matrix", "csv_short_name"),
        TEXTS.label("en", "matrix", "csv_asks", theme=market),
        TEXTS.label("en", "matrix", "csv_gives", theme=market),
    ]
    by_short_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:-1]}
    pradan, vrutti = by_short_name["PRADAN"], by_short_name["Vrutti"]
    finance_asks = TEXTS.label("en", "matrix", "csv_asks", theme=finance)
    finance_gives = TEXTS.label("en", "matrix", "csv_gives", theme=finance)
    market_asks = TEXTS.label("en", "matrix", "csv_asks", theme=market)
    assert pradan[label("matrix", "csv_bso")] == "Professional Assistance for Development Action"
    assert (pradan[finance_asks], pradan[finance_gives]) == ("1", "0")
    assert (vrutti[finance_asks], vrutti[finance_gives], vrutti[market_asks]) == ("0", "1", "1")
    assert by_short_name["ACCESS"][label("matrix", "csv_total_asks")] == "0"
    assert rows[-1][0] == label("matrix", "csv_all_bsos")
    assert rows[-1][-2:] == ["2", "1"]

    entries = read_csv(await download(harness, entries_file))
    titles = {row[3]: row for row in entries[1:]}
    assert len(entries) == 4
    private = titles["Buyers for pomegranate"]
    assert private[9] == label("forms", "yes")
    assert private[1] == label("asks", "kind_ask")
    assert titles["Warehouse receipt finance guide"][1] == label("asks", "kind_give")
    assert titles["Working capital for onion"][10] == label("asks", "status_open")


async def test_matrix_csv_double_tap_sends_once(harness: SandboxHarness) -> None:
    await two_bsos(harness)
    facilitator = harness.facilitator
    shown = await say(harness, facilitator, "/matrix")
    data = button_data(shown, label("matrix", "csv"))
    chat = harness.server.private_chat(facilitator)
    before = len(harness.server.bot_messages(chat))

    first = await press(harness, facilitator, shown, data)
    second = await press(harness, facilitator, shown, data)

    assert first is not None and not first.get("show_alert")
    assert second is not None
    assert second["text"] == alert("matrix/csv_unchanged")
    assert len(harness.server.bot_messages(chat)) == before + 2


async def test_matrix_csv_keeps_hindi(harness: SandboxHarness) -> None:
    sunita = await approved_poc(harness, "sunita", Answers(name="सुनीता देवी", language="hi"))
    await file_entry(harness, sunita, title="प्याज़ के ख़रीदार", locale="hi")
    facilitator = harness.facilitator
    await say(harness, facilitator, "/matrix")

    await tap(harness, facilitator, label("matrix", "csv"))

    entries_file = harness.server.last_bot_message(harness.server.private_chat(facilitator))
    rows = read_csv(await download(harness, entries_file))
    assert rows[1][3] == "प्याज़ के ख़रीदार"
    assert rows[1][11] == "सुनीता देवी"


async def test_matrix_hides_erased_filer(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", Answers(name="Asha Kulkarni"))
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", phone="91234 56789"))
    await file_entry(harness, asha, title="Working capital for onion")
    await say(harness, asha, "/me")
    await tap(harness, asha, label("common", "forget"))
    await tap(harness, asha, label("common", "forget_confirm"))
    facilitator = harness.facilitator
    await say(harness, facilitator, "/matrix")
    row = await tap(harness, facilitator, "PRADAN")

    cell = await tap(harness, facilitator, row.button_texts()[0])

    assert "Working capital for onion" in cell.text
    assert "Asha" not in cell.text
    assert "Filed by someone who has since deleted their data" in cell.text
    await tap(harness, facilitator, TEXTS.label("en", "matrix", "back_to_bso", name="PRADAN"))
    await tap(harness, facilitator, label("matrix", "back"))
    await tap(harness, facilitator, label("matrix", "csv"))
    entries_file = harness.server.last_bot_message(harness.server.private_chat(facilitator))
    rows = read_csv(await download(harness, entries_file))
    assert rows[1][11] == label("matrix", "csv_filer_erased")
    await say(harness, meena, "/mine")
    card = await tap(harness, meena, "1")
    assert "Asha" not in card.text
    assert "deleted their data" in card.text


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_matrix_counts_agree(locale: str) -> None:
    one = TEXTS.label(locale, "matrix", "cell", theme="T", asks=1, gives=1)
    many = TEXTS.label(locale, "matrix", "cell", theme="T", asks=2, gives=0)
    words = {"en": ("ask", "asks", "give", "gives"), "hi": ("माँग", "माँगें", "पेशकश", "पेशकशें")}
    ask, asks, give, gives = words[locale]

    assert one == f"T · 1 {ask}, 1 {give}"
    assert many == f"T · 2 {asks}, 0 {gives}"


def test_matrix_page_one_bso_singular() -> None:
    context = {
        "rows": [{"name": "PRADAN", "cells": ["·"]}],
        "headers": ["T1"],
        "totals": ["·"],
        "cell_width": 2,
        "name_width": 8,
        "legend": [("T1", "Finance")],
        "replaced": [],
        "replaced_code": "+",
        "total": {"total": 0},
        "page": 0,
        "pages": 1,
    }

    one = render("matrix/page", bso_count=1, **context)
    two = render("matrix/page", bso_count=2, **context)

    assert "entries of 1 BSO as" in one
    assert "entries of 2 BSOs as" in two


@pytest.mark.parametrize(
    ("asks", "gives", "english", "hindi"),
    [
        (1, 0, "1 ask and 0 gives", "1 माँग और 0 पेशकशें"),
        (2, 1, "2 asks and 1 give", "2 माँगें और 1 पेशकश"),
    ],
)
def test_matrix_cell_heading_counts(asks: int, gives: int, english: str, hindi: str) -> None:
    entry = SimpleNamespace(
        kind="ask",
        private=False,
        title="Loan",
        description="For 3 FPOs",
        commodities=[],
        states=[],
    )
    view = SimpleNamespace(
        entry=entry,
        kind="Ask",
        status="open",
        filed_on=dt.date(2025, 3, 1),
        theme="Finance",
        urgency=None,
        help_kinds=[],
        filer=None,
        filer_erased=False,
    )
    context = {
        "bso": {"name": "PRADAN"},
        "column": "Finance",
        "replaced_column": False,
        "items": [view],
        "cell": {"asks": asks, "gives": gives},
        "page": 0,
        "pages": 1,
    }

    assert english in render("matrix/cell", "en", **context)
    assert hindi in render("matrix/cell", "hi", **context)


async def test_matrix_open_cell(harness: SandboxHarness) -> None:
    await two_bsos(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/matrix")

    row = await tap(harness, facilitator, "Vrutti")
    assert "Vrutti" in row.text
    market = label("themes", "market_access")
    cell_button = TEXTS.label("en", "matrix", "cell", theme=market, asks=1, gives=0)
    assert row.button_texts() == [
        cell_button,
        TEXTS.label("en", "matrix", "cell", theme=label("themes", "finance"), asks=0, gives=1),
        label("matrix", "back"),
    ]
    cell = await tap(harness, facilitator, cell_button)

    assert "Buyers for pomegranate" in cell.text
    assert "🔒" in cell.text
    assert "Warehouse receipt" not in cell.text
    assert cell.message_id == row.message_id
    back = await tap(
        harness, facilitator, TEXTS.label("en", "matrix", "back_to_bso", name="Vrutti")
    )
    assert back.button_texts()[0] == cell_button
    matrix = await tap(harness, facilitator, label("matrix", "back"))
    assert table(matrix)["Vrutti"] == ["1/0", "0/1", "·", "·"]
    assert harness.errors == []


async def test_matrix_cell_pages_long_entries(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await add_entries(
        harness,
        asha,
        9,
        title="ख" * 120,
        description="ग" * 1500,
        commodities=["x" * 50] * 10,
        states=["Maharashtra"] * 10,
        help_kinds=["peer", "workshop", "webinar", "expert"],
        urgency="medium",
        private=True,
    )
    facilitator = harness.facilitator
    await say(harness, facilitator, "/matrix")
    row = await tap(harness, facilitator, "PRADAN")

    cell = await tap(harness, facilitator, row.button_texts()[0])
    first_text = cell.text
    cell = await tap(harness, facilitator, label("matrix", "next"))

    assert utf16_length(first_text) <= MESSAGE_LIMIT
    assert "Page 1 of 3" in first_text
    assert utf16_length(cell.text) <= MESSAGE_LIMIT
    assert "Page 2 of 3" in cell.text
    assert harness.errors == []


async def test_matrix_shows_replaced_theme_entries(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await file_entry(harness, asha, title="Working capital for onion")
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))
    await say(harness, facilitator, "Market access, Technology, Governance")
    await tap(harness, facilitator, label("forms", "confirm"))

    shown = await say(harness, facilitator, "/matrix")

    rows = table(shown)
    assert rows["BSO"] == ["T1", "T2", "T3", "+"]
    assert rows["PRADAN"] == ["·", "·", "·", "1/0"]
    assert label("themes", "finance") in shown.text
    row = await tap(harness, facilitator, "PRADAN")
    cell = await tap(harness, facilitator, row.button_texts()[0])
    assert "Working capital for onion" in cell.text
    await tap(harness, facilitator, TEXTS.label("en", "matrix", "back_to_bso", name="PRADAN"))
    await tap(harness, facilitator, label("matrix", "back"))
    await tap(harness, facilitator, label("matrix", "csv"))
    messages = harness.server.bot_messages(harness.server.private_chat(facilitator))
    header = read_csv(await download(harness, messages[-2]))[0]
    replaced = TEXTS.label("en", "matrix", "csv_replaced", theme=label("themes", "finance"))
    assert TEXTS.label("en", "matrix", "csv_asks", theme=replaced) in header


async def test_matrix_pages_many_bsos(harness: SandboxHarness) -> None:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        for number in range(40):
            session.add(
                Bso(
                    community_id=1,
                    name=f"Farmer Support Organisation {number:02d} of the eastern districts",
                    name_key=f"fso {number:02d}",
                    short_name=f"FSO-{number:02d}-East",
                )
            )
    facilitator = harness.facilitator

    first = await say(harness, facilitator, "/matrix")
    first_text, first_rows = first.text, table(first)
    second = await tap(harness, facilitator, label("matrix", "next"))

    assert utf16_length(first_text) <= MESSAGE_LIMIT
    assert "Page 1 of 2" in first_text
    assert len(first_rows) == 30 + 2
    assert "Page 2 of 2" in second.text
    assert len(table(second)) == 54 - 30 + 2
    assert label("matrix", "previous") in second.button_texts()


async def test_matrix_in_group_private_only(harness: SandboxHarness) -> None:
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()

    reply = await say(harness, harness.facilitator, "/matrix", chat=group)

    assert reply.html == render("matrix/private_only")


async def test_matrix_refused_to_non_facilitator(harness: SandboxHarness) -> None:
    asha, _ravi = await two_bsos(harness)

    reply = await say(harness, asha, "/matrix")

    assert reply.html == render("common/facilitators_only")


@pytest.mark.parametrize(
    "view",
    [
        MatrixView(action="page"),
        MatrixView(action="csv"),
        MatrixView(action="bso", bso_id=1),
        MatrixView(action="cell", bso_id=1, theme_id=2),
    ],
)
async def test_matrix_buttons_refused_to_non_facilitator(
    harness: SandboxHarness, view: MatrixView
) -> None:
    asha, _ravi = await two_bsos(harness)
    anchor = await say(harness, asha, "/mine")
    anchor_text = anchor.text
    chat = harness.server.private_chat(asha)
    sent = len(harness.server.bot_messages(chat))

    answer = await press(harness, asha, anchor, view.pack())

    assert answer is not None
    assert answer["text"] == alert("common/facilitators_only")
    assert len(harness.server.bot_messages(chat)) == sent
    # The sandbox updates a message's record in place when the bot edits it.
    assert anchor.text == anchor_text


async def test_matrix_buttons_of_facilitator_refused_to_poc(harness: SandboxHarness) -> None:
    asha, _ravi = await two_bsos(harness)
    facilitator = harness.facilitator
    shown = await say(harness, facilitator, "/matrix")
    data = button_data(shown, "PRADAN")

    # A PoC replays the facilitator's button data on a message of their own chat.
    anchor = await say(harness, asha, "/mine")
    answer = await press(harness, asha, anchor, data)

    assert answer is not None
    assert answer["text"] == alert("common/facilitators_only")


@pytest.mark.parametrize(
    ("data", "template"),
    [
        ("mx1:bso:999999:0:0:0", "matrix/gone"),
        ("mx1:cell:{pradan}:999999:0:0", "matrix/gone"),
        ("mx1:drop:0:0:0:0", "common/button_unknown"),
        ("mx1:cell:99999999999999999999:0:0:0", "common/button_unknown"),
    ],
)
async def test_matrix_forged_buttons_rejected(
    harness: SandboxHarness, data: str, template: str
) -> None:
    await approved_poc(harness, "asha")
    pradan = await bso_id_of(harness, "PRADAN")
    facilitator = harness.facilitator
    shown = await say(harness, facilitator, "/matrix")
    shown_text = shown.text

    answer = await press(harness, facilitator, shown, data.format(pradan=pradan))

    assert answer is not None
    assert answer["text"] == alert(template)
    assert harness.server.last_bot_message(harness.server.private_chat(facilitator)).text == (
        shown_text
    )
    assert harness.errors == []


async def test_matrix_cell_of_other_community_theme_rejected(harness: SandboxHarness) -> None:
    assert harness.app is not None
    await approved_poc(harness, "asha")
    pradan = await bso_id_of(harness, "PRADAN")
    async with harness.app.sessionmaker.begin() as session:
        other = await people.add_community(
            session, name="Bihar potato CoP", timezone="Asia/Kolkata"
        )
        [foreign, *_rest] = await theme_store.active_themes(session, other.id)
        foreign_id = foreign.id
    facilitator = harness.facilitator
    shown = await say(harness, facilitator, "/matrix")

    answer = await press(
        harness,
        facilitator,
        shown,
        MatrixView(action="cell", bso_id=pradan, theme_id=foreign_id).pack(),
    )

    assert answer is not None
    assert answer["text"] == alert("matrix/gone")
