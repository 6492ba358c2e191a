"""Answer types of the progress check-in, and the size of its summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.config import LOCALES
from bot.forms import FieldError, Form
from bot.forms.engine import FormEngine
from bot.texts import MESSAGE_LIMIT, Texts, utf16_length
from handlers import progress
from handlers.progress_fields import outcome_fields

TODAY = dt.date(2026, 3, 10)
TEXTS = Texts()


@pytest.fixture(scope="module")
def kinds() -> dict[str, Any]:
    return outcome_fields(TEXTS)


def parse(kinds: dict[str, Any], name: str, text: str, locale: str = "en") -> Any:
    return kinds[name].parse(text, today=TODAY, locale=locale)


def error_of(kinds: dict[str, Any], name: str, text: str, locale: str = "en") -> FieldError:
    with pytest.raises(FieldError) as raised:
        parse(kinds, name, text, locale)
    return raised.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.5", 3.5),
        ("3.5 lakh", 3.5),
        ("3.5 lakh rupees", 3.5),
        ("3.5L", 3.5),
        ("Rs 3.5 lakh", 3.5),
        ("₹3,50,000", 3.5),
        ("350000 rupees", 3.5),
        ("INR 350000", 3.5),
        ("35 thousand", 0.35),
        ("35k", 0.35),
        ("1.2 crore", 120.0),
        ("३.५ लाख", 3.5),
        ("3,50,000 रुपये", 3.5),
        ("₹500", 0.005),
        ("0", 0.0),
    ],
)
def test_value_in_lakh(kinds: dict[str, Any], text: str, expected: float) -> None:
    assert parse(kinds, "value_lakh", text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("350000", "value_ambiguous"),
        ("-2", "number_negative"),
        ("₹-500", "number_negative"),
        ("-₹500", "number_invalid"),
        ("five lakh", "number_invalid"),
        ("12 dollars", "value_wrong_unit"),
        ("20 lakh crore", "value_wrong_unit"),
        ("2000000 lakh", "too_large"),
    ],
)
def test_value_rejected(kinds: dict[str, Any], text: str, code: str) -> None:
    assert error_of(kinds, "value_lakh", text).code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12.0),
        ("12 t", 12.0),
        ("12t", 12.0),
        ("12 tonnes", 12.0),
        ("12 टन", 12.0),
        ("12.5 MT", 12.5),
        ("150 quintal", 15.0),
        ("1,200 क्विंटल", 120.0),
        ("800 kg", 0.8),
        ("1.5 thousand tonnes", 1500.0),
    ],
)
def test_volume_in_tonnes(kinds: dict[str, Any], text: str, expected: float) -> None:
    assert parse(kinds, "volume_tonnes", text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-3 t", "number_negative"),
        ("-3 quintal", "number_negative"),
        ("twelve", "number_invalid"),
        ("12 litres", "wrong_unit"),
        ("2000000 t", "too_large"),
    ],
)
def test_volume_rejected(kinds: dict[str, Any], text: str, code: str) -> None:
    assert error_of(kinds, "volume_tonnes", text).code == code


def test_counts_take_their_unit(kinds: dict[str, Any]) -> None:
    assert parse(kinds, "fpos_supported", "12 FPOs") == 12
    assert parse(kinds, "fpos_supported", "12 एफ़पीओ") == 12
    assert parse(kinds, "buyer_linkages", "3 buyers") == 3
    assert parse(kinds, "women_reached", "40 महिलाएं") == 40


def test_count_errors_name_unit_in_locale(kinds: dict[str, Any]) -> None:
    wrong = error_of(kinds, "women_reached", "40 kg", "hi")
    assert wrong.code == "wrong_unit"
    assert wrong.params["unit"] == "महिलाएँ"
    assert error_of(kinds, "fpos_supported", "12.5").code == "number_not_integer"
    assert error_of(kinds, "fpos_supported", "-1").code == "number_negative"
    assert error_of(kinds, "fpos_supported", "20000").code == "too_large"


@pytest.mark.parametrize("locale", LOCALES)
def test_error_messages_render(kinds: dict[str, Any], locale: str) -> None:
    for name, text in (
        ("value_lakh", "350000"),
        ("value_lakh", "12 dollars"),
        ("volume_tonnes", "12 litres"),
        ("fpos_supported", "20000"),
    ):
        error = error_of(kinds, name, text, locale)
        rendered = TEXTS.render(locale, error.template, **error.params)
        assert text.split()[0] in rendered, (name, text, rendered)


@pytest.mark.parametrize("locale", LOCALES)
def test_longest_summary_fits_message(locale: str) -> None:
    actions = [
        {"id": slot, "title": "T" * 200, "status": "open", "due": None, "overdue": False}
        for slot in range(1, progress.MAX_ACTIONS + 1)
    ]
    form = Form(
        name="checkin",
        fields=progress.checkin_fields(TEXTS, actions),
        summary=f"{progress.CHECKIN_PROMPTS}/title",
    )
    answers: dict[str, Any] = {
        "actions_taken": "A" * progress.ACTIONS_TAKEN_MAX,
        "challenges": "C" * progress.CHALLENGES_MAX,
        "support_needed": "S" * progress.SUPPORT_MAX,
        "fpos_supported": 10_000,
        "buyer_linkages": 1_000,
        "volume_tonnes": 999_999.99999,
        "value_lakh": 999_999.99999,
        "women_reached": 1_000_000,
    }
    for slot in range(1, progress.MAX_ACTIONS + 1):
        answers[f"action{slot}"] = "stuck"
        answers[f"action{slot}_reason"] = "R" * progress.REASON_MAX
    now = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)

    step = FormEngine(form).start(now=now, locale=locale, answers=answers)
    [summary] = step.outputs
    items = [
        (TEXTS.label(locale, progress.CHECKIN_PROMPTS, item.field), item.answer)
        for item in summary.items
    ]
    title = TEXTS.render(locale, f"{progress.CHECKIN_PROMPTS}/title")
    # As the form runner renders it in a private chat, the only place /checkin runs.
    text = TEXTS.render(
        locale,
        "forms/summary",
        notes=[],
        title=title,
        items=items,
        in_group=False,
        person_name="",
        user_id=0,
    )

    assert len(summary.items) == len(answers)
    assert utf16_length(text) <= MESSAGE_LIMIT, utf16_length(text)
