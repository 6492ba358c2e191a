"""LinkField and the link finder of message answers: accepted links, each rejection reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.forms import FieldError, LinkField
from bot.forms.links import MAX_LINK_LENGTH, find_links

TODAY = dt.date(2026, 12, 4)
LINK = LinkField()


def parse(text: str, locale: str = "en") -> str:
    return LINK.parse(text, today=TODAY, locale=locale)


def error(text: str, locale: str = "en") -> FieldError:
    with pytest.raises(FieldError) as caught:
        LINK.parse(text, today=TODAY, locale=locale)
    return caught.value


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://zoom.us/j/1234567890?pwd=AbC", "https://zoom.us/j/1234567890?pwd=AbC"),
        ("http://example.org/report", "http://example.org/report"),
        ("HTTPS://Meet.Google.com/abc-defg-hij", "https://Meet.Google.com/abc-defg-hij"),
        ("zoom.us/j/123", "https://zoom.us/j/123"),
        ("meet.google.com/abc", "https://meet.google.com/abc"),
        ("  www.youtube.com/watch?v=x  ", "https://www.youtube.com/watch?v=x"),
        ("//example.org/a", "https://example.org/a"),
        ("meet.example.org:8443/room", "https://meet.example.org:8443/room"),
        ("https://8.8.8.8/dns", "https://8.8.8.8/dns"),
        ("उदाहरण.भारत/पेज", "https://उदाहरण.भारत/पेज"),
        ("https://en.wikipedia.org/wiki/Onion_(disambiguation)", None),
    ],
)
def test_link_accepts(typed, expected):
    assert parse(typed) == (expected or typed)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("join zoom.us/j/123", "space"),
        ("https://zoom.us/j/1 23", "space"),
        ("https://zoom.us/j/1\x00", "space"),
        ("javascript:alert(1)", "scheme"),
        ("ftp://files.example.org/a.pdf", "scheme"),
        ("tg://resolve?domain=cop_bot", "scheme"),
        ("mailto:asha@example.org", "scheme"),
        ("tg:resolve", "scheme"),
        ("localhost", "host"),
        ("localhost:8080/room", "host"),
        ("http://localhost/x", "host"),
        ("https://app.localhost", "host"),
        ("intranet/page", "host"),
        ("https://127.0.0.1/admin", "host"),
        ("https://192.168.1.10/", "host"),
        ("https://[::1]/", "host"),
        ("https://zoom.us@evil.example/j/1", "login"),
        ("https://user:pass@example.org/room", "login"),
        ("https://@example.org", "login"),
        ("https://user@localhost/", "login"),
        ("https://", "host"),
        ("http:example.org", "host"),
        ("https://example..org", "host"),
        ("https://1.5", "host"),
        ("https://zoom.us:99999/j/1", "host"),
        ("http://[::1", "host"),
    ],
)
def test_link_invalid(typed, reason):
    problem = error(typed)
    assert problem.code == "link_invalid"
    assert problem.params["reason"] == reason
    assert problem.params["typed"] == typed.strip()[:39] + ("…" if len(typed) > 40 else "")


def test_link_too_long():
    problem = error("https://example.org/" + "a" * MAX_LINK_LENGTH)
    assert problem.code == "link_invalid"
    assert problem.params["reason"] == "too_long"
    assert problem.params["maximum"] == 2048


def test_link_at_length_limit():
    text = "https://example.org/" + "a" * (MAX_LINK_LENGTH - len("https://example.org/"))
    assert parse(text) == text


def test_blank_link_is_empty():
    assert error("  ").code == "empty"


def test_link_same_in_hindi_locale():
    assert parse("zoom.us/j/123", "hi") == "https://zoom.us/j/123"
    assert error("javascript:alert(1)", "hi").params["reason"] == "scheme"


def test_link_display_and_json():
    value = parse("zoom.us/j/123")
    assert LINK.display(value, "en") == "https://zoom.us/j/123"
    assert LINK.display(value, "hi") == "https://zoom.us/j/123"
    assert LINK.from_json(json.loads(json.dumps(LINK.to_json(value)))) == value


@pytest.mark.parametrize("data", [123, None, "javascript:alert(1)"])
def test_link_from_json_rejects_bad_data(data):
    with pytest.raises((TypeError, ValueError)):
        LINK.from_json(data)


# --- Links in a message -----------------------------------------------------------------


def test_find_links_in_plain_text():
    text = (
        "Join at https://zoom.us/j/1. Slides: http://example.org/s (PDF), again https://zoom.us/j/1"
    )
    assert find_links(text) == ("https://zoom.us/j/1", "http://example.org/s")


def test_find_links_keeps_closing_parenthesis_inside():
    text = "See https://en.wikipedia.org/wiki/Onion_(disambiguation)."
    assert find_links(text) == ("https://en.wikipedia.org/wiki/Onion_(disambiguation)",)


def test_find_links_from_entities_first():
    text = "Webinar here: meet.google.com/abc and https://example.org/x"
    marked = ["meet.google.com/abc", "https://hidden.example.org/form"]
    assert find_links(text, marked) == (
        "https://meet.google.com/abc",
        "https://hidden.example.org/form",
        "https://example.org/x",
    )


def test_find_links_drops_other_schemes():
    assert find_links("write to me", ["mailto:a@example.org", "tg://user?id=1"]) == ()


def test_find_links_ignores_text_without_scheme():
    # Telegram marks "zoom.us/j/1" with a url entity; plain text alone never counts.
    assert find_links("zoom.us/j/1 at 5") == ()
