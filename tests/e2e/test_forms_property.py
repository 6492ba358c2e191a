"""Property-based test of the form runner: random input through the sandbox never breaks it.

Hypothesis drives /ask and /give with random sequences of typed text, commands, stickers,
edits, bursts, clock jumps, button presses (current, old, double-tapped, another person's
and forged ones) in private chat and in a group. After each sequence no handler has
raised, every button press was answered, an open form is one the runner can load, and
Contribution rows appear only for Confirm presses, at most one per summary message,
with every required field.

The examples share one harness and one approved PoC, and each starts with /cancel in
both chats, so the test needs a few seconds rather than one harness start per example.
FORM_PROPERTY_EXAMPLES sets the number of examples (25 by default).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

from e2e_form_helpers import (
    approved_poc,
    contributions,
    form_data_of,
    form_state_of,
    questions_to,
)
from e2e_helpers import callback_answer_for, load_person, render
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.forms.engine import FormState
from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat
from handlers.callbacks import FormButton
from handlers.forms import FLOWS, FORM_STATE
from storage.models import Contribution

EXAMPLES = int(os.environ.get("FORM_PROPERTY_EXAMPLES", "25"))
GROUP_TITLE = "CoP random"

ANSWERS = [
    "finance",
    "2",
    "वित्त",
    "Working capital for onion",
    "Our FPOs need 20 lakh before the harvest.",
    "onion, turmeric",
    "Maharashtra",
    "MH",
    "urgent",
    "peer, expert",
    "tool",
    "Yes",
    "हाँ",
    "no",
    "x",
    "<b>bold</b> & co",
]
# Valid answers to every question of /ask and of /give, in asking order.
FILLS = {
    "/ask": [
        "finance",
        "Working capital",
        "Twenty lakh for onion",
        "/skip",
        "/skip",
        "1",
        "peer",
        "no",
    ],
    "/give": ["2", "Cold storage design", "A template for FPOs", "onion", "/skip", "tool", "yes"],
}
COMMANDS = ["/back", "/skip", "/cancel", "/buyers onion", "/help", "/ask", "/give", "/skip now"]

# Each action is a tuple whose first item names it; `run_action` carries it out.
texts = st.one_of(st.sampled_from(ANSWERS), st.text(min_size=1, max_size=40))
actions = st.one_of(
    st.tuples(st.just("start"), st.sampled_from(["/ask", "/give"])),
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("command"), st.sampled_from(COMMANDS)),
    st.tuples(st.just("press"), st.integers(0, 30)),
    st.tuples(st.just("press_old"), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("double"), st.integers(0, 30)),
    st.tuples(
        st.just("forge"),
        st.sampled_from(["ask", "give", "zz", ""]),
        st.sampled_from(["choose", "toggle", "done", "skip", "edit", "confirm", "back", "x"]),
        st.sampled_from(["", "t1", "t2", "peer", "yes", "title", "private", "nope"]),
        st.integers(0, 12),
    ),
    st.tuples(st.just("garbage"), st.text(min_size=1, max_size=64)),
    st.tuples(st.just("media"), st.sampled_from(["sticker", "photo", "voice"])),
    st.tuples(st.just("edit"), texts),
    st.tuples(st.just("forward"), texts),
    st.tuples(st.just("burst"), st.lists(texts, min_size=2, max_size=4)),
    st.tuples(st.just("clock"), st.sampled_from([1, 30, 49])),
    st.tuples(st.just("fill"), st.sampled_from(sorted(FILLS)), st.booleans()),
    st.tuples(st.just("group_start"), st.sampled_from(["/ask", "/give"])),
    st.tuples(st.just("group_reply"), texts),
    st.tuples(st.just("group_press"), st.integers(0, 30)),
    st.tuples(st.just("intruder_press"), st.integers(0, 30), st.booleans()),
)


@dataclass
class Record:
    """What one example did that the checks need: its presses, and where Confirm was pressed.

    `confirmed` contains the (chat id, message id) of each message on which Asha pressed a
    Confirm button, real or forged. A summary saves at most once however often it is
    pressed, so the rows saved never outnumber these messages.
    """

    presses: list[dict] = field(default_factory=list)
    confirmed: set[tuple[int, int]] = field(default_factory=set)


def buttons_of(message: BotMessage) -> list[str]:
    return [
        button.callback_data
        for row in message.buttons
        for button in row
        if button.callback_data is not None
    ]


def is_confirm(data: str) -> bool:
    try:
        return FormButton.unpack(data).action == "confirm"
    except (TypeError, ValueError):
        return False


async def press(
    harness: SandboxHarness,
    record: Record,
    user_name: str,
    chat: SandboxChat,
    message: BotMessage,
    index: int,
    *,
    wait: bool = True,
) -> None:
    choices = buttons_of(message)
    if not choices:
        return
    data = choices[index % len(choices)]
    user = harness.server.user(user_name)
    update = await harness.server.press_data(user, chat, message.message_id, data)
    record.presses.append(update)
    if is_confirm(data) and user_name == "asha":
        record.confirmed.add((chat.id, message.message_id))
    if wait:
        await harness.server.wait_idle()


def with_buttons(harness: SandboxHarness, chat: SandboxChat) -> list[BotMessage]:
    return [message for message in harness.server.bot_messages(chat) if message.buttons]


async def run_action(harness: SandboxHarness, record: Record, action: tuple) -> None:
    server = harness.server
    asha = server.user("asha")
    private = server.private_chat(asha)
    group = server.group(GROUP_TITLE)
    kind = action[0]

    if kind in ("start", "text", "command"):
        await server.send_text(asha, private, action[1])
    elif kind == "press":
        button_messages = with_buttons(harness, private)
        if button_messages:
            await press(harness, record, "asha", private, button_messages[-1], action[1])
    elif kind == "press_old":
        button_messages = with_buttons(harness, private)
        if button_messages:
            await press(
                harness,
                record,
                "asha",
                private,
                button_messages[action[1] % len(button_messages)],
                action[2],
            )
    elif kind == "double":
        button_messages = with_buttons(harness, private)
        if button_messages:
            await press(
                harness, record, "asha", private, button_messages[-1], action[1], wait=False
            )
            await press(
                harness, record, "asha", private, button_messages[-1], action[1], wait=False
            )
    elif kind in ("forge", "garbage"):
        sent = server.bot_messages(private)
        if sent:
            if kind == "forge":
                data = FormButton(
                    flow=action[1], action=action[2], value=action[3], version=action[4]
                ).pack()
            else:
                data = action[1]
            if 1 <= len(data.encode()) <= 64:
                update = await server.press_data(asha, private, sent[-1].message_id, data)
                record.presses.append(update)
                if is_confirm(data):
                    record.confirmed.add((private.id, sent[-1].message_id))
    elif kind == "media":
        if action[1] == "sticker":
            await server.send_sticker(asha, private)
        elif action[1] == "photo":
            await server.send_photo(asha, private, b"\xff\xd8photo")
        else:
            await server.send_voice(asha, private)
    elif kind == "edit":
        try:
            message_id = server.last_user_message_id(asha, private)
            await server.edit_text(asha, private, message_id, action[1])
        except Exception:  # noqa: BLE001 - the last message may be a sticker, which has no text
            return
    elif kind == "forward":
        await server.forward_text(asha, private, action[1], from_user=harness.facilitator)
    elif kind == "burst":
        for text in action[1]:
            await server.send_text(asha, private, text)
    elif kind == "fill":
        for text in [action[1], *FILLS[action[1]]]:
            await server.send_text(asha, private, text)
            await server.wait_idle()
        latest = server.last_bot_message(private)
        confirm = [data for data in buttons_of(latest) if is_confirm(data)]
        if action[2] and confirm:
            await press(
                harness, record, "asha", private, latest, buttons_of(latest).index(confirm[0])
            )
    elif kind == "clock":
        harness.clock.advance(dt.timedelta(hours=action[1]))
    elif kind == "group_start":
        await server.send_text(asha, group, action[1])
    elif kind == "group_reply":
        questions = questions_to(harness, group, asha)
        if questions:
            await server.send_text(
                asha, group, action[1], reply_to_message_id=questions[-1].message_id
            )
    elif kind == "group_press":
        questions = [message for message in questions_to(harness, group, asha) if message.buttons]
        if questions:
            await press(harness, record, "asha", group, questions[-1], action[1])
    elif kind == "intruder_press":
        questions = [message for message in questions_to(harness, group, asha) if message.buttons]
        bob = server.user("bob")
        if action[2] and await form_state_of(harness, bob, group) != FORM_STATE:
            # Bob opens his own /ask, so his form and Asha's may be at the same version.
            await server.send_text(bob, group, "/ask")
            await server.wait_idle()
        if questions:
            # Bob's press on Asha's question changes neither her form nor his own.
            before = [await form_data_of(harness, user, group) for user in (asha, bob)]
            await press(harness, record, "bob", group, questions[-1], action[1])
            after = [await form_data_of(harness, user, group) for user in (asha, bob)]
            assert after == before
    await server.wait_idle()


async def count_rows(harness: SandboxHarness) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Contribution)) or 0)


async def check_stored_form(harness: SandboxHarness, chat: SandboxChat) -> None:
    """Check that an open form left in `chat` is one the runner can load and continue."""
    asha = harness.server.user("asha")
    if await form_state_of(harness, asha, chat) != FORM_STATE:
        return
    data = await form_data_of(harness, asha, chat)
    assert data["flow"] in FLOWS
    form_state = FormState.from_json(data["form"])
    assert form_state.form == data["flow"]
    assert form_state.status == "active"
    assert all(isinstance(message_id, int) for message_id in data["messages"])


async def prepare(harness: SandboxHarness) -> None:
    """Register and approve Asha and Bob once, and add the group they fill forms in."""
    if await load_person(harness, harness.server.user("asha")) is not None:
        return
    await approved_poc(harness, "asha", "PRADAN")
    await approved_poc(harness, "bob", "SRIJAN")
    harness.server.group(GROUP_TITLE, added_by=harness.facilitator)
    await harness.server.wait_idle()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(actions, min_size=1, max_size=14))
async def test_random_input_never_breaks_form(harness: SandboxHarness, sequence: list) -> None:
    await prepare(harness)
    server = harness.server
    asha = server.user("asha")
    for chat in (server.private_chat(asha), server.group(GROUP_TITLE)):
        await server.send_text(asha, chat, "/cancel")
    await server.send_text(server.user("bob"), server.group(GROUP_TITLE), "/cancel")
    await server.wait_idle()
    rows_before = await count_rows(harness)
    error_text = str(render("common/error"))

    record = Record()
    for action in sequence:
        await run_action(harness, record, action)

    assert harness.errors == []
    assert all(message.html != error_text for message in server.bot_messages())
    for update in record.presses:
        assert callback_answer_for(harness, update) is not None, update
    for chat in (server.private_chat(asha), server.group(GROUP_TITLE)):
        await check_stored_form(harness, chat)
    rows_after = await count_rows(harness)
    event(f"rows saved: {rows_after - rows_before}")
    assert rows_after - rows_before <= len(record.confirmed)
    for entry in await contributions(harness):
        assert entry.kind in ("ask", "give")
        assert entry.theme_id is not None
        assert entry.title and entry.description
        assert entry.help_kinds
        assert isinstance(entry.private, bool)
        assert (entry.urgency is not None) == (entry.kind == "ask")
