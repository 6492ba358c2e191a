"""Which webinar reminders are due, resource search scoring, and the length of webinar alerts."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.texts import Texts
from storage.models import Resource
from storage.resources import query_words, score
from storage.webinars import ReminderStep, reminder_steps, reminders_not_needed

STARTS = dt.datetime(2026, 12, 3, 10, 30, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
# The Bot API's answerCallbackQuery takes at most 200 characters of text.
ALERT_MAX = 200


@pytest.mark.parametrize(
    ("before_start", "day_done", "hour_done", "expected"),
    [
        # Nothing is due more than 24 hours ahead.
        (24 * HOUR + MINUTE, False, False, ()),
        # The day reminder is due from 24 hours before, until 1 hour is left.
        (24 * HOUR, False, False, (ReminderStep("day", send=True),)),
        (2 * HOUR, False, False, (ReminderStep("day", send=True),)),
        (HOUR + MINUTE, False, False, (ReminderStep("day", send=True),)),
        # With 1 hour left the day reminder is too late, and the hour reminder is due.
        (HOUR, False, False, (ReminderStep("day", send=False), ReminderStep("hour", send=True))),
        (HOUR, True, False, (ReminderStep("hour", send=True),)),
        (30 * MINUTE, True, False, (ReminderStep("hour", send=True),)),
        (MINUTE, True, False, (ReminderStep("hour", send=True),)),
        # From the start on, every reminder not yet handled is skipped.
        (dt.timedelta(0), True, False, (ReminderStep("hour", send=False),)),
        (
            -HOUR,
            False,
            False,
            (ReminderStep("day", send=False), ReminderStep("hour", send=False)),
        ),
        # Handled reminders are never due again.
        (2 * HOUR, True, False, ()),
        (30 * MINUTE, True, True, ()),
        (-HOUR, True, True, ()),
    ],
)
def test_reminder_steps_table(
    before_start: dt.timedelta, day_done: bool, hour_done: bool, expected: tuple
) -> None:
    now = STARTS - before_start

    steps = reminder_steps(STARTS, now, day_done=day_done, hour_done=hour_done)

    assert steps == expected


def test_reminder_steps_other_time_zone() -> None:
    # The same instant written in India time.
    india = STARTS.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))

    steps = reminder_steps(india, STARTS - 23 * HOUR, day_done=False, hour_done=False)

    assert steps == (ReminderStep("day", send=True),)


@pytest.mark.parametrize(
    ("ahead", "expected"),
    [
        (48 * HOUR, ()),
        (24 * HOUR, ()),
        (24 * HOUR - MINUTE, ("day",)),
        (HOUR, ("day",)),
        (HOUR - MINUTE, ("day", "hour")),
    ],
)
def test_reminders_not_needed_by_notice(ahead: dt.timedelta, expected: tuple) -> None:
    assert reminders_not_needed(STARTS, STARTS - ahead) == expected


def resource(title: str, description: str | None = None) -> Resource:
    return Resource(community_id=1, title=title, description=description, kind="link")


@pytest.mark.parametrize(
    "query",
    [
        "onion storage",
        "Onions",
        "storgae",
        "प्याज़",
        "प्याज",
        "भंडारण",
        "kanda",
        "warehouse receipts",
        "the storage",
    ],
)
def test_resource_search_matches(query: str) -> None:
    found = resource("Onion storage for FPOs", "Warehouse receipts and cold chains.")

    assert score(found, query_words(query)) > 0


@pytest.mark.parametrize("query", ["turmeric", "onion turmeric", "sto", "मि"])
def test_resource_search_misses(query: str) -> None:
    found = resource("Onion storage for FPOs", "Warehouse receipts and cold chains.")

    assert score(found, query_words(query)) == 0


def test_resource_search_hindi_title() -> None:
    found = resource("प्याज़ भंडारण पर वेबिनार")

    assert score(found, query_words("प्याज भंडारण")) > 0
    assert score(found, query_words("वेबिनार")) > 0
    assert score(found, query_words("onion")) > 0


def test_resource_title_outranks_description() -> None:
    in_title = resource("Onion storage")
    in_description = resource("Cold chains", "Onion storage in Nashik.")
    searched = query_words("onion")

    assert score(in_title, searched) > score(in_description, searched)


def test_query_words_drop_stopwords() -> None:
    assert query_words("The storage of ONIONS and onions") == ["storage", "onions"]
    assert query_words("के और") == []


LONG_TITLE = "W" * 200
# Each alert with a context that makes it as long as it gets.
ALERTS = [
    (
        "webinars/rsvp_saved",
        {
            "answer": answer,
            "previous": previous,
            "title": LONG_TITLE,
            "when": "बुधवार 30 सित॰ 2026, 16:00 IST",
            "attending": 12345,
            "reachable": reachable,
            "bot_username": "b" * 32,
            "upcoming": ("day", "hour"),
        },
    )
    for answer in ("yes", "no")
    for previous in (None, "yes", "no")
    for reachable in (True, False)
] + [
    ("webinars/rsvp_unknown", {}),
    ("webinars/rsvp_closed", {"title": LONG_TITLE}),
    ("resources/gone", {}),
    ("resources/start_private", {"bot_username": "b" * 32}),
    ("resources/unavailable", {}),
    ("resources/sent_private", {}),
]


@pytest.mark.parametrize("locale", ["en", "hi"])
@pytest.mark.parametrize(("name", "context"), ALERTS)
def test_webinar_alert_fits_telegram(locale: str, name: str, context: dict) -> None:
    text = Texts().bind(locale).alert(name, **context)

    assert 0 < len(text) <= ALERT_MAX, f"{locale}/{name}: {len(text)} characters: {text!r}"
