"""The monthly recognition post and /recognize through the sandbox, with the scheduler's clock moved.

April 2031: the last working day is Wednesday 30 April, so the preview reaches the
facilitator at 14:00 and the post goes out at 17:00. The first-Monday check-in of
7 April asked about March, so streaks and milestones come from the March reports.
"""

from __future__ import annotations

import datetime as dt

from asks_steps import alert, approved_poc, cop_group, load_theme, press
from e2e_helpers import label, render, say, tap
from schedule_steps import india, run_at, start_schedules_at
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat
from handlers.callbacks import RecognitionReview, RecognitionTemplate
from storage.models import Bso, Community, Contribution, ProgressReport, RecognitionPost

START = india(2031, 4, 30, 12, 0)
PREVIEW_AT = india(2031, 4, 30, 14, 0)
POST_AT = india(2031, 4, 30, 17, 0)
MONTH = dt.date(2031, 4, 1)
HEADING = "thank you for Apr 2031"


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


async def bso_ids(harness: SandboxHarness) -> dict[str, int]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = await session.execute(select(Bso.short_name, Bso.id))
        return {name: bso_id for name, bso_id in rows if name}


async def add_month_data(harness: SandboxHarness) -> None:
    """A give by SRIJAN, an ask of BAIF addressed, and PRADAN's streak with a first linkage."""
    assert harness.app is not None
    theme = await load_theme(harness, "finance")
    ids = await bso_ids(harness)
    async with harness.app.sessionmaker.begin() as session:
        community_id = await session.scalar(select(Community.id).order_by(Community.id))
        assert community_id is not None

        def entry(kind: str, bso: str, title: str, created: dt.datetime, **values: object) -> None:
            session.add(
                Contribution(
                    community_id=community_id,
                    bso_id=ids[bso],
                    kind=kind,
                    theme_id=theme.id,
                    title=title,
                    description="",
                    commodities=[],
                    states=[],
                    help_kinds=[],
                    created_at=utc(created),
                    updated_at=utc(values.pop("updated", created)),  # type: ignore[arg-type]
                    **values,
                )
            )

        entry("give", "SRIJAN", "Cold chain training", india(2031, 4, 10, 11))
        entry(
            "ask",
            "BAIF",
            "Buyer for millets",
            india(2031, 3, 5, 11),
            status="addressed",
            updated=india(2031, 4, 20, 16),
        )
        for month, linkages in ((1, 0), (2, None), (3, 2)):
            session.add(
                ProgressReport(
                    community_id=community_id,
                    bso_id=ids["PRADAN"],
                    month=dt.date(2031, month, 1),
                    actions_taken="Trained FPO boards",
                    buyer_linkages=linkages,
                )
            )


async def setting(harness: SandboxHarness) -> SandboxChat:
    """The CoP group, April's data and the schedules dated from START."""
    harness.clock.set(START)
    group = await cop_group(harness)
    await add_month_data(harness)
    # SQLite stores a time without its zone, so the schedules are dated in UTC.
    await start_schedules_at(harness, utc(START))
    return group


def recognition_posts(harness: SandboxHarness, chat: SandboxChat) -> list[BotMessage]:
    return [
        message
        for message in harness.server.bot_messages(chat)
        if HEADING in (message.text or "") or "Shout-out" in (message.text or "")
    ]


def previews(harness: SandboxHarness) -> list[BotMessage]:
    """The facilitator's messages that carry the recognition buttons."""
    chat = harness.server.private_chat(harness.facilitator)
    post_label = label("recognition", "post")
    return [
        message
        for message in harness.server.bot_messages(chat)
        if post_label in message.button_texts()
    ]


async def stored_post(harness: SandboxHarness) -> RecognitionPost | None:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return await session.scalar(select(RecognitionPost).where(RecognitionPost.month == MONTH))


async def preview_at_its_time(harness: SandboxHarness) -> BotMessage:
    await run_at(harness, PREVIEW_AT - dt.timedelta(minutes=1))
    assert previews(harness) == []
    await run_at(harness, PREVIEW_AT)
    found = previews(harness)
    assert len(found) == 1
    return found[0]


async def test_preview_names_month_recognitions(harness: SandboxHarness) -> None:
    await setting(harness)

    preview = await preview_at_its_time(harness)

    text = preview.text or ""
    assert "Preview of the recognition post for Apr 2031" in text
    assert "Self-Reliant Initiatives through Joint Action (SRIJAN)" in text
    assert "Bharatiya Agro Industries Foundation (BAIF): “Buyer for millets”" in text
    assert "(PRADAN): 3 months in a row" in text
    assert "Milestones from the Mar 2031 progress updates" in text
    assert "(PRADAN): first buyer linkage" in text
    assert "17:00" in text
    assert preview.button_texts() == [
        label("recognition", "post"),
        label("recognition", "edit"),
        label("recognition", "skip"),
    ]
    post = await stored_post(harness)
    assert post is not None
    assert post.status == "draft"


async def test_unanswered_preview_posted_once(harness: SandboxHarness) -> None:
    group = await setting(harness)
    await preview_at_its_time(harness)

    await run_at(harness, POST_AT - dt.timedelta(minutes=1))
    assert recognition_posts(harness, group) == []
    await run_at(harness, POST_AT)
    await run_at(harness, POST_AT + dt.timedelta(minutes=5))
    await run_at(harness, POST_AT + dt.timedelta(hours=2))

    posted = recognition_posts(harness, group)
    assert len(posted) == 1
    assert "(PRADAN): first buyer linkage" in (posted[0].text or "")
    assert "Preview" not in (posted[0].text or "")
    post = await stored_post(harness)
    assert post is not None
    assert post.status == "posted"


async def test_edited_text_posted(harness: SandboxHarness) -> None:
    group = await setting(harness)
    preview = await preview_at_its_time(harness)
    facilitator = harness.facilitator

    asked = await tap(harness, facilitator, label("recognition", "edit"))
    assert asked.text == render("recognition/edit_ask", limit=4096)
    shown = await say(harness, facilitator, "Well done, <everyone> & thanks to SRIJAN!")
    assert (shown.text or "").endswith("Well done, <everyone> & thanks to SRIJAN!")
    assert "Your text for Apr 2031 is saved" in (shown.text or "")
    assert label("recognition", "post") in shown.button_texts()
    assert preview.message_id != shown.message_id

    await run_at(harness, POST_AT)
    await run_at(harness, POST_AT + dt.timedelta(hours=1))

    posted = [
        message
        for message in harness.server.bot_messages(group)
        if "SRIJAN!" in (message.text or "")
    ]
    assert len(posted) == 1
    assert posted[0].text == "Well done, <everyone> & thanks to SRIJAN!"
    assert recognition_posts(harness, group) == []


async def test_skipped_post_not_sent(harness: SandboxHarness) -> None:
    group = await setting(harness)
    await preview_at_its_time(harness)

    done = await tap(harness, harness.facilitator, label("recognition", "skip"))
    assert done.text == render("recognition/skipped", month="Apr 2031")
    await run_at(harness, POST_AT)
    await run_at(harness, POST_AT + dt.timedelta(hours=1))

    assert recognition_posts(harness, group) == []
    post = await stored_post(harness)
    assert post is not None
    assert post.status == "skipped"


async def test_post_as_is_early_posts_once(harness: SandboxHarness) -> None:
    group = await setting(harness)
    preview = await preview_at_its_time(harness)

    done = await tap(harness, harness.facilitator, label("recognition", "post"))
    assert done.text == render("recognition/posted", month="Apr 2031", groups=1)
    await harness.settle()
    assert len(recognition_posts(harness, group)) == 1

    post = await stored_post(harness)
    assert post is not None
    assert preview.buttons == [], "the pressed preview keeps no buttons"
    # A second press, as from a second facilitator's copy of the preview.
    data = RecognitionReview(action="post", post_id=post.id).pack()
    again = await press(harness, harness.facilitator, preview, data)
    assert again is not None
    assert again["text"] == alert("recognition/already", status="posted")
    await run_at(harness, POST_AT)
    await run_at(harness, POST_AT + dt.timedelta(hours=1))

    assert len(recognition_posts(harness, group)) == 1


async def test_forged_button_by_member_refused(harness: SandboxHarness) -> None:
    group = await setting(harness)
    await preview_at_its_time(harness)
    post = await stored_post(harness)
    assert post is not None
    member = harness.server.user("ravi")
    await say(harness, member, "/help")
    chat = harness.server.private_chat(member)
    own = harness.server.last_bot_message(chat)

    for action in ("post", "skip", "edit"):
        data = RecognitionReview(action=action, post_id=post.id).pack()
        answer = await press(harness, member, own, data)
        assert answer is not None
        assert answer["text"] == alert("common/facilitators_only")

    await run_at(harness, POST_AT)
    assert len(recognition_posts(harness, group)) == 1


async def test_recognize_refused_for_member(harness: SandboxHarness) -> None:
    await setting(harness)
    member = harness.server.user("ravi")

    reply = await say(harness, member, "/recognize")

    assert reply.text == render("common/facilitators_only")


async def test_recognize_posts_shoutout(harness: SandboxHarness) -> None:
    group = await setting(harness)
    facilitator = harness.facilitator

    await say(harness, facilitator, "/recognize")
    await say(harness, facilitator, "Pradhan")
    await say(harness, facilitator, "Asha Patil")
    summary = await say(harness, facilitator, "Shared the onion buyer list with three BSOs")
    assert "The CoP-wide groups (1) will see:" in (summary.text or "")
    done = await tap(harness, facilitator, label("forms", "confirm"))
    await harness.settle()

    assert "going out to 1 CoP-wide group" in (done.text or "")
    posted = recognition_posts(harness, group)
    assert len(posted) == 1
    assert (posted[0].text or "").startswith(
        "👏 Shout-out to Professional Assistance for Development Action (PRADAN), and to Asha Patil"
    )


async def test_recognize_without_group(harness: SandboxHarness) -> None:
    harness.clock.set(START)

    reply = await say(harness, harness.facilitator, "/recognize")

    assert reply.text == render("recognition/no_groups")


# --- /recognize template ------------------------------------------------------------------


async def load_community(harness: SandboxHarness) -> Community:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        community = await session.scalar(select(Community).order_by(Community.id))
    assert community is not None
    return community


def invalid(part: str, error: str, **params: object) -> str:
    """Render the rejection of a typed heading or closing as the chat shows it."""
    return alert(
        "recognition/template_invalid", part=part, error=error, placeholder="{month}", **params
    )


async def test_template_used_by_preview_and_post(harness: SandboxHarness) -> None:
    group = await setting(harness)
    facilitator = harness.facilitator

    view = await say(harness, facilitator, "/recognize template")
    assert "Heading: the default" in (view.text or "")
    assert "Closing line: the default" in (view.text or "")
    assert HEADING in (view.text or "")
    assert view.button_texts() == [
        label("recognition", "template_heading"),
        label("recognition", "template_closing"),
        label("recognition", "template_restore"),
    ]

    asked = await tap(harness, facilitator, label("recognition", "template_heading"))
    assert asked.text == alert(
        "recognition/template_ask", part="heading", current=None, limit=200, placeholder="{month}"
    )
    saved = await say(harness, facilitator, "  Stars of {month} <b>&</b> friends  ")
    assert "The heading is saved" in (saved.text or "")
    assert "🏆 Stars of Apr 2031 <b>&</b> friends" in (saved.text or "")
    assert "Thank you all for learning" in (saved.text or "")
    await tap(harness, facilitator, label("recognition", "template_closing"))
    saved = await say(harness, facilitator, "See you at the April meetup!")
    assert "The closing line is saved" in (saved.text or "")
    assert "Thank you all for learning" not in (saved.text or "")
    community = await load_community(harness)
    assert community.recognition_heading == "Stars of {month} <b>&</b> friends"
    assert community.recognition_closing == "See you at the April meetup!"

    preview = await preview_at_its_time(harness)
    text = preview.text or ""
    assert "🏆 Stars of Apr 2031 <b>&</b> friends\n" in text
    assert HEADING not in text
    assert text.endswith("(PRADAN): first buyer linkage\n\nSee you at the April meetup!")
    await run_at(harness, POST_AT)
    await run_at(harness, POST_AT + dt.timedelta(hours=1))
    posted = [
        message
        for message in harness.server.bot_messages(group)
        if "Stars of Apr 2031" in (message.text or "")
    ]
    assert len(posted) == 1
    assert (posted[0].text or "").startswith("🏆 Stars of Apr 2031 <b>&</b> friends\n\n")
    assert (posted[0].text or "").endswith("\n\nSee you at the April meetup!")

    restored = await tap(harness, facilitator, label("recognition", "template_restore"))
    assert "The default heading and closing line are back" in (restored.text or "")
    assert HEADING in (restored.text or "")
    assert "Thank you all for learning from and helping one another. 🙏" in (restored.text or "")
    community = await load_community(harness)
    assert community.recognition_heading is None
    assert community.recognition_closing is None


async def test_template_rejected_for_poc(harness: SandboxHarness) -> None:
    await setting(harness)
    await say(harness, harness.facilitator, "/recognize template")
    await tap(harness, harness.facilitator, label("recognition", "template_heading"))
    await say(harness, harness.facilitator, "Stars of {month}")
    poc = await approved_poc(harness, "ravi")

    reply = await say(harness, poc, "/recognize template")
    assert reply.text == render("common/facilitators_only")
    for action in ("heading", "closing", "restore"):
        data = RecognitionTemplate(action=action).pack()
        answer = await press(harness, poc, reply, data)
        assert answer is not None
        assert answer["text"] == alert("common/facilitators_only")
    await say(harness, poc, "Forged heading")

    community = await load_community(harness)
    assert community.recognition_heading == "Stars of {month}"
    assert community.recognition_closing is None


async def test_template_unknown_button_rejected(harness: SandboxHarness) -> None:
    await setting(harness)
    view = await say(harness, harness.facilitator, "/recognize template")

    answer = await press(
        harness, harness.facilitator, view, RecognitionTemplate(action="drop").pack()
    )

    assert answer is not None
    assert answer["text"] == alert("common/button_unknown")


async def test_template_invalid_input_not_saved(harness: SandboxHarness) -> None:
    await setting(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/recognize template")

    await tap(harness, facilitator, label("recognition", "template_heading"))
    reply = await say(harness, facilitator, "H" * 201)
    assert reply.text == invalid("heading", "too_long", limit=200, length=201)
    reply = await say(harness, facilitator, "   ")
    assert reply.text == invalid("heading", "empty", limit=200)
    reply = await say(harness, facilitator, "Stars of {year}")
    assert reply.text == invalid("heading", "placeholder", found="{year}")
    reply = await say(harness, facilitator, "Stars of {{month}}")
    assert reply.text == invalid("heading", "placeholder", found="{{")
    reply = await say(harness, facilitator, "/cancel")
    assert reply.text == render("common/cancelled")
    await say(harness, facilitator, "Stars of {month}")
    community = await load_community(harness)
    assert community.recognition_heading is None

    await tap(harness, facilitator, label("recognition", "template_closing"))
    reply = await say(harness, facilitator, "C" * 501)
    assert reply.text == invalid("closing", "too_long", limit=500, length=501)
    reply = await say(harness, facilitator, "See you after {month}")
    assert reply.text == invalid("closing", "placeholder", found="{month}")
    community = await load_community(harness)
    assert community.recognition_closing is None

    saved = await say(harness, facilitator, "C" * 500)
    assert "The closing line is saved" in (saved.text or "")
    community = await load_community(harness)
    assert community.recognition_closing == "C" * 500
    assert community.recognition_heading is None
