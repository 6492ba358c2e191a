"""The theme names field of /themes: splitting, the reasons for rejecting, and their templates."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.forms import FieldError
from bot.texts import Texts
from handlers.themes import ThemeNameError, ThemeNames
from storage.themes import split_theme_names, unique_theme_names

TODAY = dt.date(2026, 12, 5)
FIELD = ThemeNames()


def parse(text: str) -> tuple[str, ...]:
    return FIELD.parse(text, today=TODAY, locale="en")


def rejection(text: str) -> FieldError:
    with pytest.raises(FieldError) as raised:
        parse(text)
    return raised.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seeds, Credit, Storage", ("Seeds", "Credit", "Storage")),
        ("Seeds; Credit\nStorage", ("Seeds", "Credit", "Storage")),
        ("  Seeds ,  Women-led   FPOs , Credit,", ("Seeds", "Women-led FPOs", "Credit")),
        ("Seeds, seeds!, Credit, Storage", ("Seeds", "Credit", "Storage")),
        ("🌾 Seeds, Credit, Storage", ("🌾 Seeds", "Credit", "Storage")),
        ("बीज, ऋण, भंडारण, बाज़ार", ("बीज", "ऋण", "भंडारण", "बाज़ार")),
    ],
)
def test_theme_names_accepted(text: str, expected: tuple[str, ...]) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        ("😀, 🙂, 🙃", "no_letters", {"name": "😀"}),
        ("Seeds, 2024, Credit", "no_letters", {"name": "2024"}),
        ("Seeds, ---, Credit", "no_letters", {"name": "---"}),
        ("Seeds, " + "x" * 41 + ", Credit", "too_long", {"length": 41, "maximum": 40}),
        ("Seeds, Credit", "count", {"count": 2, "repeats": 0}),
        ("Finance, Finance, Technology", "count", {"count": 2, "repeats": 1}),
        ("A1, B2, C3, D4, E5", "count", {"count": 5, "repeats": 0}),
    ],
)
def test_theme_names_rejected(text: str, code: str, params: dict[str, object]) -> None:
    error = rejection(text)

    assert isinstance(error, ThemeNameError)
    assert error.code == code
    assert error.template == f"themes/errors/{code}"
    for key, value in params.items():
        assert error.params[key] == value


def test_only_separators_empty() -> None:
    error = rejection(" , ;\n")

    assert not isinstance(error, ThemeNameError)
    assert error.code == "empty"


def test_emoji_names_not_merged() -> None:
    names = split_theme_names("😀, 🙂, Seeds, seeds")

    assert names == ["😀", "🙂", "Seeds", "seeds"]
    assert unique_theme_names(names) == ["😀", "🙂", "Seeds"]


def test_json_round_trip() -> None:
    value = parse("Seeds, Credit, Storage")

    assert FIELD.from_json(FIELD.to_json(value)) == value
    assert FIELD.display(value, "hi") == "Seeds, Credit, Storage"
    with pytest.raises(TypeError):
        FIELD.from_json(["Seeds", 3])


@pytest.mark.parametrize("locale", ["en", "hi"])
@pytest.mark.parametrize(
    "text", ["😀, 🙂, 🙃", "Seeds, " + "x" * 41, "Seeds", "Seeds, Seeds, Credit"]
)
def test_rejection_templates_render(locale: str, text: str) -> None:
    error = rejection(text)

    rendered = Texts().render(locale, error.template, **error.params)

    assert rendered.strip()
    assert "{{" not in rendered
