"""The error handler through the sandbox: what a user sees when handling their update fails."""

from __future__ import annotations

from e2e_form_helpers import approved_poc
from e2e_helpers import label, render, say, tap

from bot.sandbox.harness import SandboxHarness

# A failed send makes the handler raise, and the error handler sends its message instead.
FAULT = ("sendMessage", 429, "Too Many Requests: retry after 1")


async def test_error_tells_poc_to_ask_facilitator(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    harness.server.faults.fail(*FAULT)

    reply = await say(harness, asha, "/checkin")

    assert reply.html == render("common/error")
    assert "tell your facilitator" in reply.text
    assert len(harness.errors) == 1


async def test_error_for_facilitator_omits_hint(harness: SandboxHarness) -> None:
    harness.server.faults.fail(*FAULT)

    reply = await say(harness, harness.facilitator, "/schedule")

    assert reply.html == render("common/error_facilitator")
    assert "facilitator" not in reply.text
    assert "went wrong" in reply.text
    assert len(harness.errors) == 1


async def test_error_for_facilitator_button(harness: SandboxHarness) -> None:
    await say(harness, harness.facilitator, "/schedule")
    harness.server.faults.fail("editMessageText", 500, "Internal Server Error")

    reply = await tap(harness, harness.facilitator, label("schedule", "checkin"))

    assert reply.html == render("common/error_facilitator")
    assert len(harness.errors) == 1
