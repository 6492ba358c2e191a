"""The interactive sandbox chat's own commands: moving the clock and sending a photo."""

from __future__ import annotations

import datetime as dt

from bot.sandbox.cli import Conversation
from bot.sandbox.harness import SandboxHarness

PIXEL_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


async def test_clock_command_moves_bot_clock(harness: SandboxHarness) -> None:
    conversation = Conversation(harness)
    before = harness.clock.now()

    await conversation.handle(":clock +1d")

    moved = harness.clock.now() - before
    assert dt.timedelta(days=1) <= moved < dt.timedelta(days=1, minutes=1)
    assert harness.errors == []


async def test_photo_command_sends_caption(harness: SandboxHarness, tmp_path) -> None:
    photo = tmp_path / "field.jpg"
    photo.write_bytes(PIXEL_JPEG)
    conversation = Conversation(harness)
    chat = harness.server.private_chat(harness.facilitator)

    await conversation.handle(f":photo {photo} | Onion field in Nashik")

    sent = harness.server._messages[
        (chat.id, harness.server.last_user_message_id(harness.facilitator, chat))
    ]
    assert "photo" in sent
    assert sent["caption"] == "Onion field in Nashik"
    assert harness.errors == []
