"""Steps shared by the form runner's end-to-end tests: who is asked what, pressing, reading rows."""

from __future__ import annotations

import json

from aiogram.fsm.storage.base import StorageKey
from e2e_helpers import Answers, callback_answer_for, decide, register, render
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from storage.models import Contribution, Theme


async def approved_poc(harness: SandboxHarness, name: str, bso: str = "PRADAN") -> SandboxUser:
    """Register `name` as the PoC of `bso` in private chat and approve them."""
    user = harness.server.user(name)
    review = await register(harness, user, Answers(name=f"{name.capitalize()} Patil", bso=bso))
    await decide(harness, review, "approve")
    return user


def questions_to(harness: SandboxHarness, chat: SandboxChat, user: SandboxUser) -> list[BotMessage]:
    """Return the bot's messages in a group that reply to one of `user`'s messages."""
    return [
        message
        for message in harness.server.bot_messages(chat)
        if (message.raw.get("reply_to_message") or {}).get("from", {}).get("id") == user.id
    ]


def question_to(harness: SandboxHarness, chat: SandboxChat, user: SandboxUser) -> BotMessage:
    found = questions_to(harness, chat, user)
    assert found, f"the bot sent nothing to {user.name} in {chat.title}"
    return found[-1]


async def reply(
    harness: SandboxHarness, user: SandboxUser, chat: SandboxChat, text: str
) -> BotMessage:
    """Reply to the latest form message to `user` in a group; return the next one."""
    question = question_to(harness, chat, user)
    await harness.server.send_text(user, chat, text, reply_to_message_id=question.message_id)
    await harness.server.wait_idle()
    return question_to(harness, chat, user)


def button_data(message: BotMessage, text: str) -> str:
    for row in message.buttons:
        for button in row:
            if button.text == text and button.callback_data is not None:
                return button.callback_data
    raise AssertionError(f"no button {text!r} on message {message.message_id}: {message.buttons}")


async def press_on(
    harness: SandboxHarness, user: SandboxUser, chat: SandboxChat, message: BotMessage, text: str
) -> dict:
    """Press the button `text` of one given message as `user`; return the queued update."""
    update = await harness.server.press_data(
        user, chat, message.message_id, button_data(message, text)
    )
    await harness.server.wait_idle()
    return update


async def contributions(harness: SandboxHarness) -> list[Contribution]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Contribution).order_by(Contribution.id))).all())


async def theme_key(harness: SandboxHarness, theme_id: int) -> str | None:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        theme = await session.get(Theme, theme_id)
        return theme.key if theme is not None else None


async def form_state_of(
    harness: SandboxHarness, user: SandboxUser, chat: SandboxChat
) -> str | None:
    """Return the FSM state the bot stored for `user` in `chat`."""
    assert harness.app is not None
    return await harness.app.dispatcher.storage.get_state(storage_key(harness, user, chat))


def alert_of(harness: SandboxHarness, update: dict) -> str | None:
    """Return the alert text the bot answered a button press with, failing if unanswered."""
    answer = callback_answer_for(harness, update)
    assert answer is not None, "the button press was not answered"
    return answer["text"] if answer["show_alert"] else None


def sent_markups(harness: SandboxHarness, chat: SandboxChat) -> list[dict]:
    """Return the reply_markup of every sendMessage request to `chat`, decoded."""
    markups = []
    for request in harness.server.requests_for("sendMessage"):
        if str(request.params.get("chat_id")) != str(chat.id):
            continue
        markup = request.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if isinstance(markup, dict):
            markups.append(markup)
    return markups


def contains(message: BotMessage, template: str, /, **context: object) -> bool:
    """Tell whether the bot's message includes the rendered English template."""
    assert message.html is not None
    return str(render(template, **context)) in message.html


def storage_key(harness: SandboxHarness, user: SandboxUser, chat: SandboxChat) -> StorageKey:
    return StorageKey(bot_id=harness.server.bot_id, chat_id=chat.id, user_id=user.id)


async def form_data_of(harness: SandboxHarness, user: SandboxUser, chat: SandboxChat) -> dict:
    """Return the FSM data the bot stored for `user` in `chat`: the form and the runner's keys."""
    assert harness.app is not None
    return await harness.app.dispatcher.storage.get_data(storage_key(harness, user, chat))


async def set_form_data(
    harness: SandboxHarness, user: SandboxUser, chat: SandboxChat, data: dict
) -> None:
    """Overwrite the stored FSM data, as another process sharing the storage would."""
    assert harness.app is not None
    await harness.app.dispatcher.storage.set_data(storage_key(harness, user, chat), data)
