"""Asks and gives through the sandbox: filing, announcing and who may file."""

from __future__ import annotations

from e2e_helpers import decide, label, register, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage.models import Contribution


async def approved_poc(harness: SandboxHarness, name: str = "Asha"):
    user = harness.server.user(name)
    review = await register(harness, user)
    await decide(harness, review, "approve")
    return user


async def test_ask_filed_and_announced(harness: SandboxHarness) -> None:
    user = await approved_poc(harness)
    group = harness.server.group("CoP all", added_by=harness.facilitator)
    await harness.server.wait_idle()
    await say(harness, harness.facilitator, "/groupkind", chat=group)
    await tap(harness, harness.facilitator, label("groups", "cop"), chat=group)

    await say(harness, user, "/ask")
    await tap(harness, user, label("themes", "finance"))
    await say(harness, user, "Working capital for onion aggregation")
    await say(harness, user, "Our FPOs need 20 lakh before the rabi harvest.")
    await say(harness, user, "onion")
    await say(harness, user, "/skip")
    await tap(harness, user, label("asks", "high"))
    await tap(harness, user, label("asks", "peer"))
    await tap(harness, user, label("asks", "expert"))
    await tap(harness, user, label("forms", "done"))
    summary = await tap(harness, user, label("forms", "no"))
    assert "Working capital" in summary.text
    reply = await tap(harness, user, label("forms", "confirm"))

    assert "saved" in reply.text
    async with harness.app.sessionmaker() as session:
        entries = (await session.scalars(select(Contribution))).all()
    assert len(entries) == 1
    assert entries[0].commodities == ["onion"]
    assert entries[0].help_kinds == ["peer", "expert"]
    assert entries[0].urgency == "high"
    note = harness.server.last_bot_message(group)
    assert "Working capital" in note.text
