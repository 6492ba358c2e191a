"""Scripted conversations: one action per line, played against the sandbox.

    # a comment
    person asha username=asha_p language=hi        (optional: give a person details)
    @asha private: /start                           (a message or command)
    @asha group "Market task force": /register      (in a group, created on first use)
    @asha supergroup "CoP" topic "Buyers": /buyers onion
    @asha private: [I agree]                        (press the button with that text on the
                                                     newest bot message there that has one)
    @asha private: file docs/buyers.csv             (send a document)
    @asha private: photo PATH | sticker | voice     (other kinds of message)
    @asha private: edit NEW TEXT                    (edit asha's latest message there)
    @asha group "CoP": reply TEXT                   (reply to the bot's latest question to
                                                     asha there; in groups the bot sees
                                                     only replies to its messages)
    demo members                                    (add the sandbox's demo PoCs ravi and
                                                     meena, their entries and actions, and
                                                     the CoP-wide group "CoP-wide group")
    @asha private ? TEXT                            (expect TEXT in the bot's reply)
    @asha private ?! TEXT                           (expect TEXT not to be there)
    clock +3d | clock +2h | clock 2026-12-07 10:00  (move the bot's clock, India time,
                                                     and let what came due go out)

An expectation looks at the bot messages sent to that chat since the last action there,
or at the latest bot message in it when the last action got no reply. Paths of files are
relative to the current directory, so run scripts from the repository root.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxError, SandboxUser

ACTION = re.compile(
    r"""^@(?P<person>[\w.-]+)\s+
    (?:(?P<private>private)
      |(?P<kind>group|supergroup)\s+"(?P<title>[^"]+)"(?:\s+topic\s+"(?P<topic>[^"]+)")?)
    \s*(?P<op>:|\?!|\?)\s?(?P<rest>.*)$""",
    re.VERBOSE,
)
CLOCK_DELTA = re.compile(r"^clock\s+\+(\d+)([dhm])$")
CLOCK_AT = re.compile(r"^clock\s+(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})$")


class ScriptError(Exception):
    """A line of the script that cannot be parsed or played."""


@dataclass
class Where:
    chat: SandboxChat
    thread_id: int | None
    label: str


class ScriptPlayer:
    """Play script lines against a running harness and print what each person saw."""

    def __init__(
        self, harness: SandboxHarness, out: TextIO, *, base_dir: Path, numbered: bool = False
    ) -> None:
        # numbered: show buttons as [1 text] for the interactive chat, which presses by number.
        self.numbered = numbered
        self.harness = harness
        self.server = harness.server
        self.out = out
        self.base_dir = base_dir
        self.failures: list[str] = []
        # Bot messages per chat since the last action there, for expectations.
        self.since_action: dict[tuple[int, int | None], list[BotMessage]] = {}
        self.server.on_bot_message = self._on_bot_message
        self.labels: dict[int, str] = {}
        # Text last printed per (chat id, message id), to tell edits of text from edits of buttons.
        self.shown: dict[tuple[int, int], str] = {}

    def _on_bot_message(self, message: BotMessage, event: str) -> None:
        if event == "deleted":
            return
        key = (message.chat_id, message.thread_id)
        self.since_action.setdefault(key, []).append(message)
        self.print_bot_message(message, edited=event == "edited")

    def label(self, chat_id: int) -> str:
        if chat_id not in self.labels:
            chat = self.server.chat(chat_id)
            if chat.type == "private" and chat.user is not None:
                self.labels[chat_id] = f"{chat.user.name} (private)"
            else:
                self.labels[chat_id] = f'{chat.type} "{chat.title}"'
        return self.labels[chat_id]

    def print_bot_message(self, message: BotMessage, *, edited: bool = False) -> None:
        label = self.label(message.chat_id)
        shown_key = (message.chat_id, message.message_id)
        if edited and self.shown.get(shown_key) == message.text:
            # Only the buttons changed, which is how the bot closes an answered question.
            self.out.write(f"    bot → {label}: (buttons updated on an earlier message)\n")
            self.print_buttons(message)
            return
        self.shown[shown_key] = message.text
        verb = "edited" if edited else "bot"
        body = message.text
        if message.kind != "text":
            body = f"[{message.kind} {message.document_name or ''}] {message.text}"
        lines = body.splitlines() or [""]
        self.out.write(f"    {verb} → {label}: {lines[0]}\n")
        for line in lines[1:]:
            self.out.write(f"        {line}\n")
        self.print_buttons(message)

    def print_buttons(self, message: BotMessage) -> None:
        number = 0
        for row in message.buttons:
            labels = []
            for button in row:
                number += 1
                if self.numbered and button.text != str(number):
                    labels.append(f"[{number} {button.text}]")
                else:
                    labels.append(f"[{button.text}]")
            self.out.write("        " + " ".join(labels) + "\n")

    async def play(self, lines: list[str]) -> bool:
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                await self.play_line(line)
            except (ScriptError, SandboxError) as error:
                self.fail(f"line {number}: {error}")
                return False
            if self.harness.errors:
                self.fail(f"line {number}: the bot raised {self.harness.errors[-1]!r}")
                return False
        return not self.failures

    def fail(self, text: str) -> None:
        self.failures.append(text)
        self.out.write(f"!!  {text}\n")

    async def play_line(self, line: str) -> None:
        try:
            await self.play_action(line)
        except ValueError as error:
            # shlex, dates and times report malformed input as ValueError.
            raise ScriptError(f"cannot read {line!r}: {error}") from error

    async def play_action(self, line: str) -> None:
        if line.startswith("person "):
            self.declare_person(line)
            return
        if line.startswith("clock "):
            self.move_clock(line)
            # What came due meanwhile (scheduled broadcasts, webinar reminders) goes out now.
            await self.harness.settle()
            return
        if line == "demo members":
            from bot.sandbox.demo_members import load_demo_members

            await load_demo_members(self.harness)
            return
        match = ACTION.match(line)
        if match is None:
            raise ScriptError(f"cannot read {line!r}; see the examples in docs/scripts/")
        user = self.server.user(match["person"])
        where = self.locate(user, match)
        op, rest = match["op"], match["rest"].strip()
        if op in ("?", "?!"):
            self.expect(where, rest, present=op == "?")
            return

        self.out.write(f"{match['person']} @ {where.label}: {rest}\n")
        self.since_action[(where.chat.id, where.thread_id)] = []
        answered = len(self.server.callback_answers)
        await self.act(user, where, rest)
        await self.server.wait_idle()
        self.print_callback_answers(user.name, since=answered)

    def print_callback_answers(self, person: str, *, since: int) -> None:
        """Print the pop-up notices the bot showed for a button press."""
        for answer in self.server.callback_answers[since:]:
            if answer["text"]:
                kind = "alert" if answer["show_alert"] else "notice"
                self.out.write(f"    {kind} → {person}: {answer['text']}\n")

    def declare_person(self, line: str) -> None:
        parts = shlex.split(line)
        if len(parts) < 2:
            raise ScriptError("`person` needs a name, like: person asha username=asha_p")
        options = dict(part.split("=", 1) for part in parts[2:] if "=" in part)
        unknown = set(options) - {"username", "language", "name"}
        if unknown:
            raise ScriptError(
                f"unknown person option {', '.join(sorted(unknown))}; use username, language or name"
            )
        self.server.user(
            parts[1],
            username=options.get("username"),
            first_name=options.get("name"),
            language_code=options.get("language", "en"),
        )

    def move_clock(self, line: str) -> None:
        if match := CLOCK_DELTA.match(line):
            amount, unit = int(match[1]), match[2]
            units = {"d": "days", "h": "hours", "m": "minutes"}
            self.harness.clock.advance(dt.timedelta(**{units[unit]: amount}))
        elif match := CLOCK_AT.match(line):
            zone = zoneinfo.ZoneInfo(self.harness.settings.timezone)
            moment = dt.datetime.fromisoformat(f"{match[1]}T{match[2]}").replace(tzinfo=zone)
            self.harness.clock.set(moment)
        else:
            raise ScriptError(
                f"cannot read {line!r}: write `clock +3d`, `clock +2h` or `clock 2026-12-07 10:00`"
            )
        self.out.write(f"-- clock is now {self.harness.clock.now():%Y-%m-%d %H:%M} UTC\n")

    def locate(self, user: SandboxUser, match: re.Match[str]) -> Where:
        if match["private"]:
            chat = self.server.private_chat(user)
            self.labels[chat.id] = f"{user.name} (private)"
            return Where(chat, None, "private")
        title = match["title"]
        chat = self.server.group(
            title,
            supergroup=match["kind"] == "supergroup",
            forum=bool(match["topic"]),
            added_by=user,
        )
        thread_id = self.server.topic(chat, match["topic"]) if match["topic"] else None
        label = f'{match["kind"]} "{title}"'
        self.labels[chat.id] = label
        if match["topic"]:
            label += f' topic "{match["topic"]}"'
        return Where(chat, thread_id, label)

    async def act(self, user: SandboxUser, where: Where, rest: str) -> None:
        chat, thread_id = where.chat, where.thread_id
        if rest.startswith("[") and rest.endswith("]"):
            await self.server.press(user, chat, rest[1:-1], thread_id=thread_id)
        elif rest.startswith("file "):
            path = self.resolve(rest.removeprefix("file ").strip())
            await self.server.send_document(
                user, chat, path.read_bytes(), filename=path.name, thread_id=thread_id
            )
        elif rest.startswith("photo "):
            path = self.resolve(rest.removeprefix("photo ").strip())
            await self.server.send_photo(user, chat, path.read_bytes(), thread_id=thread_id)
        elif rest == "sticker":
            await self.server.send_sticker(user, chat, thread_id=thread_id)
        elif rest == "voice":
            await self.server.send_voice(user, chat, thread_id=thread_id)
        elif rest.startswith("reply "):
            question = self.server.question_for(user, chat, thread_id)
            await self.server.send_text(
                user,
                chat,
                rest.removeprefix("reply "),
                thread_id=thread_id,
                reply_to_message_id=question,
            )
        elif rest.startswith("edit "):
            message_id = self.server.last_user_message_id(user, chat)
            if message_id is None:
                raise ScriptError(f"{user.name} has no message in {where.label} to edit")
            await self.server.edit_text(user, chat, message_id, rest.removeprefix("edit "))
        else:
            await self.server.send_text(user, chat, rest, thread_id=thread_id)

    def resolve(self, raw: str) -> Path:
        path = Path(raw)
        if not path.is_absolute():
            path = self.base_dir / path
        if not path.is_file():
            raise ScriptError(f"file not found: {raw}")
        return path

    def expect(self, where: Where, text: str, *, present: bool) -> None:
        messages = self.since_action.get((where.chat.id, where.thread_id)) or []
        if not messages:
            # The latest message, if the bot has written there at all.
            messages = self.server.bot_messages(where.chat, thread_id=where.thread_id)[-1:]
        found = any(text.casefold() in _searchable(message).casefold() for message in messages)
        if found != present:
            seen = (
                " | ".join(_searchable(message)[:200] for message in messages) or "no bot message"
            )
            wanted = "to contain" if present else "not to contain"
            self.fail(
                f"expected the bot's reply in {where.label} {wanted} {text!r}; it was: {seen}"
            )
        else:
            self.out.write(f"    ✓ {where.label} {'has' if present else 'lacks'} {text!r}\n")


def _searchable(message: BotMessage) -> str:
    buttons = " ".join(f"[{text}]" for text in message.button_texts())
    return f"{message.text} {message.document_name or ''} {buttons}"
