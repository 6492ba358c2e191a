"""Broadcasts through the sandbox: the /broadcast form, delivery, schedules, /broadcasts and its buttons."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asks_steps import add_entries, alert, approved_poc, cop_group
from e2e_form_helpers import alert_of, button_data, contains, form_data_of, form_state_of
from e2e_helpers import Answers, label, render, say, tap
from sqlalchemy import select

from bot.config import load_settings
from bot.forms import DateTimeField, FieldError
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from handlers.broadcasts import BroadcastButton
from handlers.callbacks import FormButton
from handlers.forms import FORM_STATE
from storage import outbox as outbox_store
from storage.models import Broadcast, Community, ForumTopic, OutboxMessage

# 1 December 2026, 11:30 in Kolkata.
START = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
FORM = "broadcasts/new"
TEXT = "Webinar on onion storage, Friday 4 pm. Register here."
# Bold "Webinar", italic "Friday 4 pm" and a link on "Register here", as Telegram's
# clients send formatted text: entities with UTF-16 offsets.
ENTITIES = [
    {"type": "bold", "offset": 0, "length": 7},
    {"type": "italic", "offset": 34, "length": 11},
    {"type": "text_link", "offset": 47, "length": 13, "url": "https://example.org/register"},
]
CAPTION = "Cold storage subsidy: apply by 31 Dec"
PHOTO = b"\xff\xd8\xff\xe0 sandbox photo"
FIRST_FACILITATOR_ID = 900001
SECOND_FACILITATOR_ID = 900002


@pytest.fixture
async def two_facilitators(tmp_path: Path) -> AsyncIterator[SandboxHarness]:
    """Yield a started harness whose bot has two facilitators: harness.facilitator and "second"."""
    settings = load_settings(
        bot_token=None,
        database_url=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
        redis_url=None,
        facilitator_ids=[FIRST_FACILITATOR_ID, SECOND_FACILITATOR_ID],
        default_locale="en",
    )
    started = SandboxHarness(settings, demo=True)
    await started.start()
    started.server.user("second", user_id=SECOND_FACILITATOR_ID, first_name="Second")
    yield started
    await started.stop()


# --- Steps -------------------------------------------------------------------------------


def private(harness: SandboxHarness, user: SandboxUser) -> SandboxChat:
    return harness.server.private_chat(user)


async def send_formatted(
    harness: SandboxHarness, user: SandboxUser, text: str = TEXT, entities: list | None = None
) -> BotMessage:
    """Send formatted text in the user's private chat; return the bot's latest message there.

    The sandbox's send_text adds only command and mention entities, so the message is
    built with the formatting entities directly.
    """
    chat = private(harness, user)
    content = {"text": text, "entities": ENTITIES if entities is None else entities}
    harness.server._user_message(user, chat, content)
    await harness.server.wait_idle()
    return harness.server.last_bot_message(chat)


async def choose_audience(
    harness: SandboxHarness, *parts: str, user: SandboxUser | None = None, locale: str = "en"
) -> BotMessage:
    """Tick the audience parts by their keys and press Done."""
    user = user or harness.facilitator
    for part in parts:
        await tap(harness, user, label("audience", part, locale))
    return await tap(harness, user, label("forms", "done", locale))


async def send_now(
    harness: SandboxHarness, user: SandboxUser | None = None, locale: str = "en"
) -> BotMessage:
    """Press Send now at the "when" question; return the summary."""
    return await tap(harness, user or harness.facilitator, label(FORM, "now", locale))


async def confirm(
    harness: SandboxHarness, user: SandboxUser | None = None, locale: str = "en"
) -> BotMessage:
    return await tap(harness, user or harness.facilitator, label("forms", "confirm", locale))


async def text_broadcast(harness: SandboxHarness, *parts: str) -> BotMessage:
    """Broadcast the formatted text to the audience parts now; return the summary."""
    await say(harness, harness.facilitator, "/broadcast")
    await send_formatted(harness, harness.facilitator)
    await choose_audience(harness, *parts)
    return await send_now(harness)


async def schedule_text(harness: SandboxHarness, when: str, *parts: str) -> BotMessage:
    """Fill /broadcast with the formatted text for a date and time; return the summary."""
    await say(harness, harness.facilitator, "/broadcast")
    await send_formatted(harness, harness.facilitator)
    await choose_audience(harness, *parts)
    await tap(harness, harness.facilitator, label(FORM, "later"))
    return await say(harness, harness.facilitator, when)


def copies(harness: SandboxHarness, chat: SandboxChat, text: str = TEXT) -> list[BotMessage]:
    """Return the bot's messages in a chat (any topic) whose text or caption is `text`."""
    return [message for message in harness.server.bot_messages(chat) if message.text == text]


async def load_broadcasts(harness: SandboxHarness) -> list[Broadcast]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Broadcast).order_by(Broadcast.id))).all())


async def load_rows(harness: SandboxHarness, broadcast_id: int) -> list[OutboxMessage]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .order_by(OutboxMessage.id)
        )
        return list(rows.all())


async def expected_report(harness: SandboxHarness, broadcast_id: int, locale: str = "en") -> str:
    """Render the delivery report of a broadcast from the database, as the bot does."""
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        counts = await outbox_store.delivery_counts(session, broadcast_id)
    return str(render("broadcasts/report", locale, broadcast=broadcast, counts=counts))


def datetime_error(typed: str, now: dt.datetime = START) -> FieldError:
    """Return the error the date and time question gives for `typed` at `now`."""
    field = DateTimeField(timezone="Asia/Kolkata", earliest=now, latest_days=365)
    with pytest.raises(FieldError) as raised:
        field.parse(typed, today=now.date(), locale="en")
    return raised.value


def list_button(op: str, number: int = 1, locale: str = "en") -> str:
    return label("broadcasts", op, locale, number=number)


async def press_forged(
    harness: SandboxHarness, user: SandboxUser, data: str, chat: SandboxChat | None = None
) -> dict:
    """Press callback data on the bot's latest message in a chat (the user's own by default)."""
    chat = chat or private(harness, user)
    message = harness.server.last_bot_message(chat)
    update = await harness.server.press_data(user, chat, message.message_id, data)
    await harness.server.wait_idle()
    return update


# --- Sending now ---------------------------------------------------------------------------


async def test_text_reaches_cop_groups_and_pocs(harness: SandboxHarness) -> None:
    server = harness.server
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="SRIJAN"))
    pending = server.user("meena")
    await say(harness, pending, "/start")
    cop_one = await cop_group(harness, "CoP all")
    cop_two = await cop_group(harness, "CoP west")
    team = await cop_group(harness, "PRADAN team", kind="task_force")

    summary = await text_broadcast(harness, "cop_groups", "all_pocs")
    preview = server.bot_messages(private(harness, harness.facilitator))[-2]
    sent = await confirm(harness)

    broadcasts = await load_broadcasts(harness)
    assert len(broadcasts) == 1
    broadcast = broadcasts[0]
    for chat in (cop_one, cop_two, private(harness, asha), private(harness, ravi)):
        received = copies(harness, chat)
        assert len(received) == 1, f"{chat.title or chat.id} got {len(received)} copies"
        assert received[0].raw.get("entities") == ENTITIES
    assert copies(harness, team) == []
    assert copies(harness, private(harness, pending)) == []
    assert preview.text == TEXT
    assert preview.raw.get("entities") == ENTITIES
    assert "Recipients: 4" in summary.text
    assert broadcast.status == "done"
    assert broadcast.recipients == 4
    assert broadcast.kind == "broadcast"
    assert broadcast.created_by == harness.facilitator.id
    assert broadcast.report_chat_id == harness.facilitator.id
    assert broadcast.title == TEXT
    assert broadcast.audience["cop_groups"] is True
    assert broadcast.audience["all_pocs"] is True
    facilitator_chat = private(harness, harness.facilitator)
    confirmation = server.bot_messages(facilitator_chat)[-2]
    assert confirmation.html == render("broadcasts/sending", count=4)
    assert sent.html == await expected_report(harness, broadcast.id)
    assert "Delivered: 4 of 4" in sent.text
    assert await form_state_of(harness, harness.facilitator, facilitator_chat) is None
    assert harness.errors == []


async def test_report_counts_blocked_poc(harness: SandboxHarness) -> None:
    server = harness.server
    await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="SRIJAN"))
    await text_broadcast(harness, "all_pocs")
    # One PoC blocked the bot without the bot hearing of it, so its copy fails with 403.
    server.faults.fail("copyMessage", 403, "Forbidden: bot was blocked by the user")

    report = await confirm(harness)

    broadcast = (await load_broadcasts(harness))[0]
    statuses = sorted((row.status, row.error) for row in await load_rows(harness, broadcast.id))
    assert report.html == await expected_report(harness, broadcast.id)
    assert "Delivered: 1 of 2" in report.text
    assert "Not delivered, blocked the bot: 1" in report.text
    assert statuses == [("failed", "blocked"), ("sent", None)]
    assert broadcast.status == "done"
    assert harness.errors == []


async def test_photo_reaches_theme_pocs(harness: SandboxHarness) -> None:
    server = harness.server
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="SRIJAN"))
    # PRADAN filed an ask under Finance, so Asha is a PoC of that theme and Ravi is not.
    await add_entries(harness, asha, 1, theme_key="finance")
    facilitator = harness.facilitator

    await say(harness, facilitator, "/broadcast")
    await server.send_photo(facilitator, private(harness, facilitator), PHOTO, caption=CAPTION)
    await server.wait_idle()
    await choose_audience(harness, "theme")
    await tap(harness, facilitator, label("themes", "finance"))
    summary = await send_now(harness)
    await confirm(harness)

    received = copies(harness, private(harness, asha), CAPTION)
    assert len(received) == 1
    assert received[0].kind == "photo"
    assert received[0].caption == CAPTION
    assert copies(harness, private(harness, ravi), CAPTION) == []
    assert "Recipients: 1" in summary.text
    broadcast = (await load_broadcasts(harness))[0]
    assert broadcast.title == f"Photo: {CAPTION}"
    assert broadcast.recipients == 1
    assert harness.errors == []


async def test_photo_reaches_state_pocs(harness: SandboxHarness) -> None:
    server = harness.server
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil", states="Maharashtra"))
    ravi = await approved_poc(
        harness, "ravi", Answers(name="Ravi Kumar", bso="SRIJAN", states="Odisha")
    )
    facilitator = harness.facilitator

    await say(harness, facilitator, "/broadcast")
    await server.send_photo(facilitator, private(harness, facilitator), PHOTO, caption=CAPTION)
    await server.wait_idle()
    await choose_audience(harness, "state")
    await tap(harness, facilitator, "Odisha")
    await send_now(harness)
    report = await confirm(harness)

    received = copies(harness, private(harness, ravi), CAPTION)
    assert len(received) == 1
    assert received[0].kind == "photo"
    assert copies(harness, private(harness, asha), CAPTION) == []
    assert "Delivered: 1 of 1" in report.text
    assert harness.errors == []


async def test_text_reaches_chosen_bso_pocs(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="SRIJAN"))
    facilitator = harness.facilitator

    await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    await choose_audience(harness, "bsos")
    await tap(harness, facilitator, "Self-Reliant Initiatives through Joint Action")
    await tap(harness, facilitator, label("forms", "done"))
    await send_now(harness)
    await confirm(harness)

    assert len(copies(harness, private(harness, ravi))) == 1
    assert copies(harness, private(harness, asha)) == []
    assert harness.errors == []


async def test_preview_failure_noted(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    facilitator = harness.facilitator
    await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    await choose_audience(harness, "cop_groups")
    # As Telegram answers when the original message was deleted.
    harness.server.faults.fail("copyMessage", 400, "Bad Request: message to copy not found")

    summary = await send_now(harness)

    assert "I could not copy your message for a preview" in summary.text
    assert "Recipients: 1" in summary.text
    assert summary.buttons

    rejected = await confirm(harness)

    assert rejected.html == render("broadcasts/uncopyable")
    assert await load_broadcasts(harness) == []
    assert harness.errors == []


async def test_preview_copied_once_per_message(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    facilitator = harness.facilitator
    chat = private(harness, facilitator)
    await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    await choose_audience(harness, "cop_groups")
    await send_now(harness)
    previews = len(copies(harness, chat))

    await harness.server.send_sticker(facilitator, chat)
    await harness.server.wait_idle()
    await say(harness, facilitator, "hello?")

    assert previews == 1
    assert len(copies(harness, chat)) == 1
    assert harness.errors == []


async def test_group_and_its_topic_get_one_copy(harness: SandboxHarness) -> None:
    server = harness.server
    forum = server.group("CoP forum", forum=True, added_by=harness.facilitator)
    market = server.topic(forum, "Market linkages")
    await cop_group(harness, "CoP forum")
    facilitator = harness.facilitator

    await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    await choose_audience(harness, "cop_groups", "topic")
    await tap(harness, facilitator, "CoP forum › Market linkages")
    summary = await send_now(harness)
    await confirm(harness)

    assert "Recipients: 1 (1 topic)" in summary.text
    received = copies(harness, forum)
    assert len(received) == 1
    assert received[0].thread_id == market
    assert harness.errors == []


async def test_document_broadcast_keeps_file(harness: SandboxHarness) -> None:
    server = harness.server
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    facilitator = harness.facilitator

    await say(harness, facilitator, "/broadcast")
    await server.send_document(
        facilitator,
        private(harness, facilitator),
        b"%PDF-1.4 sandbox",
        filename="subsidy.pdf",
        caption="Guidelines",
    )
    await server.wait_idle()
    await choose_audience(harness, "all_pocs")
    await send_now(harness)
    await confirm(harness)

    received = copies(harness, private(harness, asha), "Guidelines")
    assert len(received) == 1
    assert received[0].kind == "document"
    assert received[0].document_name == "subsidy.pdf"
    assert (await load_broadcasts(harness))[0].title == "Document subsidy.pdf: Guidelines"
    assert harness.errors == []


async def test_topic_audience_gets_it_in_topic(harness: SandboxHarness) -> None:
    server = harness.server
    forum = server.group("CoP forum", forum=True, added_by=harness.facilitator)
    market = server.topic(forum, "Market linkages")
    finance = server.topic(forum, "Finance")
    await server.wait_idle()
    facilitator = harness.facilitator

    await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    offered = (await choose_audience(harness, "topic")).button_texts()
    await tap(harness, facilitator, "CoP forum › Market linkages")
    await send_now(harness)
    await confirm(harness)

    received = copies(harness, forum)
    assert len(received) == 1
    assert received[0].thread_id == market
    assert copies(harness, forum) == server.bot_messages(forum, thread_id=market)[-1:]
    assert [m for m in server.bot_messages(forum, thread_id=finance) if m.text == TEXT] == []
    assert offered[:2] == ["CoP forum › Finance", "CoP forum › Market linkages"]
    assert harness.errors == []


async def test_topic_service_messages_recorded(harness: SandboxHarness) -> None:
    server = harness.server
    forum = server.group("CoP forum", forum=True, added_by=harness.facilitator)
    thread_id = server.topic(forum, "Market linkages")
    await server.wait_idle()

    async def topic_event(content: dict[str, Any]) -> None:
        # The sandbox creates topics only; Telegram sends these service messages in the topic.
        message = server._service_message(forum, harness.facilitator, content)
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        await server.wait_idle()

    async def stored() -> list[tuple[str, bool]]:
        assert harness.app is not None
        async with harness.app.sessionmaker() as session:
            rows = await session.scalars(
                select(ForumTopic).where(ForumTopic.thread_id == thread_id)
            )
            return [(row.name, row.closed) for row in rows]

    created = await stored()
    await topic_event({"forum_topic_edited": {"name": "Markets"}})
    renamed = await stored()
    await topic_event({"forum_topic_closed": {}})
    closed = await stored()
    await topic_event({"forum_topic_edited": {"icon_custom_emoji_id": "5312536423851630001"}})
    icon_changed = await stored()
    await topic_event({"forum_topic_reopened": {}})
    reopened = await stored()

    assert created == [("Market linkages", False)]
    assert renamed == [("Markets", False)]
    assert closed == [("Markets", True)]
    assert icon_changed == [("Markets", True)]
    assert reopened == [("Markets", False)]
    assert harness.errors == []


async def test_closed_topic_not_offered(harness: SandboxHarness) -> None:
    server = harness.server
    forum = server.group("CoP forum", forum=True, added_by=harness.facilitator)
    server.topic(forum, "Market linkages")
    closed_thread = server.topic(forum, "Old topic")
    await server.wait_idle()
    message = server._service_message(forum, harness.facilitator, {"forum_topic_closed": {}})
    message["message_thread_id"] = closed_thread
    message["is_topic_message"] = True
    await server.wait_idle()

    await say(harness, harness.facilitator, "/broadcast")
    await send_formatted(harness, harness.facilitator)
    offered = (await choose_audience(harness, "topic")).button_texts()

    assert offered[:1] == ["CoP forum › Market linkages"]
    assert "CoP forum › Old topic" not in offered
    assert harness.errors == []


async def test_migrated_group_gets_queued_copy(harness: SandboxHarness) -> None:
    server = harness.server
    group = await cop_group(harness, "CoP all")
    harness.clock.set(START)
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)

    supergroup = server.migrate(group)
    await server.wait_idle()
    harness.clock.set(dt.datetime(2026, 12, 15, 5, 1, tzinfo=dt.UTC))
    await harness.settle()

    assert len(copies(harness, supergroup)) == 1
    rows = await load_rows(harness, (await load_broadcasts(harness))[0].id)
    assert [(row.chat_id, row.status) for row in rows] == [(supergroup.id, "sent")]
    assert harness.errors == []


# --- Scheduling, cancelling and stopping ---------------------------------------------------


async def test_scheduled_sends_at_its_time(harness: SandboxHarness) -> None:
    server = harness.server
    group = await cop_group(harness, "CoP all")
    harness.clock.set(START)

    summary = await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    scheduled = await confirm(harness)
    before = copies(harness, group)
    broadcast = (await load_broadcasts(harness))[0]
    harness.clock.set(dt.datetime(2026, 12, 15, 4, 59, tzinfo=dt.UTC))
    await harness.settle()
    early = copies(harness, group)
    harness.clock.set(dt.datetime(2026, 12, 15, 5, 0, 1, tzinfo=dt.UTC))
    await harness.settle()

    assert "It goes out on Tue 15 Dec 2026, 10:30 (IST)." in summary.text
    assert "Date and time: Tue 15 Dec 2026, 10:30" in summary.text
    assert scheduled.html == render(
        "broadcasts/scheduled", count=1, when="Tue 15 Dec 2026, 10:30", zone="IST"
    )
    assert before == []
    assert early == []
    assert broadcast.status == "scheduled"
    assert broadcast.send_at.replace(tzinfo=dt.UTC) == dt.datetime(
        2026, 12, 15, 5, 0, tzinfo=dt.UTC
    )
    assert len(copies(harness, group)) == 1
    report = server.last_bot_message(private(harness, harness.facilitator))
    assert report.html == await expected_report(harness, broadcast.id)
    assert harness.errors == []


async def test_cancelled_schedule_never_sends(harness: SandboxHarness) -> None:
    group = await cop_group(harness, "CoP all")
    harness.clock.set(START)
    facilitator = harness.facilitator
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)

    listed = await say(harness, facilitator, "/broadcasts")
    # The list message becomes the question and then the result, so its texts are kept.
    listed_text, listed_buttons = listed.text, listed.button_texts()
    question = await tap(harness, facilitator, list_button("cancel"))
    question_text, question_buttons = question.text, question.button_texts()
    done = await tap(harness, facilitator, label("broadcasts", "cancel_yes"))
    harness.clock.set(dt.datetime(2026, 12, 16, 6, 0, tzinfo=dt.UTC))
    await harness.settle()

    broadcast = (await load_broadcasts(harness))[0]
    assert "Goes out on Tue 15 Dec 2026, 10:30 (IST) to 1 chat." in listed_text
    assert listed_buttons == [list_button("cancel")]
    assert question_buttons == [label("broadcasts", "cancel_yes"), label("broadcasts", "keep")]
    assert "Nobody has got it yet" in question_text
    assert done.html == render(
        "broadcasts/cancelled",
        broadcast=broadcast,
        counts=outbox_store.DeliveryCounts(total=1, cancelled=1),
    )
    assert done.buttons == []
    assert copies(harness, group) == []
    assert broadcast.status == "cancelled"
    assert broadcast.stopped_by == facilitator.id
    assert [row.status for row in await load_rows(harness, broadcast.id)] == ["cancelled"]
    # A cancelled broadcast sends no report: nothing was sent.
    assert harness.server.last_bot_message(private(harness, facilitator)) == done
    assert harness.errors == []


async def test_keep_returns_to_list(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    harness.clock.set(START)
    facilitator = harness.facilitator
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)

    listed = await say(harness, facilitator, "/broadcasts")
    listed_html = listed.html
    await tap(harness, facilitator, list_button("cancel"))
    again = await tap(harness, facilitator, label("broadcasts", "keep"))

    assert again.message_id == listed.message_id
    assert again.html == listed_html
    assert again.button_texts() == [list_button("cancel")]
    assert (await load_broadcasts(harness))[0].status == "scheduled"
    assert harness.errors == []


async def test_stop_cancels_the_rest(harness: SandboxHarness) -> None:
    server = harness.server
    pocs = [
        await approved_poc(harness, name, Answers(name=f"{name.title()} Patil", bso=bso))
        for name, bso in (("asha", "PRADAN"), ("ravi", "SRIJAN"), ("uma", "BAIF"), ("om", "ASA"))
    ]
    facilitator = harness.facilitator
    await text_broadcast(harness, "all_pocs")
    # Every second copy meets a 429 with a minute's wait, so two PoCs get it now and two
    # wait their turn while the broadcast runs.
    server.faults.flood(every=2, retry_after=60, methods="copyMessage")
    await confirm(harness)
    running = (await load_broadcasts(harness))[0]

    listed = await say(harness, facilitator, "/broadcasts")
    listed_text = listed.text
    question = await tap(harness, facilitator, list_button("stop"))
    question_text = question.text
    stopped = server.bot_messages(private(harness, facilitator))
    await tap(harness, facilitator, label("broadcasts", "stop_yes"))
    server.faults.clear()
    harness.clock.advance(dt.timedelta(minutes=5))
    await harness.settle()

    broadcast = (await load_broadcasts(harness))[0]
    received = [len(copies(harness, private(harness, poc))) for poc in pocs]
    statuses = sorted(row.status for row in await load_rows(harness, broadcast.id))
    messages = server.bot_messages(private(harness, facilitator))
    result = next(m for m in messages if m.message_id == question.message_id)
    report = messages[-1]
    assert running.status == "sending"
    assert "Delivered to 2 of 4, still to send 2." in listed_text
    assert "2 of 4 chats have got it so far" in question_text
    assert sorted(received) == [0, 0, 1, 1]
    assert statuses == ["cancelled", "cancelled", "sent", "sent"]
    assert broadcast.status == "stopped"
    assert broadcast.stopped_by == facilitator.id
    assert "2 of 4 chats got it before it stopped, and 2 will not get it." in result.text
    assert report not in stopped
    assert report.html == await expected_report(harness, broadcast.id)
    assert "Not sent, stopped before their turn: 2" in report.text
    assert harness.errors == []


async def test_report_button_shows_numbers(harness: SandboxHarness) -> None:
    await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    facilitator = harness.facilitator
    await text_broadcast(harness, "all_pocs")
    await confirm(harness)

    listed = await say(harness, facilitator, "/broadcasts")
    report = await tap(harness, facilitator, list_button("report"))

    broadcast = (await load_broadcasts(harness))[0]
    assert "Delivered to 1 of 1." in listed.text
    assert report.message_id != listed.message_id
    assert report.html == await expected_report(harness, broadcast.id)
    assert harness.errors == []


async def test_list_empty_and_in_group(harness: SandboxHarness) -> None:
    group = await cop_group(harness, "CoP all")

    empty = await say(harness, harness.facilitator, "/broadcasts")
    in_group = await say(harness, harness.facilitator, "/broadcasts", chat=group)
    form_in_group = await say(harness, harness.facilitator, "/broadcast", chat=group)

    assert empty.html == render("broadcasts/list", items=[], hidden=0)
    assert empty.buttons == []
    assert in_group.html == render("broadcasts/private_only", command="/broadcasts")
    assert form_in_group.html == render("broadcasts/private_only", command="/broadcast")
    assert await form_state_of(harness, harness.facilitator, group) is None
    assert harness.errors == []


# --- Invalid input --------------------------------------------------------------------------


async def test_sticker_as_message_asks_again(harness: SandboxHarness) -> None:
    server = harness.server
    facilitator = harness.facilitator
    chat = private(harness, facilitator)
    await say(harness, facilitator, "/broadcast")

    await server.send_sticker(facilitator, chat)
    await server.wait_idle()
    after_sticker = server.last_bot_message(chat)
    audience = await send_formatted(harness, facilitator)

    assert contains(after_sticker, "forms/not_expected", kind="sticker")
    assert contains(after_sticker, f"{FORM}/q_message")
    assert contains(audience, "audience/q_audience")
    assert harness.errors == []


async def test_times_rejected_answers_kept(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    harness.clock.set(START)
    facilitator = harness.facilitator
    chat = private(harness, facilitator)
    await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    await choose_audience(harness, "cop_groups")
    await tap(harness, facilitator, label(FORM, "later"))

    past = await say(harness, facilitator, "1/12/2026 10:00")
    unreadable = await say(harness, facilitator, "15/12/2026 25:99")
    too_far = await say(harness, facilitator, "15/12/2028 10:00")
    stored = await form_data_of(harness, facilitator, chat)
    summary = await say(harness, facilitator, "15/12/2026 10:30")

    for message, typed in (
        (past, "1/12/2026 10:00"),
        (unreadable, "15/12/2026 25:99"),
        (too_far, "15/12/2028 10:00"),
    ):
        error = datetime_error(typed)
        assert contains(message, f"forms/errors/{error.code}", **error.params), typed
        assert contains(message, f"{FORM}/q_send_at", extra={"timezone": "Asia/Kolkata"})
    assert datetime_error("1/12/2026 10:00").code == "datetime_past"
    assert stored["form"]["answers"]["message"]["kind"] == "text"
    assert stored["form"]["answers"]["audience"] == ["cop_groups"]
    assert "Date and time: Tue 15 Dec 2026, 10:30" in summary.text
    assert await load_broadcasts(harness) == []
    assert harness.errors == []


async def test_empty_audience_kept_at_summary(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    chat = private(harness, facilitator)

    summary = await text_broadcast(harness, "cop_groups")
    rejected = await confirm(harness)
    state = await form_state_of(harness, facilitator, chat)
    stored = await form_data_of(harness, facilitator, chat)
    group = await cop_group(harness, "CoP all")
    await tap(harness, facilitator, label("forms", "confirm"))

    assert "Recipients: 0" in summary.text
    assert rejected.html == render("broadcasts/no_recipients")
    assert state == FORM_STATE
    assert stored["form"]["answers"]["message"]["preview"] == TEXT
    assert len(copies(harness, group)) == 1
    assert len(await load_broadcasts(harness)) == 1
    assert harness.errors == []


async def test_time_passed_before_confirm(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    harness.clock.set(START)
    facilitator = harness.facilitator
    await schedule_text(harness, "1/12/2026 12:00", "cop_groups")

    harness.clock.set(dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC))
    rejected = await confirm(harness)

    assert rejected.html == render(
        "broadcasts/send_at_past", when="Tue 1 Dec 2026, 12:00", zone="IST"
    )
    assert await form_state_of(harness, facilitator, private(harness, facilitator)) == FORM_STATE
    assert await load_broadcasts(harness) == []
    assert harness.errors == []


# --- Who may do what -------------------------------------------------------------------------


async def test_poc_commands_rejected(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))

    form = await say(harness, asha, "/broadcast")
    listed = await say(harness, asha, "/broadcasts")

    assert form.html == render("common/facilitators_only")
    assert listed.html == render("common/facilitators_only")
    assert await form_state_of(harness, asha, private(harness, asha)) is None
    assert harness.errors == []


async def test_poc_forged_buttons_rejected(harness: SandboxHarness) -> None:
    server = harness.server
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    group = await cop_group(harness, "CoP all")
    harness.clock.set(START)
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)
    broadcast = (await load_broadcasts(harness))[0]

    alerts = {}
    for op in ("cancel", "cancel_yes", "stop", "stop_yes", "report", "keep"):
        data = BroadcastButton(op=op, broadcast_id=broadcast.id).pack()
        alerts[op] = alert_of(harness, await press_forged(harness, asha, data))
    confirm_data = FormButton(flow="broadcast", action="confirm", version=5).pack()
    form_alert = alert_of(harness, await press_forged(harness, asha, confirm_data))
    harness.clock.set(dt.datetime(2026, 12, 16, 6, 0, tzinfo=dt.UTC))
    await harness.settle()

    for op, alert_text in alerts.items():
        assert alert_text == alert("common/facilitators_only"), op
    assert form_alert == alert("forms/ended", command="/broadcast")
    assert (await load_broadcasts(harness))[0].status == "done"
    assert len(copies(harness, group)) == 1
    assert server.bot_messages(private(harness, asha))[-1].text != TEXT
    assert harness.errors == []


async def test_forged_data_checked_by_facilitator(harness: SandboxHarness) -> None:
    assert harness.app is not None
    await cop_group(harness, "CoP all")
    harness.clock.set(START)
    facilitator = harness.facilitator
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)
    ours = (await load_broadcasts(harness))[0]
    async with harness.app.sessionmaker.begin() as session:
        other = Community(name="Other CoP", slug="other-cop", timezone="Asia/Kolkata")
        session.add(other)
        await session.flush()
        theirs = await outbox_store.create_broadcast(
            session,
            community_id=other.id,
            recipients=[outbox_store.Recipient(-555)],
            payload=outbox_store.text_payload("x"),
            send_at=dt.datetime(2026, 12, 20, tzinfo=dt.UTC),
            now=START,
        )
    await say(harness, facilitator, "/broadcasts")

    def data(op: str, broadcast_id: int) -> str:
        return BroadcastButton(op=op, broadcast_id=broadcast_id).pack()

    other_community = alert_of(
        harness, await press_forged(harness, facilitator, data("cancel_yes", theirs.id))
    )
    missing = alert_of(harness, await press_forged(harness, facilitator, data("cancel_yes", 999)))
    unknown = alert_of(harness, await press_forged(harness, facilitator, data("delete", ours.id)))
    wrong_status = alert_of(
        harness, await press_forged(harness, facilitator, data("stop_yes", ours.id))
    )
    report_early = alert_of(
        harness, await press_forged(harness, facilitator, data("report", ours.id))
    )

    broadcasts = {row.id: row.status for row in await load_broadcasts(harness)}
    scheduled = label("broadcasts", "status_scheduled")
    assert other_community == alert("broadcasts/gone")
    assert missing == alert("broadcasts/gone")
    assert unknown == alert("common/button_unknown")
    assert wrong_status == alert("broadcasts/changed", status=scheduled)
    assert report_early == alert("broadcasts/changed", status=scheduled)
    assert broadcasts == {ours.id: "scheduled", theirs.id: "scheduled"}
    assert harness.errors == []


async def test_double_cancel_is_stale(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    harness.clock.set(START)
    facilitator = harness.facilitator
    chat = private(harness, facilitator)
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)
    await say(harness, facilitator, "/broadcasts")
    question = await tap(harness, facilitator, list_button("cancel"))
    yes = button_data(question, label("broadcasts", "cancel_yes"))

    await tap(harness, facilitator, label("broadcasts", "cancel_yes"))
    second = await harness.server.press_data(facilitator, chat, question.message_id, yes)
    await harness.server.wait_idle()

    cancelled = label("broadcasts", "status_cancelled")
    assert alert_of(harness, second) == alert("broadcasts/changed", status=cancelled)
    assert (alert_of(harness, second) or "").startswith("This broadcast is now cancelled, so")
    assert (await load_broadcasts(harness))[0].status == "cancelled"
    assert harness.errors == []


async def test_list_button_in_group_rejected(harness: SandboxHarness) -> None:
    group = await cop_group(harness, "CoP all")
    harness.clock.set(START)
    await schedule_text(harness, "15/12/2026 10:30", "cop_groups")
    await confirm(harness)
    broadcast = (await load_broadcasts(harness))[0]

    data = BroadcastButton(op="cancel_yes", broadcast_id=broadcast.id).pack()
    alert_text = alert_of(
        harness, await press_forged(harness, harness.facilitator, data, chat=group)
    )

    assert alert_text == alert("broadcasts/private_only_alert")
    assert (await load_broadcasts(harness))[0].status == "scheduled"
    assert harness.errors == []


async def test_second_facilitator_cannot_confirm(two_facilitators: SandboxHarness) -> None:
    harness = two_facilitators
    server = harness.server
    second = server.user("second")
    await say(harness, second, "/start")
    group = await cop_group(harness, "CoP all")
    first_chat = private(harness, harness.facilitator)
    summary = await text_broadcast(harness, "cop_groups")
    confirm_data = button_data(summary, label("forms", "confirm"))

    on_first = await server.press_data(second, first_chat, summary.message_id, confirm_data)
    await server.wait_idle()
    second_chat = private(harness, second)
    own = server.last_bot_message(second_chat)
    in_own_chat = await server.press_data(second, second_chat, own.message_id, confirm_data)
    await server.wait_idle()

    assert alert_of(harness, on_first) == alert("forms/ended", command="/broadcast")
    assert alert_of(harness, in_own_chat) == alert("forms/ended", command="/broadcast")
    assert await load_broadcasts(harness) == []
    assert copies(harness, group) == []
    assert await form_state_of(harness, harness.facilitator, first_chat) == FORM_STATE
    await confirm(harness)
    assert len(copies(harness, group)) == 1
    assert harness.errors == []


# --- Hindi --------------------------------------------------------------------------------


async def test_hindi_texts_render(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    group = await cop_group(harness, "CoP all")
    facilitator.language_code = "hi"
    harness.clock.set(START)
    chat = private(harness, facilitator)

    question = await say(harness, facilitator, "/broadcast")
    await send_formatted(harness, facilitator)
    await choose_audience(harness, "cop_groups", locale="hi")
    await tap(harness, facilitator, label(FORM, "later", "hi"))
    summary = await say(harness, facilitator, "15/12/2026 10:30")
    scheduled = await confirm(harness, locale="hi")
    listed = await say(harness, facilitator, "/broadcasts")
    harness.clock.set(dt.datetime(2026, 12, 15, 5, 1, tzinfo=dt.UTC))
    await harness.settle()
    report = harness.server.last_bot_message(chat)

    broadcast = (await load_broadcasts(harness))[0]
    assert contains_hi(question, f"{FORM}/q_message")
    assert "पाने वाले: 1" in summary.text
    assert "मंगलवार 15 दिस॰ 2026, 10:30 (IST)" in summary.text
    assert scheduled.html == render(
        "broadcasts/scheduled", "hi", count=1, when="मंगलवार 15 दिस॰ 2026, 10:30", zone="IST"
    )
    assert "📣 <b>प्रसारण</b>" in (listed.html or "")
    assert listed.button_texts() == [list_button("cancel", 1, "hi")]
    assert broadcast.report_locale == "hi"
    assert report.html == await expected_report(harness, broadcast.id, "hi")
    assert len(copies(harness, group)) == 1
    assert harness.errors == []


def contains_hi(message: BotMessage, template: str) -> bool:
    assert message.html is not None
    return str(render(template, "hi")) in message.html


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_alerts_fit_telegram(locale: str) -> None:
    long_status = max(
        (label("broadcasts", f"status_{status}", locale) for status in ("scheduled", "sending")),
        key=len,
    )
    alerts = [
        alert("broadcasts/changed", locale, status=long_status),
        alert("broadcasts/gone", locale),
        alert("broadcasts/private_only_alert", locale),
    ]

    for text in alerts:
        assert len(text) <= 200, text


async def test_audience_edit_keeps_ticks(harness: SandboxHarness) -> None:
    await cop_group(harness, "CoP all")
    summary = await text_broadcast(harness, "cop_groups")
    facilitator = harness.facilitator

    question = await tap(harness, facilitator, "✏️ " + label(FORM, "audience"))
    shown = question.button_texts()
    again = await tap(harness, facilitator, label("forms", "done"))

    ticked = [text for text in shown if label("audience", "cop_groups") in text]
    assert ticked, shown
    assert ticked[0] != label("audience", "cop_groups")
    assert "Recipients: 1 (1 group)" in summary.text
    assert "Recipients: 1 (1 group)" in again.text
    assert harness.errors == []
