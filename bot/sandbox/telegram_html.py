"""Parser for Telegram's HTML parse mode that accepts and rejects what Telegram does.

The error descriptions follow the wording of the Bot API (TDLib's HTML parser): byte
offsets count UTF-8 bytes of the raw text, and entity offsets count UTF-16 code units
of the plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.models import ApiError, bad_request
from bot.sandbox.text import utf16_len

ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_CHARACTER_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
CHARACTER_REFERENCE_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]*);")


@dataclass
class ParsedText:
    """Plain text with formatting removed, and its entities in UTF-16 units."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _OpenTag:
    name: str
    attributes: dict[str, str]
    offset: int  # UTF-16 offset in the plain text where the tag's content starts


def parse_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def parse_html(source: str, *, strict_entities: bool = False) -> ParsedText:
    """Parse text sent with parse_mode HTML into plain text and entities.

    Raises ApiError (400 "can't parse entities") on an unsupported tag, a tag left
    open, a mismatched end tag or a bare "<". Telegram keeps an unknown reference such
    as "&nbsp;" as literal text; with strict_entities it is rejected instead.
    """
    parser = _HtmlParser(source, strict_entities)
    return parser.parse()


class _HtmlParser:
    def __init__(self, source: str, strict_entities: bool) -> None:
        self.source = source
        self.strict_entities = strict_entities
        self.output: list[str] = []
        self.plain_length = 0  # UTF-16 length of the output so far
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.output.append(text)
        self.plain_length += utf16_len(text)

    def parse(self) -> ParsedText:
        source = self.source
        index = 0
        while index < len(source):
            char = source[index]
            if char == "<":
                if source.startswith("</", index):
                    index = self.parse_end_tag(index)
                else:
                    index = self.parse_start_tag(index)
            elif char == "&":
                index = self.parse_character_reference(index)
            else:
                self.emit(char)
                index += 1
        if self.stack:
            name = self.stack[-1].name
            raise parse_error(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return ParsedText("".join(self.output), self.entities)

    def parse_character_reference(self, index: int) -> int:
        match = CHARACTER_REFERENCE_RE.match(self.source, index)
        if match is None:
            self.emit("&")
            return index + 1
        name = match.group(1)
        if name.startswith(("#x", "#X")):
            code_point = int(name[2:], 16)
        elif name.startswith("#"):
            code_point = int(name[1:])
        elif name in NAMED_CHARACTER_REFERENCES:
            self.emit(NAMED_CHARACTER_REFERENCES[name])
            return match.end()
        elif self.strict_entities:
            offset = self.byte_offset(index)
            raise parse_error(f'Unsupported HTML entity "&{name};" at byte offset {offset}')
        else:
            self.emit("&")
            return index + 1
        if code_point > 0x10FFFF or 0xD800 <= code_point <= 0xDFFF or code_point == 0:
            self.emit("&")
            return index + 1
        self.emit(chr(code_point))
        return match.end()

    def parse_start_tag(self, begin: int) -> int:
        source = self.source
        index = begin + 1
        while index < len(source) and not source[index].isspace() and source[index] != ">":
            index += 1
        if index >= len(source):
            raise parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = source[begin + 1 : index].lower()
        if name not in ENTITY_TYPES:
            offset = self.byte_offset(begin)
            raise parse_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        attributes, index = self.parse_attributes(name, begin, index)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            offset = self.byte_offset(begin)
            raise parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            offset = self.byte_offset(begin)
            raise parse_error(
                f"Custom emoji entity must contain a tg://emoji URL at byte offset {offset}"
            )
        self.stack.append(_OpenTag(name, attributes, self.plain_length))
        return index + 1

    def parse_attributes(self, tag: str, begin: int, index: int) -> tuple[dict[str, str], int]:
        """Read attributes up to the closing ">" and return them with the index of ">"."""
        source = self.source
        attributes: dict[str, str] = {}
        while True:
            while index < len(source) and source[index].isspace():
                index += 1
            if index >= len(source):
                raise parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if source[index] == ">":
                return attributes, index
            name_start = index
            while index < len(source) and (source[index].isalnum() or source[index] in "-_"):
                index += 1
            attribute = source[name_start:index].lower()
            if not attribute:
                offset = self.byte_offset(index)
                raise parse_error(
                    f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
                )
            while index < len(source) and source[index].isspace():
                index += 1
            if index >= len(source) or source[index] != "=":
                attributes[attribute] = ""
                continue
            index += 1
            while index < len(source) and source[index].isspace():
                index += 1
            if index >= len(source):
                raise parse_error(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if source[index] in "\"'":
                quote = source[index]
                end = source.find(quote, index + 1)
                if end == -1:
                    offset = self.byte_offset(begin)
                    raise parse_error(f"Unclosed start tag at byte offset {offset}")
                raw_value = source[index + 1 : end]
                index = end + 1
            else:
                value_start = index
                while index < len(source) and not source[index].isspace() and source[index] != ">":
                    index += 1
                raw_value = source[value_start:index]
            attributes[attribute] = _decode_attribute(raw_value)

    def parse_end_tag(self, begin: int) -> int:
        source = self.source
        end = source.find(">", begin)
        if end == -1:
            raise parse_error(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        name = source[begin + 2 : end].strip().lower()
        if not self.stack:
            raise parse_error(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        open_tag = self.stack[-1]
        if name != open_tag.name:
            offset = self.byte_offset(begin)
            raise parse_error(
                f'Unmatched end tag at byte offset {offset}, expected "</{open_tag.name}>", '
                f'found "</{name}>"'
            )
        self.stack.pop()
        self.close_entity(open_tag)
        return end + 1

    def close_entity(self, tag: _OpenTag) -> None:
        length = self.plain_length - tag.offset
        language = tag.attributes.get("class", "")
        parent = self.stack[-1] if self.stack else None
        in_pre = tag.name == "code" and parent is not None and parent.name == "pre"
        if in_pre and parent is not None and language.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language.
            parent.attributes["language"] = language.removeprefix("language-")
            return
        if length == 0:
            return
        entity: dict[str, Any] = {
            "type": ENTITY_TYPES[tag.name],
            "offset": tag.offset,
            "length": length,
        }
        if tag.name == "a":
            href = tag.attributes.get("href")
            if not href:
                return
            entity["url"] = href
        elif tag.name == "pre" and tag.attributes.get("language"):
            entity["language"] = tag.attributes["language"]
        elif tag.name == "blockquote" and "expandable" in tag.attributes:
            entity["type"] = "expandable_blockquote"
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attributes["emoji-id"]
        self.entities.append(entity)


def _decode_attribute(raw_value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return NAMED_CHARACTER_REFERENCES.get(name, match.group(0))

    return CHARACTER_REFERENCE_RE.sub(replace, raw_value)


def strip_surrounding_whitespace(parsed: ParsedText) -> ParsedText:
    """Trim leading and trailing whitespace as Telegram does, shifting entity offsets."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(stripped, entities)
