"""/connect through the sandbox: suggestions, introductions, connection status, who may use
them, bad arguments, and the month's connections in /progress and the recognition post."""

from __future__ import annotations

import datetime as dt

from asks_steps import (
    alert,
    approved_poc,
    button_data,
    cop_group,
    file_entry,
    load_entry,
    press,
)
from e2e_helpers import Answers, label, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxUser
from handlers.callbacks import ConnectionStatus, ConnectPage
from storage import connections as connection_store
from storage import recognition
from storage.models import Community, Connection, Contribution, Offer, Person, Requirement

ASK_TITLE = "Working capital for onion aggregation"
GIVE_TITLE = "Working capital loans for onion FPOs"
# 10 March 2026, 11:30 in Kolkata.
START = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)
MARCH = dt.date(2026, 3, 1)


async def two_pocs(harness: SandboxHarness) -> tuple[SandboxUser, SandboxUser, int, int]:
    """Asha (PRADAN) files a finance ask and Ravi (Vrutti) a matching give; return both ids."""
    asha = await approved_poc(harness, "asha")
    ravi = await approved_poc(
        harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti", phone="91234 56789")
    )
    await file_entry(harness, asha, title=ASK_TITLE)
    await file_entry(
        harness,
        ravi,
        "give",
        title=GIVE_TITLE,
        description="We arranged bank credit for onion aggregation before the rabi harvest.",
    )
    entries = await all_entries(harness)
    ask = next(entry for entry in entries if entry.kind == "ask")
    give = next(entry for entry in entries if entry.kind == "give")
    return asha, ravi, ask.id, give.id


async def all_entries(harness: SandboxHarness) -> list[Contribution]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Contribution).order_by(Contribution.id))).all())


async def connections(harness: SandboxHarness) -> list[Connection]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Connection).order_by(Connection.id))).all())


async def set_entry(harness: SandboxHarness, entry_id: int, **values: object) -> None:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        entry = await session.get(Contribution, entry_id)
        assert entry is not None
        for name, value in values.items():
            setattr(entry, name, value)


def intros(harness: SandboxHarness, user: SandboxUser) -> list[BotMessage]:
    """Return the introductions the user received: messages with connection status buttons."""
    chat = harness.server.private_chat(user)
    return [
        message
        for message in harness.server.bot_messages(chat)
        if any(
            (button.callback_data or "").startswith("cs1:")
            for row in message.buttons
            for button in row
        )
    ]


async def connect_first(harness: SandboxHarness) -> BotMessage:
    """Show the suggestions to the facilitator and press the first Connect button."""
    await say(harness, harness.facilitator, "/connect")
    await tap(harness, harness.facilitator, label("connections", "connect", number=1))
    chat = harness.server.private_chat(harness.facilitator)
    return harness.server.bot_messages(chat)[-1]


# --- Suggestions and connecting --------------------------------------------------------------


async def test_suggestions_show_score_and_reason(harness: SandboxHarness) -> None:
    _, _, ask_id, give_id = await two_pocs(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        expected = await connection_store.suggestions(session, 1)

    shown = await say(harness, harness.facilitator, "/connect")

    assert [(item.ask.id, item.give.id) for item in expected] == [(ask_id, give_id)]
    assert f"#{ask_id} PRADAN: {ASK_TITLE}" in shown.text
    assert f"#{give_id} Vrutti: {GIVE_TITLE}" in shown.text
    assert f"{round(expected[0].score * 100)}%" in shown.text
    assert "same_theme" in expected[0].reasons
    assert f"({label('themes', 'finance')})" in shown.text
    assert label("connections", "connect", number=1) in shown.button_texts()
    assert label("connections", "list") in shown.button_texts()
    assert harness.errors == []


async def test_suggestions_mark_private_entry(harness: SandboxHarness) -> None:
    _, _, ask_id, _ = await two_pocs(harness)
    await set_entry(harness, ask_id, private=True)

    shown = await say(harness, harness.facilitator, "/connect")

    assert f"#{ask_id} PRADAN: {ASK_TITLE} · 🔒" in shown.text


async def test_suggestions_skip_same_bso_and_withdrawn(harness: SandboxHarness) -> None:
    asha, _, ask_id, give_id = await two_pocs(harness)
    await file_entry(harness, asha, "give", title=GIVE_TITLE)
    await set_entry(harness, give_id, status="withdrawn")

    shown = await say(harness, harness.facilitator, "/connect")

    assert f"#{ask_id}" not in shown.text
    assert label("connections", "connect", number=1) not in shown.button_texts()


async def test_connect_introduces_both_pocs_once(harness: SandboxHarness) -> None:
    asha, ravi, ask_id, give_id = await two_pocs(harness)
    harness.clock.set(START)

    confirmation = await connect_first(harness)

    recorded = await connections(harness)
    assert len(recorded) == 1
    connection = recorded[0]
    assert (connection.ask_id, connection.give_id) == (ask_id, give_id)
    assert connection.status == "introduced"
    assert connection.introduced_by == harness.facilitator.id
    assert connection.score is not None
    assert "same_theme" in connection.reasons

    ask = await load_entry(harness, ask_id)
    give = await load_entry(harness, give_id)
    expected = render(
        "connections/connected",
        ask=ask,
        give=give,
        on=dt.date(2026, 3, 10),
        status=label("connections", "status_introduced"),
        ask_queued=1,
        give_queued=1,
    )
    assert confirmation.html == expected

    (asha_intro,) = intros(harness, asha)
    (ravi_intro,) = intros(harness, ravi)
    assert "Ravi Kumar, +91 91234 56789" in asha_intro.text
    assert "Asha Patil, +91 98765 43210" in ravi_intro.text
    for intro in (asha_intro, ravi_intro):
        assert ASK_TITLE in intro.text
        assert GIVE_TITLE in intro.text
        assert intro.button_texts() == [
            label("connections", "set_talking"),
            label("connections", "set_done"),
            label("connections", "set_no_outcome"),
        ]
    # The suggestions message no longer lists the connected pair.
    suggestions = harness.server.last_bot_message(
        harness.server.private_chat(harness.facilitator), with_buttons=True
    )
    assert f"#{ask_id}" not in suggestions.text
    assert harness.errors == []


async def set_person(harness: SandboxHarness, user: SandboxUser, **values: object) -> None:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == user.id))
        assert person is not None
        for name, value in values.items():
            setattr(person, name, value)


async def test_intro_links_pocs_without_phone(harness: SandboxHarness) -> None:
    harness.server.user("asha", username="asha_p")
    asha, ravi, _, _ = await two_pocs(harness)
    await set_person(harness, asha, phone=None)
    await set_person(harness, ravi, phone=None, name="Ravi <R&D> Kumar")

    await connect_first(harness)

    (asha_intro,) = intros(harness, asha)
    (ravi_intro,) = intros(harness, ravi)
    assert asha_intro.html is not None and ravi_intro.html is not None
    ravi_link = f'<a href="tg://user?id={ravi.id}">Ravi &lt;R&amp;D&gt; Kumar</a>'
    asha_link = f'<a href="tg://user?id={asha.id}">Asha Patil</a>'
    assert ravi_link in asha_intro.html
    assert f"{asha_link}, @asha_p" in ravi_intro.html
    assert "+91" not in asha_intro.text
    assert "+91" not in ravi_intro.text
    assert harness.errors == []


async def test_connect_twice_says_already(harness: SandboxHarness) -> None:
    asha, ravi, ask_id, give_id = await two_pocs(harness)
    harness.clock.set(START)
    await connect_first(harness)
    chat = harness.server.private_chat(harness.facilitator)
    listing = harness.server.last_bot_message(chat, with_buttons=True)
    data = ConnectPage(op="connect", ask_id=ask_id, give_id=give_id).pack()

    answer = await press(harness, harness.facilitator, listing, data)
    typed = await say(harness, harness.facilitator, f"/connect {ask_id} {give_id}")

    status = label("connections", "status_introduced")
    assert answer is not None
    assert answer["text"] == alert(
        "connections/already_alert", on=dt.date(2026, 3, 10), status=status
    )
    ask = await load_entry(harness, ask_id)
    give = await load_entry(harness, give_id)
    assert typed.html == render(
        "connections/already", ask=ask, give=give, on=dt.date(2026, 3, 10), status=status
    )
    assert len(await connections(harness)) == 1
    assert len(intros(harness, asha)) == 1
    assert len(intros(harness, ravi)) == 1


async def test_connect_typed_pair_records_no_score(harness: SandboxHarness) -> None:
    asha, ravi, ask_id, give_id = await two_pocs(harness)

    await say(harness, harness.facilitator, f"/connect #{ask_id} {give_id}")

    (connection,) = await connections(harness)
    assert connection.score is None
    assert len(intros(harness, asha)) == 1
    assert len(intros(harness, ravi)) == 1


async def test_connect_warns_unreachable_bso(harness: SandboxHarness) -> None:
    _, _, ask_id, give_id = await two_pocs(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        ravi = await session.scalar(select(Person).where(Person.name == "Ravi Kumar"))
        assert ravi is not None
        ravi.private_chat_open = False

    confirmation = await say(harness, harness.facilitator, f"/connect {ask_id} {give_id}")

    ask = await load_entry(harness, ask_id)
    give = await load_entry(harness, give_id)
    assert confirmation.html == render(
        "connections/connected",
        ask=ask,
        give=give,
        on=confirmation.sent_at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).date(),
        status=label("connections", "status_introduced"),
        ask_queued=1,
        give_queued=0,
    )


# --- Status ----------------------------------------------------------------------------------


async def test_poc_sets_status_from_intro(harness: SandboxHarness) -> None:
    asha, ravi, _, _ = await two_pocs(harness)
    await connect_first(harness)

    edited = await tap(harness, asha, label("connections", "set_talking"))

    (connection,) = await connections(harness)
    assert connection.status == "talking"
    assert connection.status_changed_at is not None
    assert label("connections", "status_talking") in edited.text
    assert label("connections", "set_talking") not in edited.button_texts()

    # Ravi's introduction is out of date: a press there only shows the current status.
    ravi_intro = intros(harness, ravi)[0]
    data = button_data(ravi_intro, label("connections", "set_done"))
    answer = await press(harness, ravi, ravi_intro, data)
    assert answer is not None
    assert answer["text"] == alert(
        "connections/outdated", status=label("connections", "status_talking")
    )
    (connection,) = await connections(harness)
    assert connection.status == "talking"
    refreshed = intros(harness, ravi)[0]
    assert label("connections", "status_talking") in refreshed.text
    assert label("connections", "set_talking") not in refreshed.button_texts()
    await press(harness, ravi, refreshed, data)
    (connection,) = await connections(harness)
    assert connection.status == "done"
    assert harness.errors == []


def notices(harness: SandboxHarness, user: SandboxUser) -> list[BotMessage]:
    """Return the status notices the user received, told apart by their last line."""
    chat = harness.server.private_chat(user)
    notice = render("connections/status_news", ask=None, give=None, by="", status="")
    last_line = str(notice).strip().splitlines()[-1]
    return [
        message
        for message in harness.server.bot_messages(chat)
        if (message.html or "").strip().endswith(last_line)
    ]


async def test_status_change_told_once(harness: SandboxHarness) -> None:
    asha, ravi, ask_id, give_id = await two_pocs(harness)
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", bso="Vrutti"))
    await connect_first(harness)
    facilitator = harness.facilitator

    await tap(harness, asha, label("connections", "set_talking"))
    await harness.server.wait_idle()

    ask = await load_entry(harness, ask_id)
    give = await load_entry(harness, give_id)
    expected = render(
        "connections/status_news",
        ask=ask,
        give=give,
        by="Asha Patil",
        status=label("connections", "status_talking"),
    )
    for user in (ravi, meena, facilitator):
        (notice,) = notices(harness, user)
        assert notice.html == expected, user.name
        assert notice.button_texts() == [
            label("connections", "set_done"),
            label("connections", "set_no_outcome"),
        ]
    assert notices(harness, asha) == []

    # The notice is the current copy, so Ravi can move the status on from it.
    (ravi_notice,) = notices(harness, ravi)
    done = button_data(ravi_notice, label("connections", "set_done"))
    await press(harness, ravi, ravi_notice, done)
    await harness.server.wait_idle()
    (connection,) = await connections(harness)
    assert connection.status == "done"
    assert len(notices(harness, asha)) == 1
    assert len(notices(harness, meena)) == 2
    # The pressed notice now shows Ravi's introduction with the new status.
    chat = harness.server.private_chat(ravi)
    (pressed,) = [
        m for m in harness.server.bot_messages(chat) if m.message_id == ravi_notice.message_id
    ]
    assert label("connections", "status_done") in pressed.text
    assert label("connections", "set_done") not in pressed.button_texts()
    assert harness.errors == []


async def test_other_bso_cannot_set_status(harness: SandboxHarness) -> None:
    await two_pocs(harness)
    await connect_first(harness)
    meena = await approved_poc(harness, "meena", Answers(name="Meena Rao", bso="ACCESS"))
    (connection,) = await connections(harness)
    own = harness.server.last_bot_message(harness.server.private_chat(meena))
    forged = ConnectionStatus(op="done", connection_id=connection.id).pack()

    answer = await press(harness, meena, own, forged)

    assert answer is not None
    assert answer["text"] == alert("connections/not_yours")
    (connection,) = await connections(harness)
    assert connection.status == "introduced"


async def test_facilitator_changes_status_in_list(harness: SandboxHarness) -> None:
    await two_pocs(harness)
    await connect_first(harness)
    facilitator = harness.facilitator

    listing = await say(harness, facilitator, "/connect list")
    assert label("connections", "status_introduced") in listing.text
    await tap(harness, facilitator, "1")
    shown = await tap(harness, facilitator, label("connections", "set_no_outcome"))

    (connection,) = await connections(harness)
    assert connection.status == "no_outcome"
    assert label("connections", "status_no_outcome") in shown.text
    back = await tap(harness, facilitator, label("connections", "back_to_list"))
    assert label("connections", "status_no_outcome") in back.text
    assert harness.errors == []


async def test_forged_status_rejected(harness: SandboxHarness) -> None:
    asha, _, _, _ = await two_pocs(harness)
    await connect_first(harness)
    (connection,) = await connections(harness)
    (intro,) = intros(harness, asha)
    refused = alert("common/button_unknown")
    cases = [
        # A status no button sets, a view that does not exist, a connection that does not.
        (ConnectionStatus(op="introduced", connection_id=connection.id).pack(), refused),
        (ConnectionStatus(op="done", connection_id=connection.id, view="x").pack(), refused),
        (ConnectionStatus(op="done", connection_id=2**31 - 1).pack(), alert("connections/gone")),
        # An id beyond the column's range fails to parse and reaches the fallback handler.
        (f"cs1:done:{2**40}:intro:0", None),
    ]

    for data, expected in cases:
        answer = await press(harness, asha, intro, data)
        assert answer is not None, data
        if expected is not None:
            assert answer["text"] == expected, data

    (connection,) = await connections(harness)
    assert connection.status == "introduced"


async def test_status_press_in_group_rejected(harness: SandboxHarness) -> None:
    asha, _, _, _ = await two_pocs(harness)
    await connect_first(harness)
    (connection,) = await connections(harness)
    group = await cop_group(harness)
    in_group = harness.server.last_bot_message(group)
    forged = ConnectionStatus(op="done", connection_id=connection.id).pack()

    answer = await press(harness, asha, in_group, forged)

    assert answer is not None
    assert answer["text"] == alert("common/button_unknown")
    assert "+91" not in harness.server.last_bot_message(group).text
    (connection,) = await connections(harness)
    assert connection.status == "introduced"


# --- Who may use /connect --------------------------------------------------------------------


async def test_poc_cannot_use_connect(harness: SandboxHarness) -> None:
    asha, _, ask_id, give_id = await two_pocs(harness)

    refused = await say(harness, asha, "/connect")
    typed = await say(harness, asha, f"/connect {ask_id} {give_id}")
    listed = await say(harness, asha, "/connect list")

    for message in (refused, typed, listed):
        assert message.html == render("common/facilitators_only")
    assert await connections(harness) == []


async def test_poc_forged_connect_rejected(harness: SandboxHarness) -> None:
    asha, _, ask_id, give_id = await two_pocs(harness)
    own = harness.server.last_bot_message(harness.server.private_chat(asha))

    for data in (
        ConnectPage(op="connect", ask_id=ask_id, give_id=give_id).pack(),
        ConnectPage(op="page").pack(),
        ConnectPage(op="list").pack(),
        ConnectionStatus(op="open", connection_id=1, view="list").pack(),
    ):
        answer = await press(harness, asha, own, data)
        assert answer is not None
        assert answer["text"] == alert("common/facilitators_only"), data

    assert await connections(harness) == []
    assert intros(harness, asha) == []


async def test_connect_in_group_refused(harness: SandboxHarness) -> None:
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()

    reply = await say(harness, harness.facilitator, "/connect", chat=group)

    assert reply.html == render("connections/private_only")


# --- Bad arguments ---------------------------------------------------------------------------


async def test_connect_bad_arguments(harness: SandboxHarness) -> None:
    asha, ravi, ask_id, give_id = await two_pocs(harness)
    await file_entry(harness, asha, "give", title="Bank linkage guide")
    await file_entry(harness, ravi, title="Buyers for pomegranate", theme="market_access")
    entries = await all_entries(harness)
    own_give = entries[-2].id
    other_ask = entries[-1].id
    await set_entry(harness, other_ask, status="withdrawn")
    facilitator = harness.facilitator

    async def reply(arguments: str) -> str | None:
        return (await say(harness, facilitator, f"/connect {arguments}")).html

    ask = await load_entry(harness, ask_id)
    give = await load_entry(harness, give_id)
    withdrawn = label("asks", "status_withdrawn")
    assert await reply("12") == render("connections/usage", given="12")
    assert await reply("one two") == render("connections/usage", given="one two")
    assert await reply("1 2 3") == render("connections/usage", given="1 2 3")
    assert await reply("99999999999 1") == render("connections/usage", given="99999999999 1")
    assert await reply("900 901") == render(
        "connections/bad_pair", code="not_found", numbers=[900, 901]
    )
    assert await reply(f"{give_id} {ask_id}") == render(
        "connections/bad_pair", code="swapped", ask=ask, give=give
    )
    assert await reply(f"{ask_id} {ask_id}") == render(
        "connections/bad_pair", code="same_entry", number=ask_id
    )
    assert await reply(f"{give_id} {give_id}") == render(
        "connections/bad_pair", code="same_entry", number=give_id
    )
    assert await reply(f"{ask_id} {other_ask}") == render(
        "connections/bad_pair", code="not_a_give", number=other_ask
    )
    own = await load_entry(harness, own_give)
    assert await reply(f"{ask_id} {own_give}") == render(
        "connections/bad_pair", code="same_bso", ask=ask, give=own, bso=ask.bso
    )
    await set_entry(harness, give_id, status="withdrawn")
    assert await reply(f"{ask_id} {give_id}") == render(
        "connections/bad_pair", code="closed", number=give_id, status=withdrawn
    )
    assert await connections(harness) == []
    assert harness.errors == []


async def test_connect_other_community_entry_not_found(harness: SandboxHarness) -> None:
    _, _, ask_id, give_id = await two_pocs(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        other = Community(name="Other CoP", slug="other")
        session.add(other)
        await session.flush()
        give = await session.get(Contribution, give_id)
        assert give is not None
        give.community_id = other.id

    reply = await say(harness, harness.facilitator, f"/connect {ask_id} {give_id}")

    assert reply.html == render("connections/bad_pair", code="not_found", numbers=[give_id])


# --- The month in /progress and the recognition post ------------------------------------------


async def add_month_links(harness: SandboxHarness, ask_id: int, give_id: int) -> None:
    """Record a connection introduced and done in March 2026, and a buyer match then."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        ask = await session.get(Contribution, ask_id)
        give = await session.get(Contribution, give_id)
        assert ask is not None and give is not None
        session.add(
            Connection(
                community_id=ask.community_id,
                ask_id=ask.id,
                give_id=give.id,
                ask_bso_id=ask.bso_id,
                give_bso_id=give.bso_id,
                status="done",
                introduced_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
                status_changed_at=dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
            )
        )
        requirement = Requirement(
            community_id=ask.community_id,
            commodity="onion",
            quantity=20,
            unit="t",
            quantity_tonnes=20,
            frequency="one_off",
            delivery_place="Pune",
            window_start=dt.date(2026, 4, 1),
            window_end=dt.date(2026, 4, 30),
            buyer_name="Fresh Foods",
            contact="Buyer desk",
            status="matched",
        )
        session.add(requirement)
        await session.flush()
        accepted = dt.datetime(2026, 3, 15, tzinfo=dt.UTC)
        session.add_all(
            [
                Offer(
                    community_id=ask.community_id,
                    requirement_id=requirement.id,
                    bso_id=give.bso_id,
                    quantity_tonnes=12.5,
                    fpos_place="Nashik FPOs",
                    status="accepted",
                    accepted_at=accepted,
                ),
                # Pending offers and offers accepted in another month are not matches of March.
                Offer(
                    community_id=ask.community_id,
                    requirement_id=requirement.id,
                    bso_id=ask.bso_id,
                    quantity_tonnes=5,
                    fpos_place="Pune FPOs",
                    status="pending",
                ),
            ]
        )


async def test_progress_shows_month_links(harness: SandboxHarness) -> None:
    _, _, ask_id, give_id = await two_pocs(harness)
    await add_month_links(harness, ask_id, give_id)
    harness.clock.set(START)

    shown = await say(harness, harness.facilitator, "/progress")

    def overview(links: connection_store.LinkCounts) -> set[str]:
        text = render(
            "progress/overview",
            month="Mar 2026",
            closed=None,
            note=None,
            filed_count=0,
            bso_count=0,
            totals=[],
            links=links,
            filed=[],
            missing=[],
            page=0,
            pages=1,
        )
        return set(str(text).splitlines())

    counted = connection_store.LinkCounts(introduced=1, done=1, buyer_matches=1)
    section = overview(counted) - overview(connection_store.LinkCounts(0, 0, 0))
    assert len(section) == 4
    shown_lines = (shown.html or "").splitlines()
    for line in section:
        assert line in shown_lines


async def test_progress_without_links_has_no_section(harness: SandboxHarness) -> None:
    await two_pocs(harness)
    harness.clock.set(START)

    shown = await say(harness, harness.facilitator, "/progress")

    assert "/connect list" not in shown.text


async def test_recognition_names_done_connections_and_matches(harness: SandboxHarness) -> None:
    _, _, ask_id, give_id = await two_pocs(harness)
    await add_month_links(harness, ask_id, give_id)
    assert harness.app is not None

    async with harness.app.sessionmaker() as session:
        march = await recognition.collect(
            session, 1, month=MARCH, report_month=MARCH, timezone="Asia/Kolkata"
        )
        april = await recognition.collect(
            session,
            1,
            month=dt.date(2026, 4, 1),
            report_month=MARCH,
            timezone="Asia/Kolkata",
        )

    assert not march.empty
    (win,) = march.connections_done
    assert (win.ask_bso.short_name, win.give_bso.short_name, win.title) == (
        "PRADAN",
        "Vrutti",
        ASK_TITLE,
    )
    (match,) = march.buyer_matches
    assert (match.bso.short_name, match.commodity, match.tonnes) == ("Vrutti", "onion", 12.5)
    assert april.connections_done == []
    assert april.buyer_matches == []
    for locale in ("en", "hi"):
        post = render(
            "recognition/post",
            locale,
            community_name="CoP",
            month="Mar 2026",
            report_month="Mar 2026",
            r=march,
            limit=5,
            heading=None,
            closing=None,
        )
        assert ASK_TITLE in post
        assert "12.5" in post


async def test_recognition_hides_private_ask_title(harness: SandboxHarness) -> None:
    _, _, ask_id, give_id = await two_pocs(harness)
    await add_month_links(harness, ask_id, give_id)
    await set_entry(harness, ask_id, private=True)
    assert harness.app is not None

    async with harness.app.sessionmaker() as session:
        march = await recognition.collect(
            session, 1, month=MARCH, report_month=MARCH, timezone="Asia/Kolkata"
        )

    (win,) = march.connections_done
    assert win.title is None
