"""Checks that the Hindi prompts under prompts/hi match the English ones under prompts/en.

A translation must keep every file, button block and template variable of the English
original, and must actually be in Hindi. The checks read the real template files.
"""

from __future__ import annotations

import datetime
import re

import pytest
from jinja2 import meta, nodes

from bot.texts import PROMPTS_DIR, Texts

LOCALES = ("en", "hi")
DEVANAGARI = re.compile("[\u0900-\u097f]")
JINJA_CONSTRUCT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
HTML_TAG = re.compile(r"</?\s*([a-zA-Z][a-zA-Z0-9-]*)")
# The tags that Telegram's parse_mode=HTML accepts and that these prompts may use.
TELEGRAM_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote"}
# Button blocks whose English text is only a proper name, so the Hindi keeps it as it is.
UNTRANSLATED_BLOCKS = {
    ("registration", "english"),
    # The abbreviation BSO is used as it is in Hindi too.
    ("registration", "bso"),
    # A tick or a pencil around a label that is itself translated.
    ("forms", "ticked"),
    ("forms", "unticked"),
    ("forms", "edit"),
}
# Messages that handlers send with callback.answer(show_alert=True). The Bot API method
# answerCallbackQuery accepts 0-200 characters of text. Each entry is (template, a context
# that makes the text as long as it gets).
ALERT_TEMPLATES = [
    ("requirements/already_decided", {}),
    ("requirements/mine_not_yours", {}),
    ("requirements/not_open", {}),
    ("requirements/not_yours", {}),
    ("requirements/offer_accepted", {}),
    ("requirements/offer_declined", {}),
    ("requirements/own_bso", {}),
    ("requirements/pocs_only", {}),
    ("requirements/private_only", {}),
    ("requirements/proposal_added", {}),
    ("requirements/proposal_dismissed", {}),
    ("actions/already", {"title": "T" * 200, "status": "In progress"}),
    ("actions/changed", {}),
    ("actions/finish_first", {}),
    ("actions/list_expired", {}),
    ("actions/marked", {"title": "T" * 200, "status": "In progress"}),
    ("actions/not_found", {}),
    ("actions/not_yours", {}),
    ("actions/private_only", {}),
    ("actions/stuck_asked", {}),
    ("asks/mine/already_editing", {}),
    ("asks/mine/no_edit_withdrawn", {}),
    ("asks/mine/not_yours", {}),
    ("asks/mine/private_only", {}),
    ("supply/not_yours", {}),
    ("supply/private_only", {}),
    ("asks/mine/unchanged", {"status": "in progress, काम चल रहा है"}),
    ("asks/pending_only", {"command": "/mine"}),
    ("asks/pocs_only", {"command": "/mine"}),
    ("common/facilitators_only", {}),
    ("consolidate/already_addressed", {}),
    ("consolidate/already_open", {}),
    ("consolidate/cannot_merge", {}),
    ("consolidate/cannot_split", {}),
    ("consolidate/csv_unchanged", {}),
    ("consolidate/gone", {}),
    ("consolidate/private_only", {}),
    ("forms/ended", {"command": "/checkin"}),
    ("progress/private_only", {"command": "/progress"}),
    ("forms/expired_alert", {"command": "/broadcast"}),
    ("forms/not_yours", {"command": "/give"}),
    ("forms/pick_one", {}),
    ("forms/stale", {}),
    ("groups/kind_unknown", {}),
    ("imports/expired", {}),
    ("lookups/expired", {}),
    ("lookups/gone", {}),
    ("matrix/csv_unchanged", {}),
    ("matrix/gone", {}),
    ("matrix/private_only", {}),
    ("progress/ask_exists", {"title": "T" * 200}),
    ("progress/bso_unknown", {}),
    ("progress/closed_alert", {"month": "अक्तू॰ 2026"}),
    ("progress/month_invalid", {}),
    ("progress/no_support", {}),
    ("progress/not_your_bso", {}),
    ("progress/private_only_alert", {}),
    ("progress/report_gone", {}),
    ("registration/decision_unknown", {}),
    ("registration/errors/form_closed", {}),
    ("registration/decision_already", {"person": {"name": "N" * 40, "status": "deleted"}}),
    ("resources/gone", {}),
    ("resources/sent_private", {}),
    ("resources/start_private", {"bot_username": "b" * 32}),
    ("resources/unavailable", {}),
    ("webinars/rsvp_closed", {"title": "T" * 200}),
    (
        "webinars/rsvp_saved",
        {
            "answer": "yes",
            "previous": None,
            "title": "T" * 200,
            "when": "बृहस्पतिवार 30 सित॰ 2026, 16:00 IST",
            "attending": 99999,
            "reachable": False,
            "bot_username": "b" * 32,
            "upcoming": ("day", "hour"),
        },
    ),
    ("webinars/rsvp_unknown", {}),
    ("connections/private_only", {}),
    ("connections/gone", {}),
    ("connections/not_yours", {}),
    ("connections/unchanged", {"status": "कोई नतीजा नहीं"}),
    ("connections/status_set", {"status": "कोई नतीजा नहीं"}),
    ("connections/outdated", {"status": "कोई नतीजा नहीं"}),
    (
        "connections/already_alert",
        {"on": datetime.date(2026, 9, 30), "status": "कोई नतीजा नहीं"},
    ),
]
ALERT_MAX = 200
COMMAND_DESCRIPTION_MIN = 3
COMMAND_DESCRIPTION_MAX = 256


def prompt_files(locale: str) -> set[str]:
    """Return the paths of all files under prompts/<locale>, relative to that folder."""
    root = PROMPTS_DIR / locale
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


EN_FILES = sorted(prompt_files("en"))
HTML_FILES = [name for name in EN_FILES if name.endswith(".html")]
BUTTON_FILES = [name for name in EN_FILES if name.endswith("buttons.txt")]


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


def source(texts: Texts, locale: str, name: str) -> str:
    assert texts.env.loader is not None
    text, _, _ = texts.env.loader.get_source(texts.env, f"{locale}/{name}")
    return text


def human_text(template_source: str) -> str:
    """Return the template text outside Jinja tags, expressions and comments."""
    return JINJA_CONSTRUCT.sub(" ", template_source)


def references(texts: Texts, template_source: str) -> set[str]:
    """Collect the variables, attribute paths, filters and tests a template uses.

    `person.name` is recorded whole, so a misspelt attribute shows up even though
    `find_undeclared_variables` only reports the top-level `person`.
    """
    tree = texts.env.parse(template_source)
    found: set[str] = set()
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Filter, nodes.Test)):
        if isinstance(node, nodes.Getattr):
            path = [node.attr]
            target = node.node
            while isinstance(target, nodes.Getattr):
                path.append(target.attr)
                target = target.node
            if isinstance(target, nodes.Name):
                found.add(".".join([target.name, *reversed(path)]))
        elif isinstance(node, nodes.Name):
            found.add(node.name)
        elif isinstance(node, nodes.Filter):
            found.add(f"|{node.name}")
        else:
            found.add(f"is {node.name}")
    return found


def test_prompt_folders_not_empty() -> None:
    assert HTML_FILES, f"no .html templates found under {PROMPTS_DIR / 'en'}"
    assert BUTTON_FILES, f"no buttons.txt files found under {PROMPTS_DIR / 'en'}"


@pytest.mark.parametrize(("have", "lack"), [("en", "hi"), ("hi", "en")])
def test_every_file_has_counterpart(have: str, lack: str) -> None:
    missing = sorted(prompt_files(have) - prompt_files(lack))
    assert not missing, f"files in prompts/{have} with no counterpart in prompts/{lack}: {missing}"


@pytest.mark.parametrize("name", BUTTON_FILES)
def test_button_blocks_match(texts: Texts, name: str) -> None:
    english = set(texts.env.get_template(f"en/{name}").blocks)
    hindi = set(texts.env.get_template(f"hi/{name}").blocks)

    assert english, f"en/{name} has no blocks"
    assert not english - hindi, f"blocks missing from hi/{name}: {sorted(english - hindi)}"
    assert not hindi - english, f"blocks missing from en/{name}: {sorted(hindi - english)}"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", EN_FILES)
def test_template_compiles(texts: Texts, locale: str, name: str) -> None:
    texts.env.get_template(f"{locale}/{name}")


@pytest.mark.parametrize("name", EN_FILES)
def test_hindi_keeps_variables(texts: Texts, name: str) -> None:
    english = meta.find_undeclared_variables(texts.env.parse(source(texts, "en", name)))
    hindi = meta.find_undeclared_variables(texts.env.parse(source(texts, "hi", name)))

    assert hindi == english, (
        f"hi/{name} variables differ: missing {sorted(english - hindi)}, "
        f"extra {sorted(hindi - english)}"
    )


@pytest.mark.parametrize("name", EN_FILES)
def test_hindi_keeps_attributes_and_filters(texts: Texts, name: str) -> None:
    english = references(texts, source(texts, "en", name))
    hindi = references(texts, source(texts, "hi", name))

    assert hindi == english, (
        f"hi/{name} references differ: missing {sorted(english - hindi)}, "
        f"extra {sorted(hindi - english)}"
    )


@pytest.mark.parametrize("name", HTML_FILES)
def test_hindi_message_has_devanagari(texts: Texts, name: str) -> None:
    text = human_text(source(texts, "hi", name))

    assert DEVANAGARI.search(text), f"hi/{name} has no Devanagari outside Jinja: {text.strip()!r}"


@pytest.mark.parametrize("name", BUTTON_FILES)
def test_hindi_labels_have_devanagari(texts: Texts, name: str) -> None:
    feature = name.removesuffix("/buttons.txt")
    untranslated = []
    for key in texts.env.get_template(f"hi/{name}").blocks:
        if (feature, key) in UNTRANSLATED_BLOCKS:
            continue
        label = texts.label("hi", feature, key)
        if not DEVANAGARI.search(label):
            untranslated.append((key, label))

    assert not untranslated, f"hi/{name} blocks with no Devanagari: {untranslated}"


def test_untranslated_blocks_exist(texts: Texts) -> None:
    for feature, key in UNTRANSLATED_BLOCKS:
        assert key in texts.env.get_template(f"hi/{feature}/buttons.txt").blocks, (
            f"allow-list entry ({feature}, {key}) names no block"
        )


@pytest.mark.parametrize("locale", LOCALES)
def test_command_descriptions_length(texts: Texts, locale: str) -> None:
    template = texts.env.get_template(f"{locale}/commands/buttons.txt")
    assert template.blocks, f"{locale}/commands/buttons.txt has no blocks"

    for key in template.blocks:
        description = texts.label(locale, "commands", key)
        assert COMMAND_DESCRIPTION_MIN <= len(description) <= COMMAND_DESCRIPTION_MAX, (
            f"{locale} description of /{key} has {len(description)} characters: {description!r}"
        )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", HTML_FILES)
def test_message_uses_telegram_tags(texts: Texts, locale: str, name: str) -> None:
    tags = set(HTML_TAG.findall(human_text(source(texts, locale, name))))

    assert tags <= TELEGRAM_TAGS, (
        f"{locale}/{name} uses tags Telegram rejects: {sorted(tags - TELEGRAM_TAGS)}"
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("name", "context"), ALERT_TEMPLATES, ids=[name for name, _ in ALERT_TEMPLATES]
)
def test_alert_fits_telegram(texts: Texts, locale: str, name: str, context: dict) -> None:
    assert (PROMPTS_DIR / locale / f"{name}.html").is_file(), f"{locale}/{name}.html not found"
    text = texts.render(locale, name, **context)

    assert len(text) <= ALERT_MAX, f"{locale}/{name} alert has {len(text)} characters: {text!r}"


def test_hindi_renders_escaped_values(texts: Texts) -> None:
    person = {"name": "<Asha & Co>", "bso": {"name": "Kisan BSO"}}
    text = texts.render("hi", "registration/approved", person=person)

    assert "&lt;Asha &amp; Co&gt;" in text
    assert "Kisan BSO" in text
    assert DEVANAGARI.search(text)
