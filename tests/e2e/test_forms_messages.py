"""A form with a message answer, a date and time and a link, run through the sandbox.

The test flow announces a webinar: the announcement is a whole message (text with
formatting, or a photo with a caption), then the start time and the meeting link. Its
summary note copies the announcement back as a preview before the summary.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from e2e_form_helpers import approved_poc
from e2e_helpers import label, render, say, tap
from jinja2 import ChoiceLoader, DictLoader
from markupsafe import Markup

from bot.forms import DateTimeField, Form, FormField, LinkField, MessageAnswer
from bot.forms.engine import Confirmed
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.methods import photo_size
from bot.sandbox.models import BotMessage, SandboxUser
from bot.sandbox.text import utf16_len
from bot.texts import LocalTexts, Texts
from handlers import forms
from handlers.forms import FormContext, FormFlow, register_flow, start_form

# 14:05 in India on Friday 4 December 2026.
NOW = dt.datetime(2026, 12, 4, 8, 35, tzinfo=dt.UTC)
COMMAND = "webinartest"
PROMPTS = "webinartest"
# The test flow's templates, served next to the real prompts.
TEMPLATES = {
    f"en/{PROMPTS}/title.html": "Test webinar",
    f"en/{PROMPTS}/buttons.txt": (
        "{% block post %}Announcement{% endblock %}\n"
        "{% block starts %}Starts{% endblock %}\n"
        "{% block link %}Meeting link{% endblock %}\n"
    ),
    f"en/{PROMPTS}/q_post.html": "Send the announcement.",
    f"en/{PROMPTS}/q_starts.html": "When does it start?",
    f"en/{PROMPTS}/q_link.html": "Send the meeting link.",
    f"en/{PROMPTS}/note.html": "<i>Above is the copy members get, with {{ count }} links.</i>",
}
SAVED: list[Confirmed] = []
# Renders the test flow's templates as the bot does, for comparing its messages.
FLOW_TEXTS = Texts()
FLOW_TEXTS.env.loader = ChoiceLoader([DictLoader(TEMPLATES), FLOW_TEXTS.env.loader])


async def build(context: FormContext) -> Form:
    return Form(
        name="webtest",
        summary=f"{PROMPTS}/title",
        fields=(
            FormField(
                name="post",
                kind=MessageAnswer(kinds=("text", "photo", "document"), link_required=True),
                question=f"{PROMPTS}/q_post",
            ),
            FormField(
                name="starts",
                kind=DateTimeField(timezone=context.community.timezone, earliest=context.now),
                question=f"{PROMPTS}/q_starts",
            ),
            FormField(name="link", kind=LinkField(), question=f"{PROMPTS}/q_link"),
        ),
    )


async def save(context: FormContext, confirmed: Confirmed) -> None:
    SAVED.append(confirmed)


async def preview(context: FormContext, answers: Mapping[str, Any]) -> Markup:
    post = answers["post"]
    await context.bot.copy_message(context.chat_id, post["chat_id"], post["message_id"])
    return context.t(f"{PROMPTS}/note", count=len(post["links"]))


FLOW = register_flow(
    FormFlow(
        name="webtest",
        prompts=PROMPTS,
        command=f"/{COMMAND}",
        build=build,
        save=save,
        summary_note=preview,
    )
)


def command_router() -> Router:
    router = Router(name=COMMAND)

    @router.message(Command(COMMAND))
    async def start_test_form(
        message: Message, state: FSMContext, t: LocalTexts, **data: Any
    ) -> None:
        context = FormContext(
            session=data["session"],
            bot=data["bot"],
            settings=data["settings"],
            texts=data["texts"],
            t=t,
            community=data["community"],
            person=data["person"],
            is_facilitator=data["is_facilitator"],
            chat_id=message.chat.id,
            chat_type=message.chat.type,
            now=data["clock"].now(),
        )
        await start_form(FLOW, message, state, context)

    return router


@pytest.fixture
async def webinar(harness: SandboxHarness) -> AsyncIterator[SandboxHarness]:
    """The harness with the test flow's templates and its command, at 14:05 in India."""
    assert harness.app is not None
    env = harness.app.texts.env
    original = env.loader
    assert original is not None
    env.loader = ChoiceLoader([DictLoader(TEMPLATES), original])
    dispatcher = harness.app.dispatcher
    router = command_router()
    dispatcher.include_router(router)
    # Right after the form runner, ahead of the fallback router that replies to unknown commands.
    dispatcher.sub_routers.remove(router)
    dispatcher.sub_routers.insert(dispatcher.sub_routers.index(forms.router) + 1, router)
    harness.clock.set(NOW)
    SAVED.clear()
    yield harness
    env.loader = original


def question(template: str) -> Markup:
    return FLOW_TEXTS.render("en", f"{PROMPTS}/{template}")


async def send_formatted(harness: SandboxHarness, user: SandboxUser) -> dict[str, Any]:
    """Send a text with bold words, a URL Telegram marked and a hidden link, as a user would."""
    head = "🌱 "
    bold = "Webinar on onion storage"
    url = "meet.google.com/abc-defg"
    link_text = "Register here"
    text = f"{head}{bold}: {url} — {link_text}"
    entities = [
        {"type": "bold", "offset": utf16_len(head), "length": utf16_len(bold)},
        {"type": "url", "offset": utf16_len(f"{head}{bold}: "), "length": utf16_len(url)},
        {
            "type": "text_link",
            "offset": utf16_len(f"{head}{bold}: {url} — "),
            "length": utf16_len(link_text),
            "url": "https://zoom.us/j/123",
        },
    ]
    chat = harness.server.private_chat(user)
    # NOTE: SandboxServer.send_text adds only command and mention entities, so the
    # formatted message goes through the server's lower-level user message method.
    sent = harness.server._user_message(user, chat, {"text": text, "entities": entities})
    await harness.server.wait_idle()
    return sent


async def send_album_photo(harness: SandboxHarness, user: SandboxUser) -> None:
    stored = harness.server.store_file(
        b"\xff\xd8\xff\xe0 jpeg", file_name="a.jpg", mime_type="image/jpeg"
    )
    content = {"photo": [photo_size(stored)], "media_group_id": "album-1", "caption": "Day 1"}
    harness.server._user_message(user, harness.server.private_chat(user), content)
    await harness.server.wait_idle()


def last(harness: SandboxHarness, user: SandboxUser) -> BotMessage:
    return harness.server.last_bot_message(harness.server.private_chat(user))


async def test_message_time_link_form(webinar: SandboxHarness) -> None:
    harness = webinar
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)

    first = await say(harness, asha, f"/{COMMAND}")
    assert question("q_post") in (first.html or "")

    await harness.server.send_sticker(asha, chat)
    await harness.server.wait_idle()
    rejected = last(harness, asha)
    assert render("forms/not_expected", kind="sticker") in (rejected.html or "")
    assert question("q_post") in (rejected.html or "")

    no_link = await say(harness, asha, "Webinar on Friday")
    assert render("forms/errors/link_missing") in (no_link.html or "")

    await harness.server.send_photo(
        asha, chat, b"\xff\xd8\xff\xe0 jpeg", caption="Onion shed visit, Nashik"
    )
    await harness.server.wait_idle()
    assert question("q_starts") in (last(harness, asha).html or "")

    back = await say(harness, asha, "/back")
    assert question("q_post") in (back.html or "")
    assert "Current answer: Photo: Onion shed visit, Nashik" in back.text

    formatted = await send_formatted(harness, asha)
    assert question("q_starts") in (last(harness, asha).html or "")

    past = await say(harness, asha, "10:30")
    assert "is in the past (it is now Fri 4 Dec 2026, 14:05)" in past.text
    assert "tomorrow 10:30" in past.text

    await say(harness, asha, "tomorrow 10:30")
    bad_link = await say(harness, asha, "javascript:alert(1)")
    assert "is not a web link" in bad_link.text

    copies_before = len(harness.server.requests_for("copyMessage"))
    summary = await say(harness, asha, "zoom.us/j/987")

    copies = harness.server.requests_for("copyMessage")[copies_before:]
    assert len(copies) == 1
    assert str(copies[0].params["message_id"]) == str(formatted["message_id"])
    messages = harness.server.bot_messages(chat)
    copy, newest = messages[-2], messages[-1]
    assert copy.raw["text"] == formatted["text"]
    assert [entity["type"] for entity in copy.raw["entities"]] == ["bold", "url", "text_link"]
    assert newest is summary
    assert summary.html is not None
    assert "<i>Above is the copy members get, with 2 links.</i>" in summary.html
    assert "<b>Starts:</b> Sat 5 Dec 2026, 10:30" in summary.html
    assert "<b>Meeting link:</b> https://zoom.us/j/987" in summary.html
    assert "Webinar on onion storage: meet.google.com/abc-defg — Register here" in summary.html
    assert summary.button_texts()[-2:] == [label("forms", "confirm"), label("forms", "cancel")]

    await tap(harness, asha, label("forms", "confirm"))

    assert len(SAVED) == 1
    answers = SAVED[0].answers
    post = answers["post"]
    assert post.kind == "text"
    assert post.chat_id == chat.id
    assert post.message_id == formatted["message_id"]
    assert post.links == ("https://meet.google.com/abc-defg", "https://zoom.us/j/123")
    assert answers["starts"] == dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)
    assert SAVED[0].answers_json["starts"] == "2026-12-05T10:30:00+05:30"
    assert answers["link"] == "https://zoom.us/j/987"
    assert harness.errors == []


async def test_photo_announcement_confirmed(webinar: SandboxHarness) -> None:
    harness = webinar
    asha = await approved_poc(harness, "asha")
    chat = harness.server.private_chat(asha)
    await say(harness, asha, f"/{COMMAND}")

    photo = await harness.server.send_photo(
        asha, chat, b"\xff\xd8\xff\xe0 jpeg", caption="Onion  shed\nvisit"
    )
    await harness.server.wait_idle()
    await say(harness, asha, "कल शाम 5 बजे")
    summary = await say(harness, asha, "https://meet.google.com/abc-defg-hij")

    assert summary.html is not None
    assert "<b>Announcement:</b> Photo: Onion shed visit" in summary.html
    assert "<b>Starts:</b> Sat 5 Dec 2026, 17:00" in summary.html
    assert "with 0 links" in summary.html
    copy = harness.server.bot_messages(chat)[-2]
    assert copy.kind == "photo"
    assert copy.caption == "Onion  shed\nvisit"

    await tap(harness, asha, label("forms", "confirm"))
    post = SAVED[0].answers["post"]
    assert post.kind == "photo"
    assert post.message_id == photo["message_id"]
    assert post.preview == "Onion shed visit"
    assert harness.errors == []


async def test_album_rejected_at_message_question(webinar: SandboxHarness) -> None:
    harness = webinar
    asha = await approved_poc(harness, "asha")
    await say(harness, asha, f"/{COMMAND}")

    await send_album_photo(harness, asha)

    rejected = last(harness, asha)
    assert render("forms/not_expected", kind="album") in (rejected.html or "")
    assert question("q_post") in (rejected.html or "")
    assert harness.errors == []
