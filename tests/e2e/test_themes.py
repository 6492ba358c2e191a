"""Focus themes: defaults, a facilitator's own list, validation and role checks."""

from __future__ import annotations

from e2e_form_helpers import contains, sent_markups
from e2e_helpers import label, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage.models import Theme

DEFAULT_NAMES = ["Market access", "Finance", "Technology", "Governance"]


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

    summary = await say(harness, facilitator, "Market access, Finance, Women-led FPOs")
    unchanged = await active_names(harness)
    saved = await tap(harness, facilitator, label("forms", "confirm"))

    assert "Market access, Finance, Women-led FPOs" in summary.text
    assert unchanged == DEFAULT_NAMES
    assert "Women-led FPOs" in saved.text
    assert await active_names(harness) == ["Market access", "Finance", "Women-led FPOs"]
    assert harness.errors == []


async def test_wrong_theme_count_reasked(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))

    reply = await say(harness, facilitator, "Finance, Finance, Technology")

    reason = render("themes/errors/count", count=2, repeats=1, minimum=3, maximum=4)
    assert reply.html is not None and reason in reply.html
    assert "Type the community's 3 or 4 focus themes" in reply.text
    assert await active_names(harness) == DEFAULT_NAMES


async def test_reset_restores_defaults(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))
    await say(harness, facilitator, "Seeds, Credit, Storage")
    await tap(harness, facilitator, label("forms", "confirm"))
    listing = await say(harness, facilitator, "/themes")

    question = await tap(harness, facilitator, label("themes", "reset"))
    question_text, question_buttons = question.text, question.button_texts()
    after_question = await active_names(harness)
    kept = await tap(harness, facilitator, label("themes", "reset_keep"))
    kept_text, kept_buttons = kept.text, kept.button_texts()
    after_keep = await active_names(harness)
    await tap(harness, facilitator, label("themes", "reset"))
    saved = await tap(harness, facilitator, label("themes", "reset_yes"))

    assert question.message_id == listing.message_id
    assert "Seeds, Credit, Storage" in question_text
    assert question_buttons == [label("themes", "reset_yes"), label("themes", "reset_keep")]
    assert after_question == ["Seeds", "Credit", "Storage"]
    assert "Seeds" in kept_text
    assert kept_buttons == [label("themes", "change"), label("themes", "reset")]
    assert after_keep == ["Seeds", "Credit", "Storage"]
    assert saved.html == render("themes/saved", names=DEFAULT_NAMES)
    assert saved.buttons == []
    assert await active_names(harness) == DEFAULT_NAMES
    assert harness.errors == []


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


async def test_theme_names_without_letters_rejected(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))

    emoji = await say(harness, facilitator, "😀, 🙂, 🙃")
    numbers = await say(harness, facilitator, "Finance, 2024, Seeds")

    assert emoji.html is not None
    assert render("themes/errors/no_letters", name="😀") in emoji.html
    assert "That is 1 theme" not in emoji.text
    assert numbers.html is not None
    assert render("themes/errors/no_letters", name="2024") in numbers.html
    assert await active_names(harness) == DEFAULT_NAMES
    assert harness.errors == []


async def test_command_while_typing_themes(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))

    blocked = await say(harness, facilitator, "/matrix")
    summary = await say(harness, facilitator, "Seeds, Credit, Storage")
    await tap(harness, facilitator, label("forms", "confirm"))
    cancelled_question = await say(harness, facilitator, "/themes")
    await tap(harness, facilitator, label("themes", "change"))
    cancelled = await say(harness, facilitator, "/cancel")

    title = render("themes/change/title")
    assert contains(blocked, "forms/unexpected_command", command="matrix", title=title)
    assert "Type the community's 3 or 4 focus themes" in blocked.text
    assert "Seeds, Credit, Storage" in summary.text
    assert "Seeds" in cancelled_question.text
    assert contains(cancelled, "forms/cancelled", title=title)
    assert await active_names(harness) == ["Seeds", "Credit", "Storage"]
    assert harness.errors == []


async def test_themes_changed_in_group(harness: SandboxHarness) -> None:
    facilitator = harness.facilitator
    group = harness.server.group("CoP members", added_by=facilitator)
    await harness.server.wait_idle()
    command = await harness.server.send_text(facilitator, group, "/themes")
    await harness.server.wait_idle()
    listing = harness.server.last_bot_message(group)

    question = await tap(harness, facilitator, label("themes", "change"), chat=group)
    markup = sent_markups(harness, group)[-1]
    await harness.server.send_text(facilitator, group, "Seeds, Credit, Storage")
    await harness.server.wait_idle()
    ignored = harness.server.last_bot_message(group)
    await harness.server.send_text(
        facilitator, group, "Seeds, Credit, Storage", reply_to_message_id=question.message_id
    )
    await harness.server.wait_idle()
    summary = harness.server.last_bot_message(group)
    saved = await tap(harness, facilitator, label("forms", "confirm"), chat=group)

    assert listing.reply_to_message_id == command["message_id"]
    assert question.reply_to_message_id == command["message_id"]
    assert "Type the community's 3 or 4 focus themes" in question.text
    assert markup == {"force_reply": True, "selective": True}
    assert ignored.message_id == question.message_id
    assert "Seeds, Credit, Storage" in summary.text
    assert "Seeds, Credit, Storage" in saved.text
    assert await active_names(harness) == ["Seeds", "Credit", "Storage"]
    assert harness.errors == []
