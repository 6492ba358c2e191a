"""Objects of the simulated Telegram world: users, chats, bot messages, files and errors."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any


class SandboxError(Exception):
    """A test or script used the sandbox in a way it cannot carry out."""


class ApiError(Exception):
    """A Bot API error reply, sent with the HTTP status equal to error_code as Telegram does."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str, parameters: dict[str, Any] | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


def forbidden(description: str) -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


@dataclass
class SandboxUser:
    """A simulated human Telegram user."""

    name: str
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    # True once the user has written to the bot in private, which Telegram requires
    # before the bot may message them.
    started: bool = False
    blocked: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class SandboxChat:
    """A private chat, basic group or supergroup, with its members and forum topics."""

    id: int
    type: str  # "private", "group" or "supergroup"
    title: str | None = None
    is_forum: bool = False
    user: SandboxUser | None = None  # the other party of a private chat
    # Member statuses by user id: "creator", "administrator" or "member".
    members: dict[int, str] = field(default_factory=dict)
    bot_status: str = "member"  # "member", "administrator" or "left"
    # Topic names mapped to message_thread_id, for forum supergroups.
    topics: dict[str, int] = field(default_factory=dict)
    migrated_to: int | None = None
    next_message_id: int = 1
    menu_button: dict[str, Any] | None = None

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def to_json(self) -> dict[str, Any]:
        if self.type == "private":
            assert self.user is not None
            data: dict[str, Any] = {
                "id": self.id,
                "type": "private",
                "first_name": self.user.first_name,
            }
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        data = {"id": self.id, "type": self.type, "title": self.title}
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(frozen=True)
class Button:
    """One inline keyboard button as the bot sent it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class BotMessage:
    """A message the bot sent, in its current state after later edits or deletion."""

    chat_id: int
    message_id: int
    thread_id: int | None
    kind: str  # "text", "document" or "photo"
    text: str  # plain text with formatting removed; the caption for media
    html: str | None  # text or caption exactly as sent, None when empty
    buttons: list[list[Button]]
    sent_at: datetime.datetime
    document_name: str | None = None
    caption: str | None = None
    file_id: str | None = None
    edited: bool = False
    deleted: bool = False
    reply_to_message_id: int | None = None
    # The message object as the Bot API returned it, updated on edits.
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def button_texts(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]


@dataclass
class StoredFile:
    """A file uploaded by the bot or a simulated user, kept in memory."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.content)


@dataclass
class RecordedRequest:
    """One Bot API call received by the sandbox, with the reply it got."""

    method: str
    params: dict[str, Any]  # uploaded files are summarised as {"file_name", "size"}
    at: float  # time.monotonic() when the request arrived
    status: int  # HTTP status of the reply; 200 on success, else the error_code
    description: str | None = None  # error description, None on success

    @property
    def ok(self) -> bool:
        return self.status == 200
