"""Text helpers shared by the sandbox: UTF-16 lengths and entity detection in user messages."""

from __future__ import annotations

import re
from typing import Any

# Telegram counts text lengths and entity offsets in UTF-16 code units, so a character
# outside the Basic Multilingual Plane (most emoji) counts as 2.
BOT_COMMAND_RE = re.compile(r"(?<![\w/])/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,32}))?(?![\w/])")
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,32})(?!\w)")


def utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def find_user_entities(text: str) -> list[dict[str, Any]]:
    """Build the `bot_command` and `mention` entities Telegram adds to a user's message.

    NOTE: Telegram also detects URLs, hashtags, e-mail addresses and more. The sandbox
    detects only commands and @mentions, which are the entities bots route on.
    """
    entities: list[dict[str, Any]] = []
    for match in BOT_COMMAND_RE.finditer(text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    command_spans = [(m.start(), m.end()) for m in BOT_COMMAND_RE.finditer(text)]
    for match in MENTION_RE.finditer(text):
        inside_command = any(start <= match.start() < end for start, end in command_spans)
        if inside_command:
            continue
        entities.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    entities.sort(key=lambda entity: entity["offset"])
    return entities


def leading_command(text: str) -> tuple[str, str | None] | None:
    """Return (command, addressed bot username or None) when text starts with a command."""
    match = BOT_COMMAND_RE.match(text)
    if match is None:
        return None
    return match.group(1), match.group(2)


def mentioned_usernames(text: str) -> set[str]:
    """Return the lowercased usernames that text mentions with @name."""
    return {match.group(1).lower() for match in MENTION_RE.finditer(text)}
