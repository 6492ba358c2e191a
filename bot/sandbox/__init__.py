"""A local Telegram Bot API server with simulated users, for testing the bot end to end."""

from bot.sandbox.models import (
    BotMessage,
    Button,
    RecordedRequest,
    SandboxChat,
    SandboxError,
    SandboxUser,
    StoredFile,
)
from bot.sandbox.server import SandboxServer

__all__ = [
    "BotMessage",
    "Button",
    "RecordedRequest",
    "SandboxChat",
    "SandboxError",
    "SandboxServer",
    "SandboxUser",
    "StoredFile",
]
