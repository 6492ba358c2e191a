"""Focus themes: defaults, a facilitator's own list, validation and role checks."""

from __future__ import annotations

from e2e_helpers import label, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage.models import Theme


async def active_names(harness: SandboxHarness) -> list[str]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.scalars(
            select(Theme).where(Theme.active.is_(True)).order_by(Theme.position)
        )
        return [theme.name for theme in rows]


async def test_default_themes_listed(harness: SandboxHarness) -> None:
    reply = await say(harness, harness.facilitator, "/themes")

    for key in ("market_access", "finance", "technology", "governance"):
        assert label("themes", key) in reply.text
    assert reply.button_texts() == [label("themes", "change"), label("themes", "reset")]
    assert harness.errors == []


async def test_themes_replaced_by_typed_list(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))

    reply = await say(harness, facilitator, "Market access, Finance, Women-led FPOs")

    assert "Women-led FPOs" in reply.text
    assert await active_names(harness) == ["Market access", "Finance", "Women-led FPOs"]
    assert harness.errors == []


async def test_wrong_theme_count_reasked(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))

    reply = await say(harness, facilitator, "Finance, Finance, Technology")

    reason = render("themes/errors/count", count=2, minimum=3, maximum=4)
    assert reply.html == render("themes/ask_names", reason=reason)
    assert await active_names(harness) == [
        "Market access",
        "Finance",
        "Technology",
        "Governance",
    ]


async def test_reset_restores_defaults(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))
    await say(harness, facilitator, "Seeds, Credit, Storage")
    await say(harness, facilitator, "/themes")

    await tap(harness, facilitator, label("themes", "reset"))

    assert await active_names(harness) == ["Market access", "Finance", "Technology", "Governance"]


async def test_themes_facilitators_only(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")
    facilitator = harness.facilitator
    listing = await say(harness, facilitator, "/themes")

    reply = await say(harness, ravi, "/themes")
    answered = len(harness.server.callback_answers)
    await harness.server.press_data(
        ravi,
        harness.server.private_chat(facilitator),
        listing.message_id,
        "th1:reset",
    )
    await harness.server.wait_idle()

    assert reply.html == render("common/facilitators_only")
    assert harness.server.callback_answers[answered]["text"] == render("common/facilitators_only")
    assert harness.errors == []
