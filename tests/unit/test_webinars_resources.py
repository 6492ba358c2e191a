"""The /resources texts and search: the search examples in the prompts, and the reply size."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.sandbox.telegram_html import parse_html
from bot.sandbox.text import utf16_len
from bot.texts import Texts
from handlers.recordings import RESOURCE_LINKS_MAX
from handlers.resources import DESCRIPTION_CLIP, RESULTS_MAX
from storage.models import Resource
from storage.normalize import load_hindi_words
from storage.resources import query_words, score

LOCALES = ("en", "hi")
# Templates that show a /resources search as an example, with the context they need.
EXAMPLE_TEMPLATES = {"resources/list": {"items": [], "query": ""}, "commands/resources": {}}
EXAMPLE = re.compile(r"/resources ([^<\n]+)")
# Telegram's limit on a message's text after entities are parsed, in UTF-16 code units.
MESSAGE_MAX = 4096


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


def examples(texts: Texts, locale: str) -> list[str]:
    """Return the search words of every /resources example in the locale's templates."""
    found = []
    for name, context in EXAMPLE_TEMPLATES.items():
        text = str(texts.render(locale, name, **context))
        matches = EXAMPLE.findall(text)
        assert matches, f"{locale}/{name} shows no /resources example: {text}"
        found += [match.strip().rstrip("।.") for match in matches]
    return found


def resource(title: str, description: str | None = None) -> Resource:
    return Resource(title=title, description=description, kind="link", url="https://x.org")


@pytest.mark.parametrize("locale", LOCALES)
def test_examples_find_english_recording(texts: Texts, locale: str) -> None:
    recording = resource(
        "Working capital for onion FPOs", "Bankers from NABARD explain the loan products."
    )
    for example in examples(texts, locale):
        searched = query_words(example)
        assert searched, f"{locale} example {example!r} has no search words"
        assert score(recording, searched) > 0, f"{locale} example {example!r} finds nothing"


def test_hindi_example_finds_hindi_title(texts: Texts) -> None:
    recording = resource("प्याज़ FPO के लिए कार्यशील पूंजी")
    for example in examples(texts, "hi"):
        assert score(recording, query_words(example)) > 0, example


def test_hindi_example_means_english_example(texts: Texts) -> None:
    [english, *_] = examples(texts, "en")
    hindi_words = load_hindi_words()
    for example in examples(texts, "hi"):
        meanings = [hindi_words.keyword(word) for word in query_words(example)]
        assert all(meanings), f"a word of {example!r} is not in hindi_words.csv: {meanings}"
        assert [meaning[0] for meaning in meanings] == query_words(english), example


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ["link", "file"])
def test_longest_list_fits_message(texts: Texts, locale: str, kind: str) -> None:
    longest_url = "https://example.org/" + "a" * 2000
    longest = Resource(
        title="T" * 200,
        description="D" * 1000,
        kind=kind,
        url=longest_url if kind == "link" else None,
        extra_urls=[longest_url] * (RESOURCE_LINKS_MAX - 1) if kind == "link" else [],
        file_name="F" * 255 if kind == "file" else None,
    )
    items = [
        {
            "number": number,
            "resource": longest,
            "added_on": dt.date(2026, 12, 30),
            "description_clip": DESCRIPTION_CLIP,
        }
        for number in range(1, RESULTS_MAX + 1)
    ]

    for query in ("", "Q" * 200):
        html = str(texts.render(locale, "resources/list", items=items, query=query))
        length = utf16_len(parse_html(html).text)
        assert length <= MESSAGE_MAX, f"{locale} {kind} list of {length} characters"
