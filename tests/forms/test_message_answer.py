"""MessageAnswer: received messages checked by kind and link, their display, JSON and the engine."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.forms import FieldError, Form, FormEngine, FormField, MessageAnswer, MessageRef, ShortText
from bot.forms.engine import Ask, NotExpected, Summary
from bot.forms.messages import MESSAGE_KINDS, PREVIEW_LENGTH, build_message_ref

TODAY = dt.date(2026, 12, 4)
NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
ANY_MESSAGE = MessageAnswer()
ANNOUNCEMENT = MessageAnswer(kinds=("text", "photo", "document"), link_required=True)


def ref(
    kind: str = "text",
    text: str = "",
    *,
    file_name: str | None = None,
    entity_urls: tuple[str, ...] | list[str] = (),
) -> MessageRef:
    return build_message_ref(100, 7, kind, text, file_name=file_name, entity_urls=entity_urls)


def rejected(field: MessageAnswer, message: MessageRef) -> FieldError:
    with pytest.raises(FieldError) as caught:
        field.parse_message(message)
    return caught.value


# --- Building a reference ---------------------------------------------------------------


def test_preview_collapses_whitespace():
    message = ref("text", "  Webinar\n\non   onion\tstorage  ")
    assert message.preview == "Webinar on onion storage"


def test_preview_clipped_to_limit():
    message = ref("text", "word " * 40)
    assert len(message.preview) == PREVIEW_LENGTH
    assert message.preview.endswith("…")


def test_preview_of_hindi_caption():
    message = ref("photo", "प्याज़ भंडारण पर वेबिनार")
    assert message.preview == "प्याज़ भंडारण पर वेबिनार"


def test_photo_without_caption_has_empty_preview():
    assert ref("photo").preview == ""


def test_links_from_entities_and_text():
    message = ref(
        "text",
        "Join here: meet.google.com/abc, slides at https://example.org/s.",
        entity_urls=["meet.google.com/abc", "https://hidden.example.org/form"],
    )
    assert message.links == (
        "https://meet.google.com/abc",
        "https://hidden.example.org/form",
        "https://example.org/s",
    )


# --- Checks -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_every_kind_accepted_by_default(kind):
    message = ref(kind, "caption")
    assert ANY_MESSAGE.parse_message(message) is message


def test_wrong_kind():
    problem = rejected(ANNOUNCEMENT, ref("video", "clip"))
    assert problem.code == "message_wrong_kind"
    assert problem.params == {"kind": "video", "kinds": ["text", "photo", "document"]}


def test_text_needs_link():
    problem = rejected(ANNOUNCEMENT, ref("text", "Webinar on Friday at 5"))
    assert problem.code == "link_missing"


def test_text_with_link_passes():
    message = ref("text", "Webinar: https://zoom.us/j/1")
    assert ANNOUNCEMENT.parse_message(message).links == ("https://zoom.us/j/1",)


def test_text_with_only_other_scheme_needs_link():
    message = ref("text", "Open the bot", entity_urls=["tg://resolve?domain=cop_bot"])
    assert rejected(ANNOUNCEMENT, message).code == "link_missing"


@pytest.mark.parametrize("kind", ["photo", "document"])
def test_media_without_link_passes(kind):
    message = ref(kind, "", file_name="agenda.pdf" if kind == "document" else None)
    assert ANNOUNCEMENT.parse_message(message) is message


def test_typed_text_rejected_by_parse():
    with pytest.raises(FieldError) as caught:
        ANY_MESSAGE.parse("hello", today=TODAY, locale="en")
    assert caught.value.code == "message_expected"
    assert caught.value.params == {"kinds": list(MESSAGE_KINDS)}


@pytest.mark.parametrize("kinds", [(), ("text", "sticker")])
def test_rejects_unknown_kinds(kinds):
    with pytest.raises(ValueError, match="kinds"):
        MessageAnswer(kinds=kinds)


# --- Display and JSON -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "english", "hindi"),
    [
        (ref("text", "Webinar on onion storage"), "Webinar on onion storage", None),
        (
            ref("photo", "Onion shed, Nashik"),
            "Photo: Onion shed, Nashik",
            "फ़ोटो: Onion shed, Nashik",
        ),
        (ref("photo"), "Photo", "फ़ोटो"),
        (ref("document", file_name="report.pdf"), "Document report.pdf", "डॉक्यूमेंट report.pdf"),
        (
            ref("document", "Q3 numbers", file_name="report.pdf"),
            "Document report.pdf: Q3 numbers",
            "डॉक्यूमेंट report.pdf: Q3 numbers",
        ),
        (ref("video", "Demo"), "Video: Demo", "वीडियो: Demo"),
        (ref("audio", file_name="talk.mp3"), "Audio talk.mp3", "ऑडियो talk.mp3"),
        (ref("animation"), "GIF", "GIF"),
        (ref("voice"), "Voice message", "वॉइस मैसेज"),
    ],
)
def test_display_in_english_and_hindi(message, english, hindi):
    assert ANY_MESSAGE.display(message, "en") == english
    assert ANY_MESSAGE.display(message, "hi") == (hindi or english)


def test_display_unknown_locale_is_english():
    assert ANY_MESSAGE.display(ref("photo"), "mr") == "Photo"


def test_json_round_trip():
    message = ref("document", "See https://example.org/a", file_name="agenda.pdf")
    data = json.loads(json.dumps(ANY_MESSAGE.to_json(message)))
    assert data["links"] == ["https://example.org/a"]
    assert ANY_MESSAGE.from_json(data) == message


@pytest.mark.parametrize(
    "data",
    [
        "not a dict",
        {"chat_id": "1", "message_id": 2, "kind": "text", "preview": ""},
        {"chat_id": 1, "message_id": True, "kind": "text", "preview": ""},
        {"chat_id": 1, "message_id": 2, "kind": "text", "preview": "", "links": "x"},
        {"chat_id": 1, "message_id": 2, "kind": "sticker", "preview": ""},
    ],
)
def test_from_json_rejects_bad_data(data):
    with pytest.raises((TypeError, ValueError)):
        ANY_MESSAGE.from_json(data)


def test_from_json_drops_kind_field_no_longer_takes():
    data = ANY_MESSAGE.to_json(ref("video", "clip"))
    with pytest.raises(ValueError):
        ANNOUNCEMENT.from_json(data)


# --- Engine -----------------------------------------------------------------------------

ENGINE = FormEngine(
    Form(
        name="announce",
        summary="announce/summary",
        fields=(
            FormField(name="post", kind=ANNOUNCEMENT, question="announce/q_post"),
            FormField(name="title", kind=ShortText(), question="announce/q_title"),
        ),
    )
)


def started():
    state = ENGINE.start(now=NOW, locale="en").state
    assert state is not None
    return state


def test_engine_stores_message():
    message = ref("photo", "Onion shed")
    step = ENGINE.answer_message(started(), message, now=NOW, locale="en")
    assert step.state is not None
    assert step.state.answers["post"] == ANNOUNCEMENT.to_json(message)
    assert isinstance(step.outputs[-1], Ask)
    assert step.outputs[-1].field == "title"


def test_engine_reasks_with_reason():
    step = ENGINE.answer_message(started(), ref("text", "no link"), now=NOW, locale="en")
    ask = step.outputs[-1]
    assert isinstance(ask, Ask)
    assert ask.field == "post"
    assert ask.reason is not None and ask.reason.code == "link_missing"


def test_engine_message_for_other_field_not_expected():
    first = ENGINE.answer_message(started(), ref("photo"), now=NOW, locale="en").state
    assert first is not None
    step = ENGINE.answer_message(first, ref("photo"), now=NOW, locale="en")
    assert step.outputs[0] == NotExpected("photo")
    assert isinstance(step.outputs[1], Ask) and step.outputs[1].field == "title"


def test_engine_message_at_summary_not_expected():
    state = ENGINE.answer_message(started(), ref("photo"), now=NOW, locale="en").state
    assert state is not None
    state = ENGINE.answer_text(state, "Shed", now=NOW, today=TODAY, locale="en").state
    assert state is not None
    step = ENGINE.answer_message(state, ref("text", "x"), now=NOW, locale="en")
    assert step.outputs[0] == NotExpected("text")
    assert isinstance(step.outputs[1], Summary)
    assert step.outputs[1].items[0].answer == "Photo"
