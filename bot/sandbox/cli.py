"""`python -m bot sandbox`: chat with the bot in the terminal, or play a script."""

from __future__ import annotations

import asyncio
import logging
import shlex
import sys
from pathlib import Path

from bot.config import Settings
from bot.sandbox.demo_members import DEMO_GROUP, load_demo_members
from bot.sandbox.harness import FACILITATOR, SandboxHarness
from bot.sandbox.models import SandboxChat, SandboxError, SandboxUser
from bot.sandbox.script import ScriptError, ScriptPlayer

HELP = """\
Type a message or a command (/start, /register, /buyers onion) and press Enter.
  :1, :2 …              press button 1, 2 … of the bot's latest message here
  :as NAME              become someone else (created on first use), e.g. :as ravi
  :private              talk in your private chat with the bot
  :group "TITLE"        talk in a group (created on first use, with the bot added)
  :forum "TITLE" "TOPIC" talk in a topic of a forum supergroup
  :file PATH            send a document, e.g. :file bot/sandbox/demo/buyers_messy.csv
  :reply TEXT           reply to the bot's latest question to you here (in a group the
                        bot sees only commands and replies to its own messages)
  :photo PATH | TEXT    send a photo (a .jpg file), with TEXT as its caption if given
  :sticker              send a sticker
  :clock +1d            move the bot's clock (+2h, +30m, or 2026-12-07 10:00 India
                        time); scheduled broadcasts and reminders that came due go out
  :help                 this help
  :quit                 leave (Ctrl-D works too)
"""


async def run_sandbox(settings: Settings, *, empty: bool, script: Path | None) -> int:
    # Keep the terminal for the conversation: only warnings and errors are logged.
    logging.getLogger().setLevel(logging.WARNING)
    if script is not None and not script.is_file():
        print(f"Script not found: {script}", file=sys.stderr)
        return 2

    async with SandboxHarness(settings, demo=not empty) as harness:
        if script is not None:
            player = ScriptPlayer(harness, sys.stdout, base_dir=Path.cwd())
            ok = await player.play(script.read_text(encoding="utf-8").splitlines())
            if not ok:
                print(f"\n{len(player.failures)} failure(s):", *player.failures, sep="\n  ")
            return 0 if ok else 1
        return await Conversation(harness, demo=not empty).run()


class Conversation:
    """The interactive terminal chat."""

    def __init__(self, harness: SandboxHarness, *, demo: bool = True) -> None:
        self.harness = harness
        self.demo = demo
        self.server = harness.server
        self.player = ScriptPlayer(harness, sys.stdout, base_dir=Path.cwd(), numbered=True)
        self.user: SandboxUser = harness.facilitator
        self.chat: SandboxChat = self.server.private_chat(self.user)
        self.thread_id: int | None = None

    async def run(self) -> int:
        print("Offline sandbox: you are chatting with the bot; Telegram is not involved.")
        if self.demo:
            await load_demo_members(self.harness)
            print("Demo data: 14 BSOs, 120 buyers, 14 schemes, and two approved PoCs")
            print("(ravi of PRADAN, meena of BAIF) with asks, gives and follow-up actions.\n")
            print("Who are you?  1) the facilitator   2) asha, a new PoC")
            print('              3) asha in the demo CoP group "CoP-wide group"')
            print("              4) ravi, an approved PoC: try /ask, /mine, /checkin, /actions")
            print("              5) someone else (you give a name)")
        else:
            print("No demo data: no BSOs, registries or members yet.\n")
            print("Who are you?  1) the facilitator   2) asha, a new PoC")
            print("              5) someone else (you give a name)")
        choice = (await self.read("> ")).strip()
        if choice in ("2", "3"):
            self.user = self.server.user("asha")
        elif choice == "4" and self.demo:
            self.user = self.server.user("ravi")
        elif choice == "5":
            name = (await self.read("name: ")).strip() or "guest"
            self.user = self.server.user(name)
        self.chat = self.server.private_chat(self.user)
        if choice == "3" and self.demo:
            self.chat = self.server.group(DEMO_GROUP, added_by=self.harness.facilitator)
            await self.server.wait_idle()
        print(HELP)
        while True:
            try:
                line = await self.read(self.prompt())
            except EOFError:
                print()
                return 0
            line = line.strip()
            if not line:
                continue
            if line in (":quit", ":q", ":exit"):
                return 0
            answered = len(self.server.callback_answers)
            try:
                await self.handle(line)
            except (SandboxError, ScriptError, ValueError, OSError) as error:
                print(f"  ({error})")
            self.player.print_callback_answers(self.user.name, since=answered)
            for raised in self.harness.errors:
                print(f"  (the bot raised {raised!r}; see the log above)")
            self.harness.errors.clear()

    def prompt(self) -> str:
        where = "private" if self.chat.type == "private" else f'"{self.chat.title}"'
        return f"{self.user.name} @ {where}> "

    async def read(self, prompt: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(None, input, prompt)

    async def handle(self, line: str) -> None:
        if line == ":help":
            print(HELP)
            return
        if line.startswith(":") and line[1:].isdigit():
            await self.press(int(line[1:]))
            return
        if line.startswith(":as "):
            name = line.removeprefix(":as ").strip()
            self.user = self.harness.facilitator if name == FACILITATOR else self.server.user(name)
            self.chat, self.thread_id = self.server.private_chat(self.user), None
            return
        if line == ":private":
            self.chat, self.thread_id = self.server.private_chat(self.user), None
            return
        if line.startswith((":group ", ":forum ")):
            parts = shlex.split(line)
            forum = parts[0] == ":forum"
            if len(parts) != (3 if forum else 2):
                raise ValueError('write :group "TITLE" or :forum "TITLE" "TOPIC"')
            self.chat = self.server.group(
                parts[1], supergroup=forum, forum=forum, added_by=self.user
            )
            self.thread_id = self.server.topic(self.chat, parts[2]) if forum else None
            await self.server.wait_idle()
            return
        if line.startswith(":file "):
            path = Path(line.removeprefix(":file ").strip()).expanduser()
            await self.server.send_document(
                self.user,
                self.chat,
                path.read_bytes(),
                filename=path.name,
                thread_id=self.thread_id,
            )
        elif line.startswith(":reply "):
            question = self.server.question_for(self.user, self.chat, self.thread_id)
            await self.server.send_text(
                self.user,
                self.chat,
                line.removeprefix(":reply "),
                thread_id=self.thread_id,
                reply_to_message_id=question,
            )
        elif line.startswith(":photo "):
            where, _, caption = line.removeprefix(":photo ").partition(" | ")
            path = Path(where.strip()).expanduser()
            await self.server.send_photo(
                self.user,
                self.chat,
                path.read_bytes(),
                caption=caption.strip() or None,
                thread_id=self.thread_id,
            )
        elif line.startswith(":clock "):
            self.player.move_clock(line.removeprefix(":"))
            await self.harness.settle()
            return
        elif line == ":sticker":
            await self.server.send_sticker(self.user, self.chat, thread_id=self.thread_id)
        else:
            await self.server.send_text(self.user, self.chat, line, thread_id=self.thread_id)
        await self.server.wait_idle()

    async def press(self, number: int) -> None:
        message = self.server.last_bot_message(
            self.chat, thread_id=self.thread_id, with_buttons=True
        )
        texts = message.button_texts() if message else []
        if not 1 <= number <= len(texts):
            raise ValueError(f"no button {number} here; the latest message has {len(texts)}")
        await self.server.press(self.user, self.chat, texts[number - 1], thread_id=self.thread_id)
        await self.server.wait_idle()
