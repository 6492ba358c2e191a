"""Answer types of the progress check-in, and the size of its summary."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from bot.config import LOCALES
from bot.forms import FieldError, Form
from bot.forms.engine import FormEngine
from bot.texts import MESSAGE_LIMIT, PROMPTS_DIR, Texts, utf16_length
from handlers import progress
from handlers.progress_fields import CHECKIN_PROMPTS, outcome_fields, plural_category

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


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("en", 1, "one"),
        ("en", 1.0, "one"),
        ("en", 0, "other"),
        ("en", 0.5, "other"),
        ("en", 1.5, "other"),
        ("en", 2, "other"),
        ("en", 1_00_001, "other"),
        ("hi", 0, "one"),
        ("hi", 1, "one"),
        ("hi", 0.5, "one"),
        ("hi", 1.5, "other"),
        ("hi", 2, "other"),
    ],
)
def test_plural_category(locale: str, value: int | float, expected: str) -> None:
    assert plural_category(value, locale) == expected


@pytest.mark.parametrize(
    ("locale", "name", "value", "expected"),
    [
        ("en", "fpos_supported", 1, "1 FPO"),
        ("en", "fpos_supported", 2, "2 FPOs"),
        ("en", "fpos_supported", 0, "0 FPOs"),
        ("en", "buyer_linkages", 1, "1 buyer"),
        ("en", "buyer_linkages", 3, "3 buyers"),
        ("en", "volume_tonnes", 1.0, "1 tonne"),
        ("en", "volume_tonnes", 1.5, "1.5 tonnes"),
        ("en", "volume_tonnes", 0.5, "0.5 tonnes"),
        ("en", "women_reached", 1, "1 woman"),
        ("en", "women_reached", 1_200, "1,200 women"),
        ("en", "value_lakh", 1.0, "1 lakh rupees"),
        ("hi", "women_reached", 1, "1 महिला"),
        ("hi", "women_reached", 0, "0 महिला"),
        ("hi", "women_reached", 40, "40 महिलाएँ"),
        ("hi", "fpos_supported", 1, "1 एफ़पीओ"),
        ("hi", "volume_tonnes", 1.0, "1 टन"),
    ],
)
def test_count_display_agrees(
    kinds: dict[str, Any], locale: str, name: str, value: int | float, expected: str
) -> None:
    assert kinds[name].display(value, locale) == expected


def test_singular_units_accepted(kinds: dict[str, Any]) -> None:
    assert parse(kinds, "fpos_supported", "1 FPO") == 1
    assert parse(kinds, "buyer_linkages", "1 buyer") == 1
    assert parse(kinds, "volume_tonnes", "1 tonne") == 1.0
    assert parse(kinds, "women_reached", "1 woman") == 1
    assert parse(kinds, "women_reached", "1 महिला", "hi") == 1


# --- Hindi wording ----------------------------------------------------------------------------

HINDI_PROGRESS = sorted((PROMPTS_DIR / "hi" / "progress").rglob("*"))
# Wrong Hindi in the progress messages, each with the reason. BSO is masculine in Hindi,
# "ask" is माँग, a due date is अंतिम तारीख़, and छोड़ is the Skip button and "skipped".
HINDI_MISTAKES = {
    r"(आपकी|दूसरी|इसकी|उसकी) BSO": "BSO is masculine: आपके BSO, दूसरे BSO",
    r"\bask\b(?!_)": "an ask is माँग",
    r"नियत": "a due date is अंतिम तारीख़",
    r"छोड़": "छोड़ is the Skip button and a skipped answer; dropped is बंद किया",
}


@pytest.mark.parametrize(
    "path", [path for path in HINDI_PROGRESS if path.is_file()], ids=lambda path: path.name
)
def test_hindi_progress_glossary(path: Any) -> None:
    text = re.sub(r"\{[{%#].*?[}%#]\}", " ", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    for pattern, reason in HINDI_MISTAKES.items():
        assert not re.search(pattern, text), f"{path.name}: {reason}"


def test_hindi_action_statuses() -> None:
    expected = {
        "open": "खुला",
        "in_progress": "जारी",
        "done": "पूरा",
        "stuck": "अटका",
        "dropped": "बंद किया",
    }
    for status, word in expected.items():
        assert TEXTS.label("hi", CHECKIN_PROMPTS, f"status_{status}") == word
        macro = TEXTS.env.get_template("hi/progress/_macros.html").module
        assert str(macro.status_name(status)) == word  # type: ignore[attr-defined]
    assert TEXTS.label("hi", CHECKIN_PROMPTS, "status_dropped") != TEXTS.label(
        "hi", "forms", "skip"
    )
