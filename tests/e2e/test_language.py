"""Switching to Hindi at the start of registration, before the language question."""

from __future__ import annotations

from e2e_helpers import label, question, render, say, tap

from bot.sandbox.harness import SandboxHarness


async def test_switch_to_hindi_at_consent(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha")
    await say(harness, asha, "/start")

    consent = await tap(harness, asha, label("registration", "switch_to_hi"))
    assert consent.html == render("registration/consent", "hi")
    assert label("registration", "agree", "hi") in consent.button_texts()

    name_question = await tap(harness, asha, label("registration", "agree", "hi"))
    assert name_question.html == question("registration/q_name", "hi", can_go_back=False)
    assert harness.errors == []


async def test_switch_back_to_english(harness: SandboxHarness) -> None:
    asha = harness.server.user("asha", language_code="hi")
    first = await say(harness, asha, "/start")
    assert first.html == render("registration/consent", "hi")

    consent = await tap(harness, asha, label("registration", "switch_to_en", "hi"))

    assert consent.html == render("registration/consent", "en")
    assert harness.errors == []
