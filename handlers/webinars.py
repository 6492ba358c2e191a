"""Webinars: /webinar announces one, its buttons collect RSVPs, and reminders go to those attending.

A facilitator fills the /webinar form in private chat. On Confirm the webinar is stored
and its announcement, with the buttons "I'll attend" and "Can't make it", is queued in
the outbox for the chosen audience: groups get it in the community's default language
and PoCs in their own. Anyone who can see the announcement may press a button. Each
Telegram user has one RSVP, and a second press changes it. `/webinar list` shows the
facilitator the RSVP counts and which reminders went out.

The reminders (24 hours and 1 hour before the start) are queued by the ticker that
`reminder_ticker` returns, which the outbox sender runs; `storage.webinars` decides
which reminders are due.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.forms import DateTimeField, Form, LinkField, LongText, ShortText
from bot.forms.engine import Confirmed, FormField
from bot.outbox import wake_senders
from bot.scheduler import Ticker
from bot.texts import LocalTexts, Texts
from handlers.asks import form_context
from handlers.audience import audience_fields, count_note, resolve_answers, spec_from_answers
from handlers.callbacks import RowId
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import button
from storage import jobs as job_store
from storage import outbox
from storage import webinars as store
from storage.audience import Audience, AudienceSpec
from storage.db import as_utc
from storage.models import Broadcast, Community, Person, Webinar

log = logging.getLogger(__name__)
router = Router(name="webinars")
router.message.filter(StateFilter(None))

TITLE_MIN = 3
TITLE_MAX = 150
DESCRIPTION_MAX = 1000
# /webinar list shows webinars that started up to this many days ago, and all later ones.
LIST_PAST_DAYS = 7
LIST_MAX = 10
# Words after /webinar that show the list instead of starting the form.
LIST_WORDS = ("list", "सूची")


class RsvpButton(CallbackData, prefix="wv1"):
    # answer is "yes" (I'll attend) or "no" (Can't make it).
    webinar_id: RowId
    answer: str


def start_text(starts_at: dt.datetime, timezone: str, locale: str) -> str:
    """Format a start time as "Tue 15 Dec 2026, 16:00 IST", in the community's time zone."""
    field = DateTimeField(timezone=timezone)
    local = as_utc(starts_at).astimezone(field.zone)
    return f"{field.display(local, locale)} {local.tzname()}"


async def community_timezone(session: AsyncSession, webinar: Webinar) -> str:
    timezone = await session.scalar(
        select(Community.timezone).where(Community.id == webinar.community_id)
    )
    assert timezone is not None, "a webinar's community is deleted with it"
    return timezone


def rsvp_markup(texts: LocalTexts, webinar_id: int, answers: tuple[str, ...]) -> dict[str, Any]:
    """Return Bot API JSON of the RSVP buttons, for a payload that the outbox stores."""
    return {
        "inline_keyboard": [
            [
                {
                    "text": texts.label("webinars", answer),
                    "callback_data": RsvpButton(webinar_id=webinar_id, answer=answer).pack(),
                }
                for answer in answers
            ]
        ]
    }


# --- Sending to an audience ------------------------------------------------------------


async def queue_for_audience(
    context: FormContext,
    audience: Audience,
    spec: AudienceSpec,
    *,
    kind: str,
    title: str,
    payload_for: Callable[[LocalTexts], dict[str, Any]],
) -> Broadcast:
    """Queue one broadcast to the audience, with each chat's message in its language.

    Groups and topics get the community's default language, and each PoC their own.
    The facilitator in this chat gets the delivery report.
    """
    session = context.session
    default_locale = context.texts.locale_for(None)
    person_ids = [recipient.person_id for recipient in audience.recipients if recipient.person_id]
    locales: dict[int, str | None] = {}
    if person_ids:
        rows = await session.execute(
            select(Person.id, Person.locale).where(Person.id.in_(person_ids))
        )
        locales = {person_id: locale for person_id, locale in rows}
    by_locale: dict[str, list[outbox.Recipient]] = {}
    for recipient in audience.recipients:
        locale = default_locale
        if recipient.person_id is not None:
            locale = context.texts.locale_for(locales.get(recipient.person_id))
        by_locale.setdefault(locale, []).append(recipient)

    # create_broadcast marks a broadcast without rows done, so it gets the largest group
    # of recipients, and the other languages are added to it afterwards.
    ordered = sorted(by_locale.items(), key=lambda item: len(item[1]), reverse=True)
    first_locale, first_recipients = ordered[0] if ordered else (default_locale, [])
    broadcast = await outbox.create_broadcast(
        session,
        community_id=context.community.id,
        recipients=first_recipients,
        payload=payload_for(context.texts.bind(first_locale)),
        send_at=context.now,
        now=context.now,
        kind=kind,
        title=title,
        audience=spec.to_json(),
        created_by=context.person.telegram_id,
        report_chat_id=context.chat_id,
        report_locale=context.locale,
        unreachable=len(audience.unreachable),
    )
    for locale, recipients in ordered[1:]:
        broadcast.recipients += outbox.add_rows(
            session,
            community_id=context.community.id,
            recipients=recipients,
            payload=payload_for(context.texts.bind(locale)),
            not_before=broadcast.send_at,
            broadcast_id=broadcast.id,
        )
    await session.flush()
    return broadcast


# --- The /webinar form ----------------------------------------------------------------


async def build_webinar(context: FormContext) -> Form:
    fields = (
        FormField(
            name="title",
            kind=ShortText(min_length=TITLE_MIN, max_length=TITLE_MAX, letters_required=True),
            question="webinars/new/q_title",
        ),
        FormField(
            name="starts_at",
            kind=DateTimeField(timezone=context.community.timezone, earliest=context.now),
            question="webinars/new/q_starts_at",
        ),
        FormField(name="link", kind=LinkField(), question="webinars/new/q_link"),
        FormField(
            name="description",
            kind=LongText(max_length=DESCRIPTION_MAX),
            question="webinars/new/q_description",
            optional=True,
        ),
        *await audience_fields(context),
    )
    return Form(name="webinar", fields=fields, summary="webinars/new/title", ttl=context.form_ttl)


async def webinar_summary_note(context: FormContext, answers: Mapping[str, Any]) -> Markup:
    """Return the summary note: the chosen audience's recipient count and the reminder plan."""
    audience = await resolve_answers(context, answers)
    notes = [count_note(context, audience)]
    starts_at = answers.get("starts_at")
    if isinstance(starts_at, str):
        not_needed = store.reminders_not_needed(dt.datetime.fromisoformat(starts_at), context.now)
        notes.append(context.t("webinars/reminder_plan", not_needed=not_needed))
    return Markup("\n").join(notes)


async def save_webinar(context: FormContext, confirmed: Confirmed) -> None:
    """Store the webinar and queue its announcement, which the runner then commits.

    The confirmation goes out after the commit, so the facilitator is never told of a
    webinar that a failed commit lost.
    """
    if not context.is_facilitator:
        raise FormRejected("common/facilitators_only")
    answers = confirmed.answers
    starts_at: dt.datetime = answers["starts_at"]
    timezone = context.community.timezone
    if starts_at <= context.now:
        # The summary may be confirmed long after the time was typed.
        raise FormRejected(
            "webinars/start_past", keep=True, when=start_text(starts_at, timezone, context.locale)
        )
    spec = spec_from_answers(confirmed.answers_json)
    audience = await resolve_answers(context, confirmed.answers_json)
    if not audience.total:
        raise FormRejected("webinars/no_recipients", keep=True)

    webinar = await store.add_webinar(
        context.session,
        community_id=context.community.id,
        title=answers["title"],
        starts_at=starts_at,
        link=answers["link"],
        description=answers.get("description"),
        audience=spec.to_json(),
        created_by=context.person.telegram_id,
        now=context.now,
    )

    def announcement(texts: LocalTexts) -> dict[str, Any]:
        text = texts(
            "webinars/announcement",
            webinar=webinar,
            when=start_text(webinar.starts_at, timezone, texts.locale),
            upcoming=store.upcoming_reminders(webinar),
        )
        return outbox.text_payload(text, reply_markup=rsvp_markup(texts, webinar.id, store.ANSWERS))

    broadcast = await queue_for_audience(
        context, audience, spec, kind="webinar", title=webinar.title, payload_for=announcement
    )
    webinar.broadcast_id = broadcast.id
    # Set here, because the column's onupdate default would read the system clock.
    webinar.updated_at = context.now
    await context.session.flush()
    log.info(
        "webinar %s for %s saved by user %s; announcement %s to %s chats",
        webinar.id,
        webinar.starts_at.isoformat(),
        context.person.telegram_id,
        broadcast.id,
        broadcast.recipients,
    )
    text = context.t(
        "webinars/saved",
        webinar=webinar,
        when=start_text(webinar.starts_at, timezone, context.locale),
        recipients=broadcast.recipients,
        not_needed=store.reminders_not_needed(starts_at, context.now),
    )
    context.after_commit(wake_senders)
    context.after_commit(lambda: context.bot.send_message(context.chat_id, text))


NEW_FLOW = register_flow(
    FormFlow(
        name="webinar",
        prompts="webinars/new",
        command="/webinar",
        build=build_webinar,
        save=save_webinar,
        summary_note=webinar_summary_note,
    )
)


@router.message(Command("webinar"))
async def webinar_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    if not data["is_facilitator"]:
        await message.reply(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        await message.reply(t("webinars/private_only", command="/webinar"))
        return
    community: Community = data["community"]
    argument = (command.args or "").strip().casefold()
    if argument in LIST_WORDS:
        text = await render_list(data["session"], community, t, data["clock"].now())
        await message.answer(text)
        return
    if argument:
        await message.reply(t("webinars/usage"))
        return
    context = form_context(message, person, t, data, timezone=community.timezone)
    await start_form(NEW_FLOW, message, state, context)


# --- /webinar list ----------------------------------------------------------------------


@dataclass
class ListedWebinar:
    """One webinar as the list template shows it."""

    title: str
    when: str
    started: bool
    attending: int
    declined: int
    # Per reminder kind: "pending", or the number of people it was queued for (0 when it
    # was skipped, not needed, or nobody was attending).
    reminders: dict[str, str | int]
    recording_sent: bool


async def render_list(
    session: AsyncSession, community: Community, t: LocalTexts, now: dt.datetime
) -> Markup:
    """Render the webinars of the last LIST_PAST_DAYS days and later, with their RSVP counts."""
    since = now - dt.timedelta(days=LIST_PAST_DAYS)
    webinars = await store.webinars_around(session, community.id, since=since, limit=LIST_MAX)
    ids = [webinar.id for webinar in webinars]
    counts = await store.rsvp_counts(session, ids)
    queued = await store.reminders_queued(session, ids)
    items = []
    for webinar in webinars:
        reminders: dict[str, str | int] = {}
        # Reminders a late announcement made unnecessary are marked handled at creation.
        not_needed = store.reminders_not_needed(
            as_utc(webinar.starts_at), as_utc(webinar.created_at)
        )
        for kind, handled in (("day", webinar.reminded_day_at), ("hour", webinar.reminded_hour_at)):
            if handled is None:
                reminders[kind] = "pending"
            elif kind in not_needed:
                reminders[kind] = "not_needed"
            else:
                reminders[kind] = queued.get(f"{webinar.id}:{kind}", 0)
        items.append(
            ListedWebinar(
                title=webinar.title,
                when=start_text(webinar.starts_at, community.timezone, t.locale),
                started=as_utc(webinar.starts_at) <= now,
                attending=counts[webinar.id].attending,
                declined=counts[webinar.id].declined,
                reminders=reminders,
                recording_sent=webinar.recording_broadcast_id is not None,
            )
        )
    return t("webinars/list", items=items, days=LIST_PAST_DAYS)


# --- RSVP buttons -----------------------------------------------------------------------


@router.callback_query(RsvpButton.filter())
async def rsvp_pressed(
    callback: CallbackQuery,
    callback_data: RsvpButton,
    bot: Bot,
    session: AsyncSession,
    community: Community,
    person: Person | None,
    t: LocalTexts,
    clock: Clock,
) -> None:
    """Store the presser's RSVP and show the attending count in an alert.

    Anyone who can see the message may press. The webinar is loaded within the community
    of the chat the button is in, so a button with another community's webinar id, or a
    forged one, finds nothing. The one exception is a private chat, whose community is the
    presser's home community: there a webinar of another community is found if the
    presser has an RSVP for it already, as for the button under a reminder. A reminder's
    one button then turns into the opposite answer (see `offer_other_answer`).
    """
    user_id = callback.from_user.id
    if callback_data.answer not in store.ANSWERS:
        log.warning("RSVP of user %s rejected: invalid answer %r", user_id, callback_data.answer)
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    webinar = await store.get_webinar(session, community.id, callback_data.webinar_id)
    person_id = person.id if person is not None else None
    in_private = callback.message is not None and callback.message.chat.type == "private"
    if webinar is None and in_private:
        webinar = await store.webinar_answered_by(session, callback_data.webinar_id, user_id)
        # The presser's row in this chat's community is not theirs in the webinar's.
        person_id = None
    if webinar is None:
        log.warning(
            "RSVP of user %s rejected: webinar %s not found in community %s",
            user_id,
            callback_data.webinar_id,
            community.id,
        )
        await callback.answer(t.alert("webinars/rsvp_unknown"), show_alert=True)
        return
    now = clock.now()
    if as_utc(webinar.starts_at) <= now:
        await callback.answer(t.alert("webinars/rsvp_closed", title=webinar.title), show_alert=True)
        return

    previous = await store.set_rsvp(
        session,
        webinar,
        telegram_user_id=user_id,
        person_id=person_id,
        answer=callback_data.answer,
        now=now,
    )
    await session.commit()
    log.info(
        "RSVP %s of user %s to webinar %s stored (previous: %s)",
        callback_data.answer,
        user_id,
        webinar.id,
        previous,
    )
    counts = (await store.rsvp_counts(session, [webinar.id]))[webinar.id]
    reachable = await store.has_private_chat(session, user_id)
    timezone = await community_timezone(session, webinar)
    me = await bot.me()
    alert = t.alert(
        "webinars/rsvp_saved",
        answer=callback_data.answer,
        previous=previous,
        title=webinar.title,
        when=start_text(webinar.starts_at, timezone, t.locale),
        attending=counts.attending,
        reachable=reachable,
        upcoming=store.upcoming_reminders(webinar),
        bot_username=me.username or "",
    )
    await callback.answer(alert, show_alert=True)
    await offer_other_answer(callback, callback_data, t)


def pressed_reminder_button(callback: CallbackQuery) -> bool:
    """Tell whether the press came from the only button of a reminder in a private chat.

    An announcement has both answers and keeps them. Forged callback data differs from
    the button's own, so it never changes a reminder's button.
    """
    message = callback.message
    if not isinstance(message, Message) or message.chat.type != "private":
        return False
    if message.reply_markup is None:
        return False
    buttons = [found for row in message.reply_markup.inline_keyboard for found in row]
    return len(buttons) == 1 and buttons[0].callback_data == callback.data


async def offer_other_answer(
    callback: CallbackQuery, callback_data: RsvpButton, t: LocalTexts
) -> None:
    """Replace a reminder's button with the opposite answer, so the person can change their mind."""
    if not pressed_reminder_button(callback):
        return
    assert isinstance(callback.message, Message)
    other = "yes" if callback_data.answer == "no" else "no"
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("webinars", other),
                    RsvpButton(webinar_id=callback_data.webinar_id, answer=other),
                )
            ]
        ]
    )
    try:
        await callback.message.edit_reply_markup(reply_markup=markup)
    except TelegramAPIError as error:
        # The RSVP is stored already, and pressing the old button again stores it again.
        log.warning(
            "reminder %s of webinar %s keeps its button: %s",
            callback.message.message_id,
            callback_data.webinar_id,
            error.message,
        )


# --- Reminders --------------------------------------------------------------------------


def reminder_ticker(texts: Texts, holder: str) -> Ticker:
    """Return the scheduler ticker that queues the webinar reminders that came due.

    Each reminder is a run of the job "webinar_reminder" with the period
    "webinar:<id>:<kind>", claimed like every scheduled run, on top of the webinar's own
    flag; `holder` names the scheduler in that record.
    """

    async def queue_webinar_reminders(session: AsyncSession, now: dt.datetime) -> int:
        queued = 0
        for webinar in await store.webinars_with_due_reminders(session, now):
            starts_at = as_utc(webinar.starts_at)
            steps = store.reminder_steps(
                starts_at,
                now,
                day_done=webinar.reminded_day_at is not None,
                hour_done=webinar.reminded_hour_at is not None,
            )
            for step in steps:
                if not await store.claim_reminder(session, webinar.id, step.kind, now):
                    continue
                run = await job_store.claim_run(
                    session,
                    job="webinar_reminder",
                    community_id=webinar.community_id,
                    period=f"webinar:{webinar.id}:{step.kind}",
                    holder=holder,
                    now=now,
                )
                if run is None:
                    continue
                outcome = "done" if step.send else "skipped"
                await job_store.finish_run(session, run, outcome=outcome, now=now)
                if not step.send:
                    log.info(
                        "webinar %s: %s reminder skipped, too late at %s for a start at %s",
                        webinar.id,
                        step.kind,
                        now.isoformat(),
                        starts_at.isoformat(),
                    )
                    continue
                queued += await queue_reminders(session, texts, webinar, step.kind, now)
        return queued

    return queue_webinar_reminders


async def queue_reminders(
    session: AsyncSession,
    texts: Texts,
    webinar: Webinar,
    kind: store.ReminderKind,
    now: dt.datetime,
) -> int:
    """Queue one reminder per attending person with a private chat; return how many were added.

    A person without a private chat cannot get one, because a bot cannot start a chat.
    """
    timezone = await community_timezone(session, webinar)
    starts_at = as_utc(webinar.starts_at)
    minutes_left = math.ceil((starts_at - now).total_seconds() / 60)
    added = unreachable = 0
    for attendee in await store.attendees(session, webinar):
        if not attendee.reachable:
            unreachable += 1
            continue
        t = texts.bind(attendee.locale)
        text = t(
            "webinars/reminder",
            webinar=webinar,
            kind=kind,
            when=start_text(starts_at, timezone, t.locale),
            hours=round(minutes_left / 60),
            minutes=minutes_left,
        )
        payload = outbox.text_payload(text, reply_markup=rsvp_markup(t, webinar.id, ("no",)))
        if await outbox.add_unique(
            session,
            community_id=webinar.community_id,
            recipient=outbox.Recipient(attendee.telegram_user_id, person_id=attendee.person_id),
            payload=payload,
            not_before=now,
            dedup_key=store.reminder_dedup_key(webinar.id, kind, attendee.telegram_user_id),
        ):
            added += 1
    log.info(
        "webinar %s: %s reminder queued for %s people, %s without a private chat left out",
        webinar.id,
        kind,
        added,
        unreachable,
    )
    return added
