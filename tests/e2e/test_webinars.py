"""Webinars through the sandbox: announcement, RSVPs, reminders, recordings and /resources.

The harness clock is the clock of the bot and of the outbox, so the tests move it to
the reminder times and let the outbox tick with `harness.settle()`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from asks_steps import alert, approved_poc, button_data, cop_group, press
from e2e_helpers import Answers, error, label, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import BotMessage, SandboxChat, SandboxUser
from bot.sandbox.text import utf16_len
from handlers.resources import ResourceFile
from handlers.webinars import RsvpButton, start_text
from storage import people
from storage.models import Broadcast, OutboxMessage, Resource, Webinar, WebinarRsvp

# 1 December 2026, 11:30 in India.
START = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
# 3 December 2026, 16:00 in India: two days and four and a half hours after START.
WEBINAR_AT = dt.datetime(2026, 12, 3, 10, 30, tzinfo=dt.UTC)
WEBINAR_TYPED = "3/12/2026 16:00"
TITLE = "Working capital for onion FPOs"
LINK = "https://meet.google.com/abc-defg-hij"
ZONE = "Asia/Kolkata"


def when(moment: dt.datetime = WEBINAR_AT, locale: str = "en") -> str:
    return start_text(moment, ZONE, locale)


async def announce(
    harness: SandboxHarness,
    *,
    title: str = TITLE,
    typed_time: str = WEBINAR_TYPED,
    parts: tuple[str, ...] = ("cop_groups", "all_pocs"),
    description: str | None = "Bankers from NABARD explain the loan products.",
) -> BotMessage:
    """Fill /webinar as the facilitator up to the summary; return the summary."""
    facilitator = harness.facilitator
    await say(harness, facilitator, "/webinar")
    await say(harness, facilitator, title)
    await say(harness, facilitator, typed_time)
    await say(harness, facilitator, LINK)
    await say(harness, facilitator, description or "/skip")
    for part in parts:
        await tap(harness, facilitator, label("audience", part))
    return await tap(harness, facilitator, label("forms", "done"))


async def confirm(harness: SandboxHarness) -> BotMessage:
    """Press Confirm on the facilitator's summary and let the outbox deliver."""
    await tap(harness, harness.facilitator, label("forms", "confirm"))
    await harness.settle()
    return harness.server.last_bot_message(harness.server.private_chat(harness.facilitator))


async def setting(harness: SandboxHarness) -> tuple[SandboxChat, SandboxUser, SandboxUser]:
    """A CoP group, an English-speaking PoC and a Hindi-speaking PoC, at START."""
    harness.clock.set(START)
    group = await cop_group(harness)
    asha = await approved_poc(harness, "asha", Answers(name="Asha Patil"))
    meena = await approved_poc(
        harness, "meena", Answers(name="Meena Yadav", bso="BAIF", language="hi")
    )
    return group, asha, meena


async def webinars(harness: SandboxHarness) -> list[Webinar]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Webinar).order_by(Webinar.id))).all())


async def rsvps(harness: SandboxHarness) -> list[WebinarRsvp]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(WebinarRsvp).order_by(WebinarRsvp.id))).all())


async def resources(harness: SandboxHarness) -> list[Resource]:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        return list((await session.scalars(select(Resource).order_by(Resource.id))).all())


def announcements(harness: SandboxHarness, chat: SandboxChat) -> list[BotMessage]:
    yes = label("webinars", "yes")
    yes_hi = label("webinars", "yes", "hi")
    return [
        message
        for message in harness.server.bot_messages(chat)
        if yes in message.button_texts() or yes_hi in message.button_texts()
    ]


def reminders(harness: SandboxHarness, user: SandboxUser) -> list[BotMessage]:
    """The reminders in a user's private chat, in English or Hindi."""
    starts = ("⏰ Reminder", "⏰ रिमाइंडर")
    return [
        message
        for message in harness.server.bot_messages(harness.server.private_chat(user))
        if (message.text or "").startswith(starts)
    ]


async def rsvp(
    harness: SandboxHarness, user: SandboxUser, message: BotMessage, answer: str
) -> dict[str, Any] | None:
    """Press an RSVP button of an announcement or reminder; return the bot's callback answer."""
    hindi = {label("webinars", "yes", "hi"), label("webinars", "no", "hi")}
    locale = "hi" if hindi & set(message.button_texts()) else "en"
    return await press(
        harness, user, message, button_data(message, label("webinars", answer, locale))
    )


async def move_to(harness: SandboxHarness, moment: dt.datetime) -> None:
    """Set the clock and let the outbox run its tickers, as it does every few seconds."""
    harness.clock.set(moment)
    await harness.settle()


# --- Announcing --------------------------------------------------------------------------


async def test_webinar_announced_to_groups_and_pocs(harness: SandboxHarness) -> None:
    group, asha, meena = await setting(harness)

    summary = await announce(harness)
    assert "👥" in (summary.text or "")
    assert "Recipients: 3" in (summary.text or "")
    done = await confirm(harness)

    [webinar] = await webinars(harness)
    assert webinar.title == TITLE
    assert webinar.link == LINK
    assert webinar.starts_at.replace(tzinfo=dt.UTC) == WEBINAR_AT
    assert webinar.broadcast_id is not None
    in_group = announcements(harness, group)
    assert len(in_group) == 1
    assert in_group[0].html == render(
        "webinars/announcement", webinar=webinar, when=when(), upcoming=("day", "hour")
    )
    assert in_group[0].button_texts() == [label("webinars", "yes"), label("webinars", "no")]
    [to_asha] = announcements(harness, harness.server.private_chat(asha))
    assert to_asha.html == in_group[0].html
    [to_meena] = announcements(harness, harness.server.private_chat(meena))
    assert to_meena.html == render(
        "webinars/announcement",
        "hi",
        webinar=webinar,
        when=when(locale="hi"),
        upcoming=("day", "hour"),
    )
    assert to_meena.button_texts() == [
        label("webinars", "yes", "hi"),
        label("webinars", "no", "hi"),
    ]

    facilitator_chat = harness.server.private_chat(harness.facilitator)
    texts = [message.text or "" for message in harness.server.bot_messages(facilitator_chat)]
    assert any(text.startswith("✅ Webinar saved") for text in texts)
    assert "Delivered: 3 of 3" in (done.text or "")
    assert harness.errors == []


async def test_webinar_invalid_inputs_rejected(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    await cop_group(harness)
    facilitator = harness.facilitator
    # 12:00 in India, half an hour after START.
    noon = dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.UTC)
    await say(harness, facilitator, "/webinar")

    empty = await say(harness, facilitator, "   ")
    assert str(error("empty")) in (empty.html or "")
    short = await say(harness, facilitator, "ab")
    assert str(error("text_too_short", length=2, minimum=3)) in (short.html or "")
    await say(harness, facilitator, TITLE)

    past = await say(harness, facilitator, "30/11/2026 10:00")
    assert "is in the past (it is now Tue 1 Dec 2026, 11:30)" in (past.text or "")
    assert "30/11/2026 10:00" in (past.text or "")
    await say(harness, facilitator, "12:00")

    script = await say(harness, facilitator, "javascript:alert(1)")
    assert str(error("link_invalid", typed="javascript:alert(1)", reason="scheme")) in (
        script.html or ""
    )
    local = await say(harness, facilitator, "http://localhost/x")
    assert "does not name a website" in (local.text or "")
    login = await say(harness, facilitator, "https://user:pass@meet.example.org/room")
    assert "has a user name or password before “@”" in (login.text or "")
    await say(harness, facilitator, LINK)
    await say(harness, facilitator, "/skip")
    await tap(harness, facilitator, label("audience", "cop_groups"))
    await tap(harness, facilitator, label("forms", "done"))

    # The summary waited until the start time passed.
    harness.clock.set(noon + dt.timedelta(minutes=5))
    rejected = await tap(harness, facilitator, label("forms", "confirm"))
    assert rejected.html == render("webinars/start_past", when=when(noon))
    assert await webinars(harness) == []
    assert harness.errors == []


async def test_webinar_without_recipients_kept_at_summary(harness: SandboxHarness) -> None:
    harness.clock.set(START)
    # No CoP group and no PoC: the audience resolves to nobody.
    summary = await announce(harness, parts=("cop_groups",))
    assert "Recipients: 0" in (summary.text or "")

    rejected = await tap(harness, harness.facilitator, label("forms", "confirm"))

    assert rejected.html == render("webinars/no_recipients")
    assert await webinars(harness) == []


async def test_webinar_commands_facilitators_only(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)

    for command in ("/webinar", "/webinar list", "/recording"):
        reply = await say(harness, asha, command)
        assert reply.html == render("common/facilitators_only"), command
    in_group = await say(harness, harness.facilitator, "/webinar", chat=group)
    assert in_group.html == render("webinars/private_only", command="/webinar")
    no_past = await say(harness, harness.facilitator, "/recording")
    assert no_past.html == render("webinars/recording/none")
    usage = await say(harness, harness.facilitator, "/webinar tomorrow")
    assert usage.html == render("webinars/usage")
    assert await webinars(harness) == []
    assert harness.errors == []


# --- RSVPs ---------------------------------------------------------------------------------


async def test_rsvps_counted_once_per_person(harness: SandboxHarness) -> None:
    group, asha, meena = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    [to_meena] = announcements(harness, harness.server.private_chat(meena))
    ravi = harness.server.user("ravi")
    [webinar] = await webinars(harness)

    first = await rsvp(harness, asha, in_group, "yes")
    assert first is not None and first["show_alert"]
    assert first["text"] == alert(
        "webinars/rsvp_saved",
        answer="yes",
        previous=None,
        title=TITLE,
        when=when(),
        attending=1,
        reachable=True,
        bot_username=harness.server.bot_username,
        upcoming=("day", "hour"),
    )
    await rsvp(harness, ravi, in_group, "yes")
    hindi = await rsvp(harness, meena, to_meena, "yes")
    assert hindi is not None and "शामिल होने वाले: 3" in hindi["text"]
    again = await rsvp(harness, asha, in_group, "yes")
    assert again is not None and "Attending: 3." in again["text"]
    changed = await rsvp(harness, ravi, in_group, "no")
    assert changed is not None
    assert changed["text"].startswith("Noted: you can't make it")
    assert "Attending: 2." in changed["text"]

    stored = await rsvps(harness)
    assert sorted((row.telegram_user_id, row.answer) for row in stored) == sorted(
        [(asha.id, "yes"), (ravi.id, "no"), (meena.id, "yes")]
    )
    listing = await say(harness, harness.facilitator, "/webinar list")
    assert "Attending: 2 · ❌ Can't make it: 1" in (listing.text or "")
    assert webinar.title in (listing.text or "")
    assert harness.errors == []


async def test_rsvp_without_private_chat_told_to_start_it(harness: SandboxHarness) -> None:
    group, _, _ = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    # Ravi is in the group but has never written to the bot in private.
    ravi = harness.server.user("ravi")

    answer = await rsvp(harness, ravi, in_group, "yes")

    assert answer is not None
    assert answer["text"].endswith(
        f"To get reminders, start a private chat with @{harness.server.bot_username}."
    )
    assert len(answer["text"]) <= 200


async def test_forged_rsvp_data_rejected(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    [webinar] = await webinars(harness)
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        other = await people.add_community(session, name="Other CoP", timezone=ZONE)
        foreign = Webinar(
            community_id=other.id,
            title="Other community's webinar",
            starts_at=WEBINAR_AT,
            link=LINK,
            audience={},
        )
        session.add(foreign)
        await session.flush()
        foreign_id = foreign.id

    cases = {
        RsvpButton(webinar_id=9999, answer="yes").pack(): alert("webinars/rsvp_unknown"),
        RsvpButton(webinar_id=foreign_id, answer="yes").pack(): alert("webinars/rsvp_unknown"),
        RsvpButton(webinar_id=webinar.id, answer="maybe").pack(): alert("common/button_unknown"),
        f"wv1:{webinar.id}": alert("common/button_unknown"),
        "wv1:99999999999:yes": alert("common/button_unknown"),
    }
    for data, expected in cases.items():
        answer = await press(harness, asha, in_group, data)
        assert answer is not None and answer["text"] == expected, data
    # In private chat too, without an RSVP for it, another community's webinar is unknown.
    [to_asha] = announcements(harness, harness.server.private_chat(asha))
    foreign_data = RsvpButton(webinar_id=foreign_id, answer="yes").pack()
    in_private = await press(harness, asha, to_asha, foreign_data)
    assert in_private is not None and in_private["text"] == alert("webinars/rsvp_unknown")

    assert await rsvps(harness) == []
    assert harness.errors == []


async def test_rsvp_after_start_closed(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    harness.clock.set(WEBINAR_AT + dt.timedelta(minutes=1))

    answer = await rsvp(harness, asha, in_group, "yes")

    assert answer is not None
    assert answer["text"] == alert("webinars/rsvp_closed", title=TITLE)
    assert await rsvps(harness) == []


# --- Reminders ---------------------------------------------------------------------------


async def test_reminders_reach_attendees_once(harness: SandboxHarness) -> None:
    group, asha, meena = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    [to_meena] = announcements(harness, harness.server.private_chat(meena))
    ravi = harness.server.user("ravi")
    await say(harness, ravi, "/help")  # opens Ravi's private chat
    await rsvp(harness, asha, in_group, "yes")
    await rsvp(harness, meena, to_meena, "yes")
    await rsvp(harness, ravi, in_group, "no")

    await move_to(harness, WEBINAR_AT - dt.timedelta(hours=24, minutes=1))
    assert reminders(harness, asha) == []

    await move_to(harness, WEBINAR_AT - dt.timedelta(hours=23, minutes=59))
    [day_asha] = reminders(harness, asha)
    assert day_asha.text is not None and day_asha.text.startswith(f"⏰ Reminder: {TITLE}")
    assert "in about 24 hours" in day_asha.text
    assert day_asha.button_texts() == [label("webinars", "no")]
    [day_meena] = reminders(harness, meena)
    assert (day_meena.text or "").startswith(f"⏰ रिमाइंडर: {TITLE}")
    assert reminders(harness, ravi) == []

    await harness.settle()
    await harness.stop_bot()
    await harness.start_bot()
    await harness.settle()
    assert len(reminders(harness, asha)) == 1
    assert len(reminders(harness, meena)) == 1

    await move_to(harness, WEBINAR_AT - dt.timedelta(hours=2))
    assert len(reminders(harness, asha)) == 1
    await move_to(harness, WEBINAR_AT - dt.timedelta(minutes=59))
    hour_asha = reminders(harness, asha)[-1]
    assert len(reminders(harness, asha)) == 2
    assert "in 59 minutes" in (hour_asha.text or "")
    assert len(reminders(harness, meena)) == 2
    assert reminders(harness, ravi) == []

    await harness.stop_bot()
    await harness.start_bot()
    await move_to(harness, WEBINAR_AT + dt.timedelta(minutes=5))
    assert len(reminders(harness, asha)) == 2
    assert len(reminders(harness, meena)) == 2
    listing = await say(harness, harness.facilitator, "/webinar list")
    assert "24 h reminder: sent to 2 · 1 h reminder: sent to 2" in (listing.text or "")
    assert harness.errors == []


async def test_declined_after_day_reminder_gets_no_hour_one(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    await rsvp(harness, asha, in_group, "yes")
    await move_to(harness, WEBINAR_AT - dt.timedelta(hours=23))
    [day] = reminders(harness, asha)

    answer = await rsvp(harness, asha, day, "no")
    await move_to(harness, WEBINAR_AT - dt.timedelta(minutes=30))

    assert answer is not None and "Attending: 0." in answer["text"]
    assert len(reminders(harness, asha)) == 1


async def test_reminder_button_offers_other_answer(harness: SandboxHarness) -> None:
    group, asha, meena = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    [to_meena] = announcements(harness, harness.server.private_chat(meena))
    await rsvp(harness, asha, in_group, "yes")
    await rsvp(harness, meena, to_meena, "yes")
    await move_to(harness, WEBINAR_AT - dt.timedelta(hours=23))
    [day] = reminders(harness, asha)
    [day_meena] = reminders(harness, meena)

    declined = await rsvp(harness, asha, day, "no")
    assert declined is not None and "Attending: 1." in declined["text"]
    assert day.button_texts() == [label("webinars", "yes")]
    await rsvp(harness, meena, day_meena, "no")
    assert day_meena.button_texts() == [label("webinars", "yes", "hi")]

    attending = await rsvp(harness, asha, day, "yes")
    assert attending is not None and "Attending: 1." in attending["text"]
    assert day.button_texts() == [label("webinars", "no")]
    assert sorted((row.telegram_user_id, row.answer) for row in await rsvps(harness)) == sorted(
        [(asha.id, "yes"), (meena.id, "no")]
    )

    # Data that is not the reminder's own button stores nothing new and keeps the button.
    [webinar] = await webinars(harness)
    forged = await press(harness, asha, day, RsvpButton(webinar_id=webinar.id, answer="yes").pack())
    assert forged is not None and forged["text"].startswith("You already said you'll attend")
    unknown = await press(harness, asha, day, RsvpButton(webinar_id=9999, answer="no").pack())
    assert unknown is not None and unknown["text"] == alert("webinars/rsvp_unknown")
    assert day.button_texts() == [label("webinars", "no")]

    await move_to(harness, WEBINAR_AT - dt.timedelta(minutes=59))
    assert len(reminders(harness, asha)) == 2
    assert len(reminders(harness, meena)) == 1
    assert harness.errors == []


async def test_short_notice_gets_only_hour_reminder(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    # 16:00 in India on 1 December, four and a half hours after START.
    soon = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
    summary = await announce(harness, typed_time="16:00")
    assert str(render("webinars/reminder_plan", not_needed=("day",))) in (summary.html or "")
    await confirm(harness)
    [in_group] = announcements(harness, group)
    await rsvp(harness, asha, in_group, "yes")

    assert "reminds you 1 hour before" in (in_group.text or "")
    assert "24 hours" not in (in_group.text or "")
    await move_to(harness, soon - dt.timedelta(hours=3))
    assert reminders(harness, asha) == []
    await move_to(harness, soon - dt.timedelta(minutes=45))

    [hour] = reminders(harness, asha)
    assert "in 45 minutes" in (hour.text or "")
    [webinar] = await webinars(harness)
    assert webinar.reminded_day_at is not None
    assert harness.errors == []


async def test_last_hour_announcement_promises_no_reminder(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    # 12:00 in India, 30 minutes after START.
    await announce(harness, typed_time="12:00")
    await confirm(harness)
    [in_group] = announcements(harness, group)

    pressed = await rsvp(harness, asha, in_group, "yes")

    facilitator_chat = harness.server.private_chat(harness.facilitator)
    texts = [message.text or "" for message in harness.server.bot_messages(facilitator_chat)]
    assert any("no reminders will be sent" in text for text in texts)
    assert "reminds you" not in (in_group.text or "")
    assert pressed is not None and "Reminders" not in pressed["text"]
    assert harness.errors == []


async def test_late_reminders_skipped(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    await rsvp(harness, asha, in_group, "yes")

    # The bot was down from before the 24-hour mark until 30 minutes before the start.
    await move_to(harness, WEBINAR_AT - dt.timedelta(minutes=30))
    [hour] = reminders(harness, asha)
    assert "in 30 minutes" in (hour.text or "")

    await move_to(harness, WEBINAR_AT + dt.timedelta(hours=1))
    assert len(reminders(harness, asha)) == 1
    assert harness.errors == []


async def test_reminder_after_start_skipped(harness: SandboxHarness) -> None:
    group, asha, _ = await setting(harness)
    await announce(harness)
    await confirm(harness)
    [in_group] = announcements(harness, group)
    await rsvp(harness, asha, in_group, "yes")

    await move_to(harness, WEBINAR_AT + dt.timedelta(minutes=10))

    assert reminders(harness, asha) == []
    [webinar] = await webinars(harness)
    assert webinar.reminded_day_at is not None
    assert webinar.reminded_hour_at is not None
    assert harness.errors == []


# --- Recordings and /resources -------------------------------------------------------------


async def record(harness: SandboxHarness, send: Any) -> BotMessage:
    """Run /recording for the latest webinar; `send` sends the recording message."""
    facilitator = harness.facilitator
    await say(harness, facilitator, "/recording")
    await tap(harness, facilitator, f"{TITLE} · 3 Dec 2026")
    await send()
    await harness.server.wait_idle()
    return await confirm(harness)


async def past_webinar(harness: SandboxHarness) -> tuple[SandboxChat, SandboxUser, SandboxUser]:
    group, asha, meena = await setting(harness)
    await announce(harness)
    await confirm(harness)
    harness.clock.set(WEBINAR_AT + dt.timedelta(hours=2))
    return group, asha, meena


async def test_recording_link_reaches_audience(harness: SandboxHarness) -> None:
    group, asha, meena = await past_webinar(harness)
    facilitator_chat = harness.server.private_chat(harness.facilitator)
    recording_link = "https://youtu.be/onion-capital"

    async def send_link() -> None:
        await harness.server.send_text(
            harness.facilitator, facilitator_chat, f"Watch here: {recording_link}"
        )

    report = await record(harness, send_link)

    [webinar] = await webinars(harness)
    expected = render("webinars/recording/link_message", webinar=webinar, links=[recording_link])
    assert harness.server.last_bot_message(group).html == expected
    assert harness.server.last_bot_message(harness.server.private_chat(asha)).html == expected
    assert harness.server.last_bot_message(harness.server.private_chat(meena)).html == render(
        "webinars/recording/link_message", "hi", webinar=webinar, links=[recording_link]
    )
    assert "Delivered: 3 of 3" in (report.text or "")
    assert webinar.recording_broadcast_id is not None
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        broadcast = await session.get(Broadcast, webinar.recording_broadcast_id)
        assert broadcast is not None and broadcast.kind == "recording"
    [resource] = await resources(harness)
    assert (resource.kind, resource.url, resource.webinar_id) == (
        "link",
        recording_link,
        webinar.id,
    )
    assert resource.title == TITLE

    for query in ("onion capital", "ONIONS", "captial", "प्याज़", "nabard loan"):
        found = await say(harness, asha, f"/resources {query}")
        assert recording_link in (found.html or ""), query
    missing = await say(harness, asha, "/resources turmeric")
    assert missing.html == render("resources/none", query="turmeric", total=1)
    latest = await say(harness, meena, "/resources")
    assert recording_link in (latest.html or "")
    assert harness.errors == []


async def test_recording_sends_every_link(harness: SandboxHarness) -> None:
    group, asha, meena = await past_webinar(harness)
    # Twenty days after the webinar: the entry is dated by the bot's clock.
    harness.clock.set(WEBINAR_AT + dt.timedelta(days=20))
    facilitator_chat = harness.server.private_chat(harness.facilitator)
    video, notes = "youtu.be/xyz123", "https://docs.example.org/notes"
    text = f"See it at {video} and notes at {notes}"
    # Telegram marks both links with url entities, also the one without https://.
    entities = [
        {"type": "url", "offset": utf16_len(text[: text.index(url)]), "length": utf16_len(url)}
        for url in (video, notes)
    ]

    async def send_links() -> None:
        harness.server._user_message(
            harness.facilitator, facilitator_chat, {"text": text, "entities": entities}
        )

    report = await record(harness, send_links)

    [webinar] = await webinars(harness)
    links = ["https://youtu.be/xyz123", notes]
    expected = render("webinars/recording/link_message", webinar=webinar, links=links)
    assert harness.server.last_bot_message(group).html == expected
    assert harness.server.last_bot_message(harness.server.private_chat(meena)).html == render(
        "webinars/recording/link_message", "hi", webinar=webinar, links=links
    )
    assert "Delivered: 3 of 3" in (report.text or "")
    [resource] = await resources(harness)
    assert (resource.url, resource.extra_urls) == (links[0], [notes])

    listed = await say(harness, asha, "/resources onion")
    assert f'<a href="{links[0]}">' in (listed.html or "")
    assert f'<a href="{notes}">' in (listed.html or "")
    assert "23 Dec 2026" in (listed.text or "")
    assert harness.errors == []


async def test_recording_document_copied_and_sent_on(harness: SandboxHarness) -> None:
    group, asha, meena = await past_webinar(harness)
    facilitator_chat = harness.server.private_chat(harness.facilitator)

    async def send_file() -> None:
        await harness.server.send_document(
            harness.facilitator,
            facilitator_chat,
            b"%PDF-1.4 slides",
            filename="capital-slides.pdf",
            caption="slides",
        )

    report = await record(harness, send_file)

    [webinar] = await webinars(harness)
    copy = harness.server.last_bot_message(group)
    assert copy.document_name == "capital-slides.pdf"
    hindi_copy = harness.server.last_bot_message(harness.server.private_chat(meena))
    assert hindi_copy.document_name == "capital-slides.pdf"
    captions = {
        str(request.params.get("chat_id")): (
            request.params.get("caption"),
            request.params.get("parse_mode"),
        )
        for request in harness.server.requests_for("copyMessage")
    }
    english = str(render("webinars/recording/caption", webinar=webinar))
    hindi = str(render("webinars/recording/caption", "hi", webinar=webinar))
    assert captions[str(group.id)] == (english, "HTML")
    assert captions[str(asha.id)] == (english, "HTML")
    assert captions[str(meena.id)] == (hindi, "HTML")
    assert "Delivered: 3 of 3" in (report.text or "")
    [resource] = await resources(harness)
    assert resource.kind == "file"
    assert resource.file_name == "capital-slides.pdf"

    listed = await say(harness, asha, "/resources working capitl")
    assert listed.button_texts() == [label("resources", "file", number=1, title=TITLE)]
    answer = await press(harness, asha, listed, button_data(listed, listed.button_texts()[0]))
    assert answer is not None and answer.get("text") in (None, "")
    sent = harness.server.last_bot_message(harness.server.private_chat(asha))
    assert sent.document_name == "capital-slides.pdf"
    assert sent.text == f"📎 Resource: {TITLE}"

    forged = await press(harness, asha, listed, ResourceFile(resource_id=9999).pack())
    assert forged is not None and forged["text"] == alert("resources/gone")
    assert harness.errors == []


async def test_resources_in_group_and_for_strangers(harness: SandboxHarness) -> None:
    group, asha, _ = await past_webinar(harness)
    stranger = harness.server.user("ravi")

    empty = await say(harness, asha, "/resources")
    assert empty.html == render("resources/none", query="", total=0)
    refused = await say(harness, stranger, "/resources onion")
    assert refused.html == render("asks/pocs_only", command="/resources")

    facilitator_chat = harness.server.private_chat(harness.facilitator)

    async def send_file() -> None:
        await harness.server.send_document(
            harness.facilitator, facilitator_chat, b"audio", filename="talk.mp3"
        )

    await record(harness, send_file)
    listed = await say(harness, asha, "/resources onion", chat=group)
    assert TITLE in (listed.text or "")
    answer = await press(harness, asha, listed, button_data(listed, listed.button_texts()[0]))
    assert answer is not None and answer["text"] == alert("resources/sent_private")
    by_stranger = await press(
        harness, stranger, listed, button_data(listed, listed.button_texts()[0])
    )
    assert by_stranger is not None
    assert by_stranger["text"] == alert("asks/pocs_only", command="/resources")
    assert harness.errors == []


async def test_recording_by_member_rejected(harness: SandboxHarness) -> None:
    _, asha, _ = await past_webinar(harness)

    reply = await say(harness, asha, "/recording")

    assert reply.html == render("common/facilitators_only")
    assert await resources(harness) == []
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        kinds = (await session.scalars(select(Broadcast.kind))).all()
        rows = (await session.scalars(select(OutboxMessage.id))).all()
    assert list(kinds) == ["webinar"]
    assert len(rows) >= 3
