"""Steps shared by the end-to-end tests: talk to the bot, fill the registration form, read the DB."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from bot.texts import Texts
from storage.models import GroupChat, Person

TEXTS = Texts()


def label(feature: str, key: str, locale: str = "en", /, **context: object) -> str:
    return TEXTS.label(locale, feature, key, **context)


def render(template: str, locale: str = "en", /, **context: object) -> Markup:
    """Render a message template as the bot does; Markup, so a nested reason is not escaped twice."""
    return TEXTS.render(locale, template, **context)


def question(
    template: str,
    locale: str = "en",
    /,
    *,
    reason: Markup | None = None,
    notes: tuple[Markup, ...] = (),
    optional: bool = False,
    can_go_back: bool = True,
) -> Markup:
    """Render a form question as the form runner sends it in private chat, not while editing."""
    return render(
        "forms/ask",
        locale,
        notes=list(notes),
        reason=reason,
        question=render(template, locale),
        current_answer=None,
        optional=optional,
        editing=False,
        multi=False,
        can_go_back=can_go_back,
        in_group=False,
    )


def error(code: str, locale: str = "en", /, **params: object) -> Markup:
    """Render the reason a form gives for an invalid answer (a FieldError code)."""
    return render(f"forms/errors/{code}", locale, **params)


async def say(
    harness: SandboxHarness,
    user: SandboxUser,
    text: str,
    chat: SandboxChat | None = None,
    thread_id: int | None = None,
) -> BotMessage:
    """Send text, wait until the bot is idle, and return the bot's latest message in that chat."""
    chat = chat or harness.server.private_chat(user)
    await harness.server.send_text(user, chat, text, thread_id=thread_id)
    await harness.server.wait_idle()
    return harness.server.last_bot_message(chat, thread_id=thread_id)


async def tap(
    harness: SandboxHarness,
    user: SandboxUser,
    button_text: str,
    chat: SandboxChat | None = None,
    thread_id: int | None = None,
) -> BotMessage:
    """Press a button, wait until the bot is idle, and return the bot's latest message in that chat."""
    chat = chat or harness.server.private_chat(user)
    await harness.server.press(user, chat, button_text, thread_id=thread_id)
    await harness.server.wait_idle()
    return harness.server.last_bot_message(chat, thread_id=thread_id)


@dataclass
class Answers:
    """Answers to the seven registration questions; `bso` is a button label."""

    name: str = "Asha Patil"
    bso: str = "PRADAN"
    role: str = "programme manager"
    phone: str | None = "98765 43210"
    states: str = "MH, Karnataka"
    commodities: str = "onion, turmeric"
    language: str = "en"


async def fill_form(
    harness: SandboxHarness,
    user: SandboxUser,
    answers: Answers,
    *,
    via_group: SandboxChat | None = None,
) -> BotMessage:
    """Start registration (in private, or through a group's deep link) and answer up to the summary."""
    if via_group is None:
        await say(harness, user, "/start")
    else:
        await say(harness, user, "/register", chat=via_group)
        await tap(harness, user, label("registration", "continue_private"), chat=via_group)
    await tap(harness, user, label("registration", "agree"))
    await say(harness, user, answers.name)
    await tap(harness, user, answers.bso)
    await say(harness, user, answers.role)
    if answers.phone is None:
        await say(harness, user, "/skip")
    else:
        await say(harness, user, answers.phone)
    await say(harness, user, answers.states)
    await say(harness, user, answers.commodities)
    language_key = "hindi" if answers.language == "hi" else "english"
    return await tap(harness, user, label("registration", language_key))


async def register(
    harness: SandboxHarness,
    user: SandboxUser,
    answers: Answers | None = None,
    *,
    via_group: SandboxChat | None = None,
) -> BotMessage:
    """Fill the form and press Confirm; return the facilitator's review message."""
    answers = answers or Answers()
    summary = await fill_form(harness, user, answers, via_group=via_group)
    assert summary.buttons, f"expected the summary with buttons, got: {summary.text}"
    await tap(harness, user, label("forms", "confirm", answers.language))
    return harness.server.last_bot_message(harness.server.private_chat(harness.facilitator))


def decision_data(review: BotMessage, action: str) -> str:
    """Return the callback data of the Approve or Reject button of a review message."""
    button = next(
        button
        for row in review.buttons
        for button in row
        if button.text == label("registration", action)
    )
    assert button.callback_data is not None
    return button.callback_data


async def decide(
    harness: SandboxHarness, review: BotMessage, action: str, data: str | None = None
) -> dict:
    """Press Approve or Reject on one review message in the facilitator's chat; return the update."""
    chat = harness.server.private_chat(harness.facilitator)
    update = await harness.server.press_data(
        harness.facilitator, chat, review.message_id, data or decision_data(review, action)
    )
    await harness.server.wait_idle()
    return update


async def load_person(harness: SandboxHarness, user: SandboxUser) -> Person | None:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.scalars(select(Person).where(Person.telegram_id == user.id))
        return rows.first()


async def load_group(harness: SandboxHarness, chat: SandboxChat) -> GroupChat | None:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.scalars(select(GroupChat).where(GroupChat.telegram_chat_id == chat.id))
        return rows.first()


def callback_answer_for(harness: SandboxHarness, update: dict) -> dict | None:
    """Return the bot's answerCallbackQuery for a queued callback update, or None if unanswered."""
    query_id = update["callback_query"]["id"]
    return next(
        (a for a in harness.server.callback_answers if a["callback_query_id"] == query_id), None
    )
