"""Steps shared by the end-to-end tests of asks, gives, /mine and /matrix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from e2e_helpers import TEXTS, Answers, decide, label, register, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from storage import themes as theme_store
from storage.models import Bso, Community, Contribution, Person, Theme


def alert(template: str, locale: str = "en", /, **context: Any) -> str:
    """Render a template as the bot's callback alerts show it: plain text."""
    return TEXTS.bind(locale).alert(template, **context)


async def approved_poc(
    harness: SandboxHarness, name: str, answers: Answers | None = None
) -> SandboxUser:
    user = harness.server.user(name)
    review = await register(harness, user, answers)
    await decide(harness, review, "approve")
    return user


async def cop_group(
    harness: SandboxHarness, title: str = "CoP all", kind: str = "cop"
) -> SandboxChat:
    """Add the bot to a group and let the facilitator mark its kind, the CoP-wide one by default."""
    group = harness.server.group(title, added_by=harness.facilitator)
    await harness.server.wait_idle()
    await say(harness, harness.facilitator, "/groupkind", chat=group)
    await tap(harness, harness.facilitator, label("groups", kind), chat=group)
    return group


async def file_entry(
    harness: SandboxHarness,
    user: SandboxUser,
    kind: str = "ask",
    *,
    theme: str = "finance",
    title: str = "Working capital for onion aggregation",
    description: str = "Our FPOs need 20 lakh before the rabi harvest.",
    commodities: str | None = "onion",
    states: str | None = None,
    private: bool = False,
    locale: str = "en",
) -> BotMessage:
    """File an ask or give through its form, tapping the theme button; return the saved reply."""
    await say(harness, user, f"/{kind}")
    await tap(harness, user, label("themes", theme, locale))
    await say(harness, user, title)
    await say(harness, user, description)
    await say(harness, user, commodities or "/skip")
    await say(harness, user, states or "/skip")
    if kind == "ask":
        await tap(harness, user, label("asks", "high", locale))
    await tap(harness, user, label("asks", "peer" if kind == "ask" else "tool", locale))
    await tap(harness, user, label("forms", "done", locale))
    await tap(harness, user, label("forms", "yes" if private else "no", locale))
    return await tap(harness, user, label("forms", "confirm", locale))


async def load_entries(harness: SandboxHarness) -> list[Contribution]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Contribution).order_by(Contribution.id))).all())


async def load_entry(harness: SandboxHarness, entry_id: int) -> Contribution:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        entry = await session.get(Contribution, entry_id)
    assert entry is not None, f"entry {entry_id} not found"
    return entry


async def load_theme(harness: SandboxHarness, key: str) -> Theme:
    """Return the community's default theme with this key, creating the defaults first."""
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community_id = await session.scalar(select(Community.id).order_by(Community.id).limit(1))
        assert community_id is not None
        listed = await theme_store.active_themes(session, community_id)
        theme = await session.scalar(
            select(Theme).where(Theme.community_id == community_id, Theme.key == key)
        )
    assert listed, "the community has no active themes"
    assert theme is not None, f"no theme with key {key!r}"
    return theme


async def add_entries(
    harness: SandboxHarness,
    user: SandboxUser,
    count: int,
    *,
    theme_key: str = "finance",
    title: str = "T",
    description: str = "D",
    **values: Any,
) -> list[int]:
    """Store `count` asks of the user's BSO directly in the database; return their ids."""
    assert harness.app is not None
    theme = await load_theme(harness, theme_key)
    async with harness.app.sessionmaker.begin() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == user.id))
        assert person is not None and person.bso_id is not None
        made = [
            Contribution(
                community_id=person.community_id,
                bso_id=person.bso_id,
                person_id=person.id,
                kind="ask",
                theme_id=theme.id,
                title=title,
                description=description,
                created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=number),
                **values,
            )
            for number in range(count)
        ]
        session.add_all(made)
        await session.flush()
        return [entry.id for entry in made]


async def bso_id_of(harness: SandboxHarness, short_name: str) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        bso_id = await session.scalar(select(Bso.id).where(Bso.short_name == short_name))
    assert bso_id is not None, f"no BSO {short_name!r}"
    return bso_id


async def press(
    harness: SandboxHarness, user: SandboxUser, message: BotMessage, data: str
) -> dict[str, Any] | None:
    """Press callback data (a button's or a forged one) on a message; return the bot's answer."""
    chat = harness.server.chat(message.chat_id)
    answered = len(harness.server.callback_answers)
    await harness.server.press_data(user, chat, message.message_id, data)
    await harness.server.wait_idle()
    answers = harness.server.callback_answers[answered:]
    assert len(answers) == 1, f"expected one callback answer, got {answers}"
    return answers[0]


def button_data(message: BotMessage, text: str) -> str:
    """Return the callback data of the button with this text on a message."""
    for row in message.buttons:
        for found in row:
            if found.text == text and found.callback_data is not None:
                return found.callback_data
    raise AssertionError(f"no button {text!r} on message: {message.button_texts()}")


async def open_edit(harness: SandboxHarness, user: SandboxUser, number: str = "1") -> BotMessage:
    """Open entry `number` of the user's /mine list and press Edit; return the form's summary."""
    await say(harness, user, "/mine")
    await tap(harness, user, number)
    return await tap(harness, user, label("asks/mine", "edit"))


async def edit_field(
    harness: SandboxHarness, user: SandboxUser, field: str, kind: str = "ask"
) -> BotMessage:
    """Press the summary's edit button of one field; return the question it asks."""
    field_label = label(f"asks/{kind}", field)
    return await tap(harness, user, TEXTS.label("en", "forms", "edit", field=field_label))
