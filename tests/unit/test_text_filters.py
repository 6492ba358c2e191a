"""Template filters that show stored canonical names in the reader's language."""

from __future__ import annotations

from bot.texts import commodity_names, state_names


def test_state_names_in_hindi() -> None:
    assert state_names(["Bihar", "Madhya Pradesh"], "hi") == "बिहार, मध्य प्रदेश"
    assert state_names(["Bihar"], "en") == "Bihar"
    assert state_names(None, "hi") == ""


def test_commodity_names_in_hindi() -> None:
    assert commodity_names(["onion", "turmeric"], "hi") == "प्याज, हल्दी"
    assert commodity_names(["onion"], "en") == "onion"
    # A name the commodity list does not know is shown as stored.
    assert commodity_names(["dragon fruit"], "hi") == "dragon fruit"
