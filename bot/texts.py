"""Every text the bot sends, rendered from Jinja2 templates under prompts/<locale>/.

Messages are `.html` files rendered with autoescaping, because they go out with
parse_mode=HTML and user-typed values must not break the markup. Button labels are
blocks of `<feature>/buttons.txt`, rendered without escaping because Telegram shows
button text as plain text.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.config import LOCALES, PROJECT_ROOT
from storage.normalize import load_commodities, load_states

PROMPTS_DIR = PROJECT_ROOT / "prompts"
# Telegram's limit on a message's text after entities are parsed, in UTF-16 code units.
MESSAGE_LIMIT = 4096
TAG = re.compile(r"<[^>]+>")

MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "hi": ["जन॰", "फ़र॰", "मार्च", "अप्रैल", "मई", "जून", "जुल॰", "अग॰", "सित॰", "अक्तू॰", "नव॰", "दिस॰"],
}


class Texts:
    """One Jinja2 environment for all locales, built once and handed to handlers."""

    def __init__(self, root: Path = PROMPTS_DIR, default_locale: str = "en") -> None:
        self.default_locale = default_locale
        self.env = Environment(
            loader=FileSystemLoader(str(root)),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["indian_date"] = indian_date
        self.env.filters["clip"] = clip
        self.env.filters["phone"] = display_phone
        self.env.filters["state_names"] = state_names
        self.env.filters["commodity_names"] = commodity_names

    def locale_for(self, locale: str | None) -> str:
        return locale if locale in LOCALES else self.default_locale

    def render(self, locale: str | None, name: str, /, **context: Any) -> Markup:
        """Render the message template `<locale>/<name>.html`.

        The result is Markup, so that a rendered message passed into another template
        (a reason inside a question) is not escaped twice.
        """
        locale = self.locale_for(locale)
        template = self.env.get_template(f"{locale}/{name}.html")
        return Markup(template.render(locale=locale, **context).strip())

    def label(self, locale: str | None, feature: str, key: str, /, **context: Any) -> str:
        """Render the button label block `key` of `<locale>/<feature>/buttons.txt`."""
        locale = self.locale_for(locale)
        template = self.env.get_template(f"{locale}/{feature}/buttons.txt")
        block = template.blocks[key]
        return "".join(block(template.new_context({"locale": locale, **context}))).strip()

    def bind(self, locale: str | None) -> LocalTexts:
        return LocalTexts(self, self.locale_for(locale))


class LocalTexts:
    """Texts bound to one person's locale; handlers receive this as `t`."""

    def __init__(self, texts: Texts, locale: str) -> None:
        self.texts = texts
        self.locale = locale

    def __call__(self, name: str, /, **context: Any) -> Markup:
        return self.texts.render(self.locale, name, **context)

    def label(self, feature: str, key: str, /, **context: Any) -> str:
        return self.texts.label(self.locale, feature, key, **context)

    def alert(self, name: str, /, **context: Any) -> str:
        """Render a message for a callback alert, which Telegram shows as plain text."""
        return html.unescape(TAG.sub("", self(name, **context)))


def indian_date(value: dt.date | dt.datetime | None, locale: str = "en") -> str:
    """Format a date the Indian way, day first: 25 Oct 2024."""
    if value is None:
        return ""
    months = MONTHS.get(locale, MONTHS["en"])
    return f"{value.day} {months[value.month - 1]} {value.year}"


def clip(value: object, limit: int) -> str:
    """Shorten text to `limit` characters with an ellipsis, before it is escaped."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def utf16_length(text: str) -> int:
    """Count UTF-16 code units, the unit of Telegram's message length limits."""
    return len(text.encode("utf-16-le")) // 2


def display_phone(value: str | None) -> str:
    """Show a stored +91XXXXXXXXXX number the way Indians write it: +91 98765 43210."""
    if not value:
        return ""
    if len(value) == 13 and value.startswith("+91") and value[3:].isdigit():
        return f"+91 {value[3:8]} {value[8:]}"
    return value


def state_names(values: Iterable[str] | None, locale: str = "en") -> str:
    """Join canonical state names as a reader of `locale` knows them (Hindi names for "hi")."""
    states = load_states()
    return ", ".join(states.display_name(name, locale) for name in values or ())


def commodity_names(values: Iterable[str] | None, locale: str = "en") -> str:
    """Join canonical commodity names as a reader of `locale` knows them (Hindi for "hi")."""
    commodities = load_commodities()
    return ", ".join(commodities.display_name(name, locale) for name in values or ())
