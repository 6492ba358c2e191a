"""FormEngine.prompt: the current question again, with expiry checked as for any input."""

from __future__ import annotations

import datetime as dt

from bot.forms import Choice, Form, FormEngine, FormField, Option, ShortText
from bot.forms.engine import Ask, Expired, Stale, Summary

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
FORM = Form(
    name="example",
    summary="example/summary",
    fields=(
        FormField(name="name", kind=ShortText(), question="example/name"),
        FormField(
            name="role",
            kind=Choice(options=(Option(key="buyer", labels={"en": "Buyer"}),)),
            question="example/role",
        ),
    ),
)
ENGINE = FormEngine(FORM)


def test_prompt_repeats_question_and_touches() -> None:
    started = ENGINE.start(now=NOW, locale="en").state
    assert started is not None
    later = NOW + dt.timedelta(hours=1)

    step = ENGINE.prompt(started, now=later, locale="en")

    assert step.state is not None
    assert step.state.touched_at == later.isoformat()
    assert step.state.version == started.version
    assert len(step.outputs) == 1
    assert isinstance(step.outputs[0], Ask)
    assert step.outputs[0].field == "name"


def test_prompt_shows_summary_when_answered() -> None:
    started = ENGINE.start(now=NOW, locale="en", answers={"name": "Asha", "role": "buyer"}).state
    assert started is not None

    step = ENGINE.prompt(started, now=NOW, locale="en")

    assert isinstance(step.outputs[0], Summary)


def test_prompt_after_ttl_expires() -> None:
    started = ENGINE.start(now=NOW, locale="en").state
    assert started is not None

    step = ENGINE.prompt(started, now=NOW + FORM.ttl + dt.timedelta(seconds=1), locale="en")

    assert step.state is None
    assert step.outputs == (Expired(),)


def test_prompt_after_confirm_is_stale() -> None:
    started = ENGINE.start(now=NOW, locale="en", answers={"name": "Asha", "role": "buyer"}).state
    assert started is not None
    confirmed = ENGINE.press(
        started, "confirm", "", started.version, now=NOW, today=TODAY, locale="en"
    ).state
    assert confirmed is not None

    step = ENGINE.prompt(confirmed, now=NOW, locale="en")

    assert step.outputs == (Stale("ended"),)
