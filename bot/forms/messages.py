"""A whole Telegram message as the answer, which the bot later sends on with copyMessage.

Copying keeps the message's formatting and media, so the answer is a reference to the
message (chat and message id) plus what a summary and the checks need: its kind, a
short preview of its text or caption, the file name and the links in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.texts import clip

from .base import Field, FieldError, clean_line, require_type
from .links import find_links

# The kinds of message a MessageAnswer can take. Stickers, locations, polls and the
# rest are left out, because they are not content that a broadcast or an announcement copies.
MESSAGE_KINDS = ("text", "photo", "document", "video", "audio", "animation", "voice")
# Characters of the text or caption kept for summaries, the ellipsis included.
PREVIEW_LENGTH = 80

# Summary labels of the kinds by locale. Text needs none, because its preview is shown.
_KIND_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "photo": "Photo",
        "document": "Document",
        "video": "Video",
        "audio": "Audio",
        "animation": "GIF",
        "voice": "Voice message",
    },
    "hi": {
        "photo": "फ़ोटो",
        "document": "डॉक्यूमेंट",
        "video": "वीडियो",
        "audio": "ऑडियो",
        "animation": "GIF",
        "voice": "वॉइस मैसेज",
    },
}


@dataclass(frozen=True)
class MessageRef:
    """A message sent as an answer: where it is, its kind and a preview for summaries.

    `kind` is one of MESSAGE_KINDS. `preview` is the text or caption on one line,
    clipped to PREVIEW_LENGTH characters, and empty for media without a caption.
    `links` are the http(s) URLs in the text or caption (see `find_links`).
    """

    chat_id: int
    message_id: int
    kind: str
    preview: str
    file_name: str | None = None
    links: tuple[str, ...] = ()


def build_message_ref(
    chat_id: int,
    message_id: int,
    kind: str,
    text: str,
    *,
    file_name: str | None = None,
    entity_urls: Iterable[str] = (),
) -> MessageRef:
    """Describe a received message from its text or caption and the URLs its entities mark."""
    return MessageRef(
        chat_id=chat_id,
        message_id=message_id,
        kind=kind,
        preview=clip(clean_line(text), PREVIEW_LENGTH),
        file_name=file_name,
        links=find_links(text, entity_urls),
    )


@dataclass(frozen=True, kw_only=True)
class MessageAnswer(Field[MessageRef]):
    """A message of one of `kinds`; with `link_required`, a text message must contain a link.

    Media pass `link_required` without a link, because the media are the content.
    `kind_labels` maps a locale to the summary label of each kind other than text.
    """

    kinds: tuple[str, ...] = MESSAGE_KINDS
    link_required: bool = False
    kind_labels: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: {locale: dict(labels) for locale, labels in _KIND_LABELS.items()}
    )

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.kinds if kind not in MESSAGE_KINDS]
        if not self.kinds or unknown:
            raise ValueError(f"kinds must be a non-empty subset of {MESSAGE_KINDS}: {self.kinds}")

    def parse(self, text: str, *, today: dt.date, locale: str) -> MessageRef:
        """Raise FieldError("message_expected"), because this field takes whole messages.

        The runner passes every message sent to this field, typed text included, to
        `parse_message` instead.
        """
        raise FieldError("message_expected", kinds=list(self.kinds))

    def parse_message(self, ref: MessageRef) -> MessageRef:
        """Validate a received message; raise FieldError when its kind or links do not fit."""
        if ref.kind not in self.kinds:
            raise FieldError("message_wrong_kind", kind=ref.kind, kinds=list(self.kinds))
        if self.link_required and ref.kind == "text" and not ref.links:
            raise FieldError("link_missing", preview=ref.preview)
        return ref

    def display(self, value: MessageRef, locale: str) -> str:
        """Return the text's preview, or the kind's label with the file name and caption."""
        if value.kind == "text":
            return value.preview
        labels = self.kind_labels.get(locale) or self.kind_labels["en"]
        label = labels.get(value.kind, value.kind)
        if value.file_name:
            label = f"{label} {value.file_name}"
        return f"{label}: {value.preview}" if value.preview else label

    def to_json(self, value: MessageRef) -> dict[str, Any]:
        return {
            "chat_id": value.chat_id,
            "message_id": value.message_id,
            "kind": value.kind,
            "preview": value.preview,
            "file_name": value.file_name,
            "links": list(value.links),
        }

    def from_json(self, data: Any) -> MessageRef:
        """Rebuild the reference; raise ValueError when the field no longer accepts it."""
        require_type(data, dict, "message")
        require_type(data.get("chat_id"), int, "message chat id")
        require_type(data.get("message_id"), int, "message id")
        require_type(data.get("kind"), str, "message kind")
        require_type(data.get("preview"), str, "message preview")
        file_name = data.get("file_name")
        if file_name is not None:
            require_type(file_name, str, "message file name")
        links = data.get("links", [])
        require_type(links, list, "message links")
        for link in links:
            require_type(link, str, "message link")
        ref = MessageRef(
            chat_id=data["chat_id"],
            message_id=data["message_id"],
            kind=data["kind"],
            preview=data["preview"],
            file_name=file_name,
            links=tuple(links),
        )
        # A form built again with other `kinds` drops a stored message it no longer takes.
        return self.parse_message(ref)
