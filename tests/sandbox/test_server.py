"""Tests of the sandbox Bot API server through a real aiogram Bot."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from sandbox_constants import BOT_TOKEN, BOT_USERNAME

from bot.sandbox import SandboxError, SandboxServer


def keyboard(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="B", callback_data=data)]]
    )


async def started_chat_id(server: SandboxServer, name: str = "alice") -> int:
    """Create a user who has written to the bot, so the bot may message them."""
    user = server.user(name)
    user.started = True
    return server.private_chat(user).id


# -- text limits --------------------------------------------------------------------


async def test_text_length_limit_in_characters(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    sent = await bot.send_message(chat_id, "a" * 4096)
    assert len(sent.text or "") == 4096

    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(chat_id, "a" * 4097)
    assert error.value.message == "Bad Request: message is too long"


async def test_text_length_counts_utf16_units(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    await bot.send_message(chat_id, "😀" * 2048)

    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(chat_id, "😀" * 2049)
    assert "message is too long" in error.value.message


async def test_text_length_ignores_html_tags(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    await bot.send_message(chat_id, "<b>" + "a" * 4096 + "</b>")

    assert server.last_bot_message(chat_id).text == "a" * 4096


async def test_empty_text_rejected(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(chat_id, "<b> </b>")
    assert error.value.message == "Bad Request: message text is empty"


async def test_caption_length_limit(server: SandboxServer, bot: Bot) -> None:
    from aiogram.types import BufferedInputFile

    chat_id = await started_chat_id(server)
    document = BufferedInputFile(b"x", filename="a.txt")

    await bot.send_document(chat_id, document, caption="c" * 1024)
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_document(chat_id, document, caption="c" * 1025)
    assert error.value.message == "Bad Request: message caption is too long"


# -- callback data ------------------------------------------------------------------


async def test_callback_data_byte_limit(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    await bot.send_message(chat_id, "ok", reply_markup=keyboard("x" * 64))

    for data in ("x" * 65, "क" * 33):
        with pytest.raises(TelegramBadRequest) as error:
            await bot.send_message(chat_id, "too long", reply_markup=keyboard(data))
        assert error.value.message == "Bad Request: BUTTON_DATA_INVALID", data


async def test_button_without_action_rejected(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="plain")]])

    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(chat_id, "x", reply_markup=markup)
    assert "Text buttons are unallowed" in error.value.message


# -- HTML ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("é<br>", 'Unsupported start tag "br" at byte offset 2'),
    ],
)
async def test_broken_html_rejected(
    server: SandboxServer, bot: Bot, text: str, detail: str
) -> None:
    chat_id = await started_chat_id(server)

    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(chat_id, text)
    assert error.value.message == f"Bad Request: can't parse entities: {detail}"


async def test_valid_html_stored_plain_and_raw(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    html = '<b>Bold</b> &lt;tag&gt; &amp; <a href="https://example.org">link</a> &#128512;'

    sent = await bot.send_message(chat_id, html)

    record = server.last_bot_message(chat_id)
    assert record.text == "Bold <tag> & link 😀"
    assert record.html == html
    assert sent.text == "Bold <tag> & link 😀"
    assert sent.entities is not None
    assert [entity.type for entity in sent.entities] == ["bold", "text_link"]
    assert sent.entities[1].offset == 13


async def test_plain_parse_mode_keeps_brackets(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    await bot.send_message(chat_id, "a < b <foo>", parse_mode=None)

    assert server.last_bot_message(chat_id).text == "a < b <foo>"


# -- chat errors --------------------------------------------------------------------


async def test_unknown_chat_rejected(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(999, "hi")
    assert error.value.message == "Bad Request: chat not found"


async def test_blocked_user_forbidden(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    server.block(server.user("alice"))

    with pytest.raises(TelegramForbiddenError) as error:
        await bot.send_message(chat_id, "hi")
    assert error.value.message == "Forbidden: bot was blocked by the user"

    server.unblock(server.user("alice"))
    await bot.send_message(chat_id, "hi again")


async def test_never_started_user_forbidden(server: SandboxServer, bot: Bot) -> None:
    user = server.user("bob")

    with pytest.raises(TelegramForbiddenError) as error:
        await bot.send_message(user.id, "hi")
    assert error.value.message == "Forbidden: bot can't initiate conversation with a user"


async def test_migrated_group_reports_new_id(server: SandboxServer, bot: Bot) -> None:
    group = server.group("Farmers", added_by=server.user("alice"))
    supergroup = server.migrate(group)

    with pytest.raises(TelegramMigrateToChat) as error:
        await bot.send_message(group.id, "hi")
    assert error.value.migrate_to_chat_id == supergroup.id
    assert str(supergroup.id).startswith("-100")

    await bot.send_message(supergroup.id, "hi")


async def test_flood_switch_raises_retry_after(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    server.faults.flood(every=2, retry_after=7, methods=["sendMessage"])

    await bot.send_message(chat_id, "first")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(chat_id, "second")
    assert error.value.retry_after == 7
    assert server.requests[-1].status == 429

    server.faults.clear()
    await bot.send_message(chat_id, "third")


async def test_fail_switch_once(server: SandboxServer, bot: Bot) -> None:
    server.faults.fail("getMe", 500, "Internal Server Error")

    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.get_me()
    me = await bot.get_me()
    assert me.username == BOT_USERNAME
    assert me.id == 123456


async def test_rate_limit_per_chat(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    server.limits.enforce_rates = True

    await bot.send_message(chat_id, "one")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(chat_id, "two")


async def test_unknown_method_not_found(server: SandboxServer) -> None:
    url = f"{server.url}/bot{BOT_TOKEN}/noSuchMethod"
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        body = await response.json()
    assert response.status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}


async def test_method_names_case_insensitive(server: SandboxServer) -> None:
    url = f"{server.url}/bot{BOT_TOKEN}/GETME"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    assert body["ok"] is True
    assert body["result"]["username"] == BOT_USERNAME


# -- editing and callbacks ----------------------------------------------------------


async def test_edit_identical_text_not_modified(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    sent = await bot.send_message(chat_id, "<b>same</b>", reply_markup=keyboard("k"))

    with pytest.raises(TelegramBadRequest) as error:
        await bot.edit_message_text(
            "<b>same</b>", chat_id=chat_id, message_id=sent.message_id, reply_markup=keyboard("k")
        )
    assert error.value.message.startswith("Bad Request: message is not modified")

    await bot.edit_message_text("changed", chat_id=chat_id, message_id=sent.message_id)
    record = server.last_bot_message(chat_id)
    assert record.text == "changed"
    assert record.edited is True
    assert record.buttons == []


async def test_edit_unknown_message(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)

    with pytest.raises(TelegramBadRequest) as error:
        await bot.edit_message_text("x", chat_id=chat_id, message_id=77)
    assert error.value.message == "Bad Request: message to edit not found"


async def test_answer_callback_twice_rejected(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    chat = server.private_chat(alice)
    await server.send_text(alice, chat, "/menu")
    await server.wait_idle()

    update = await server.press(alice, chat, "Join")
    await server.wait_idle()

    query_id = update["callback_query"]["id"]
    assert server.callback_answers[-1] == {
        "callback_query_id": query_id,
        "text": "got join",
        "show_alert": False,
        "url": None,
    }
    with pytest.raises(TelegramBadRequest) as error:
        await running_bot.answer_callback_query(query_id)
    assert "query is too old" in error.value.message


# -- polling and synchronisation ----------------------------------------------------


async def test_get_updates_long_poll_wakes_on_update(server: SandboxServer, bot: Bot) -> None:
    alice = server.user("alice")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    started = time.monotonic()

    await server.send_text(alice, server.private_chat(alice), "hello")
    updates = await poll

    assert time.monotonic() - started < 1.0
    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_get_updates_offset_confirms(server: SandboxServer, bot: Bot) -> None:
    alice = server.user("alice")
    chat = server.private_chat(alice)
    await server.send_text(alice, chat, "one")
    await server.send_text(alice, chat, "two")

    first = await bot.get_updates(limit=1)
    assert len(first) == 1
    assert server.pending_updates == 2

    rest = await bot.get_updates(offset=first[0].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["two"]
    assert server.pending_updates == 1

    empty = await bot.get_updates(offset=rest[0].update_id + 1, timeout=0)
    assert empty == []
    assert server.pending_updates == 0


async def test_wait_idle_times_out_without_bot(server: SandboxServer) -> None:
    alice = server.user("alice")
    await server.send_text(alice, server.private_chat(alice), "nobody listens")

    with pytest.raises(SandboxError, match="1 update"):
        await server.wait_idle(timeout=0.1)


async def test_echo_round_trip(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    chat = server.private_chat(alice)

    await server.send_text(alice, chat, "hi <there>")
    await server.wait_idle()

    assert server.last_bot_message(chat).text == "echo: hi <there>"


async def test_privacy_mode_in_group(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    group = server.group("CoP", supergroup=True, added_by=alice)
    await server.wait_idle()

    await server.send_text(alice, group, "just chatting")
    await server.send_text(alice, group, "/start@other_bot")
    await server.wait_idle()
    assert server.bot_messages(group) == []

    await server.send_text(alice, group, "/start")
    await server.send_text(alice, group, f"/start@{BOT_USERNAME} abc")
    await server.wait_idle()
    texts = [message.text for message in server.bot_messages(group)]
    assert texts == ["Welcome, payload=none", "Welcome, payload=abc"]

    reply_target = server.last_bot_message(group).message_id
    await server.send_text(alice, group, "thanks", reply_to_message_id=reply_target)
    await server.send_text(alice, group, f"hey @{BOT_USERNAME}")
    await server.wait_idle()
    texts = [message.text for message in server.bot_messages(group)]
    assert texts[2:] == ["echo: thanks", f"echo: hey @{BOT_USERNAME}"]


async def test_group_creation_updates(server: SandboxServer, bot: Bot) -> None:
    alice = server.user("alice")
    group = server.group("Basic", added_by=alice)

    updates = await bot.get_updates()

    assert group.id < 0
    assert not str(group.id).startswith("-100")
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    assert updates[0].my_chat_member.from_user.id == alice.id
    assert updates[1].message is not None
    assert updates[1].message.new_chat_members is not None
    assert updates[1].message.new_chat_members[0].id == 123456


async def test_forum_topic_threads(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    forum = server.group("Forum", forum=True, added_by=alice)
    thread = server.topic(forum, "Markets")
    assert server.topic(forum, "Markets") == thread

    await server.send_text(alice, forum, "/menu", thread_id=thread)
    await server.wait_idle()

    record = server.last_bot_message(forum, thread_id=thread)
    assert record.text == "Choose:"
    assert record.thread_id == thread

    with pytest.raises(TelegramBadRequest) as error:
        await running_bot.send_message(forum.id, "x", message_thread_id=9999)
    assert error.value.message == "Bad Request: message thread not found"


async def test_press_by_text_variants(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    chat = server.private_chat(alice)
    await server.send_text(alice, chat, "/menu")
    await server.wait_idle()

    await server.press(alice, chat, "join")
    await server.press(alice, chat, "Leave")
    await server.wait_idle()

    texts = [message.text for message in server.bot_messages(chat)]
    assert texts[-2:] == ["pressed join", "pressed leave"]

    with pytest.raises(SandboxError, match="'Join'"):
        await server.press(alice, chat, "Nope")


async def test_press_deep_link_button(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    group = server.group("CoP", supergroup=True, added_by=alice)
    await server.send_text(alice, group, "/menu")
    await server.wait_idle()

    await server.press(alice, group, "Open in private")
    await server.wait_idle()

    private = server.private_chat(alice)
    assert server.last_bot_message(private).text == "Welcome, payload=from_group"


async def test_file_upload_and_download(server: SandboxServer, running_bot: Bot) -> None:
    alice = server.user("alice")
    chat = server.private_chat(alice)
    content = b"col1,col2\n1,2\n"

    await server.send_document(alice, chat, content, filename="members.csv")
    await server.wait_idle()

    assert server.last_bot_message(chat).text == f"received members.csv {len(content)} bytes"


async def test_bot_document_roundtrip(server: SandboxServer, bot: Bot) -> None:
    from aiogram.types import BufferedInputFile

    chat_id = await started_chat_id(server)
    sent = await bot.send_document(
        chat_id, BufferedInputFile(b"report", filename="report.txt"), caption="<i>Weekly</i>"
    )

    assert sent.document is not None
    record = server.last_bot_message(chat_id)
    assert record.kind == "document"
    assert record.document_name == "report.txt"
    assert record.caption == "Weekly"
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None
    assert downloaded.read() == b"report"


# -- other methods ------------------------------------------------------------------


async def test_commands_stored_per_scope(server: SandboxServer, bot: Bot) -> None:
    from aiogram.types import BotCommandScopeAllGroupChats

    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands(
        [BotCommand(command="menu", description="Menu")], scope=BotCommandScopeAllGroupChats()
    )

    default = await bot.get_my_commands()
    groups = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())
    assert [c.command for c in default] == ["start"]
    assert [c.command for c in groups] == ["menu"]

    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []


async def test_chat_member_statuses(server: SandboxServer, bot: Bot) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    group = server.group("CoP", supergroup=True, added_by=alice)
    await server.send_text(bob, group, "hi")

    assert (await bot.get_chat_member(group.id, alice.id)).status == "creator"
    assert (await bot.get_chat_member(group.id, bob.id)).status == "member"
    assert (await bot.get_chat_member(group.id, 123456)).status == "member"
    with pytest.raises(TelegramBadRequest) as error:
        await bot.get_chat_member(group.id, 42)
    assert error.value.message == "Bad Request: user not found"

    chat = await bot.get_chat(group.id)
    assert chat.title == "CoP"


async def test_delete_message_marks_record(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    sent = await bot.send_message(chat_id, "temporary")

    assert await bot.delete_message(chat_id, sent.message_id) is True

    assert server.bot_messages(chat_id) == []
    assert server.bot_messages(chat_id, include_deleted=True)[0].deleted is True
    with pytest.raises(TelegramBadRequest):
        await bot.delete_message(chat_id, sent.message_id)


async def test_on_bot_message_hook(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    events: list[tuple[str, str]] = []
    server.on_bot_message = lambda message, event: events.append((event, message.text))

    sent = await bot.send_message(chat_id, "v1")
    await bot.edit_message_text("v2", chat_id=chat_id, message_id=sent.message_id)

    assert events == [("sent", "v1"), ("edited", "v2")]


async def test_requests_recorded_in_order(server: SandboxServer, bot: Bot) -> None:
    chat_id = await started_chat_id(server)
    await bot.send_message(chat_id, "x")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(chat_id, "")

    methods = [(r.method, r.status, r.description) for r in server.requests]
    assert methods == [
        ("sendMessage", 200, None),
        ("sendMessage", 400, "Bad Request: message text is empty"),
    ]
    assert server.requests[0].params["text"] == "x"
    assert server.requests[0].at <= server.requests[1].at
