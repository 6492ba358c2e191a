"""Broadcasts: /broadcast sends a facilitator's message to an audience, /broadcasts lists them.

The /broadcast form takes the message itself (text with formatting, a photo, a document,
a link), the audience and when to send. The bot later sends it on with copyMessage, so
formatting and media arrive as the facilitator sent them. Confirming writes one outbox
row per recipient chat. `bot.outbox.OutboxSender` sends the rows within Telegram's limits
and queues a delivery report to the facilitator when the last one is done.

/broadcasts lists the scheduled, running and latest broadcasts of the community, with
buttons to cancel a scheduled one, stop a running one, or show a finished one's report.
Both commands and every button are for facilitators in a private chat only. Each press
loads the broadcast again and checks the presser, the community and the status, because
callback data can be forged and a list can be older than the broadcast's last change.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from aiogram import Router
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.forms import Choice, DateTimeField, Form, MessageAnswer, MessageRef
from bot.forms.engine import Confirmed, FormField
from bot.outbox import OutboxSender, wake_senders
from bot.texts import LocalTexts
from handlers.asks import form_context
from handlers.audience import audience_fields, count_note, resolve_answers, spec_from_answers
from handlers.callbacks import RowId
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import button, facilitator_press
from storage import audience as audience_store
from storage import outbox as outbox_store
from storage.db import as_utc
from storage.models import Broadcast, Community, Person

log = logging.getLogger(__name__)
router = Router(name="broadcasts")
router.message.filter(StateFilter(None))

FORM_PROMPTS = "broadcasts/new"
# A scheduled broadcast may be at most this many days ahead.
SCHEDULE_DAYS_MAX = 365
# Broadcasts shown by /broadcasts, scheduled and running ones first. Ten items with
# 60-character titles stay far below Telegram's 4096-character message limit.
LIST_MAX = 10
# Statuses in which each button applies. "cancel" and "stop" only ask to confirm.
OP_STATUSES: dict[str, tuple[str, ...]] = {
    "cancel": ("scheduled",),
    "cancel_yes": ("scheduled",),
    "stop": ("sending",),
    "stop_yes": ("sending",),
    "report": ("done", "stopped"),
    "keep": ("scheduled", "sending", "done", "cancelled", "stopped"),
}
# The list button of a broadcast in each status; cancelled ones have none.
LIST_OPS = {"scheduled": "cancel", "sending": "stop", "done": "report", "stopped": "report"}
# Part of Telegram's error description for an edit that changes nothing.
NOT_MODIFIED = "message is not modified"


class BroadcastButton(CallbackData, prefix="bc1"):
    # cancel or stop (each asks to confirm), cancel_yes, stop_yes, keep (back to the
    # list), report (sends the delivery report of a finished broadcast).
    op: str
    broadcast_id: RowId


# --- The /broadcast form ------------------------------------------------------------------


def message_field() -> MessageAnswer:
    return MessageAnswer()


def schedule_field(context: FormContext) -> DateTimeField:
    return DateTimeField(
        timezone=context.community.timezone,
        earliest=context.now,
        latest_days=SCHEDULE_DAYS_MAX,
    )


def _scheduled(answers: Mapping[str, Any]) -> bool:
    return answers.get("when") == "later"


async def build_broadcast(context: FormContext) -> Form:
    fields = (
        FormField(name="message", kind=message_field(), question=f"{FORM_PROMPTS}/q_message"),
        *await audience_fields(context),
        FormField(
            name="when",
            kind=Choice(options=context.options(FORM_PROMPTS, ("now", "later"))),
            question=f"{FORM_PROMPTS}/q_when",
        ),
        FormField(
            name="send_at",
            kind=schedule_field(context),
            question=f"{FORM_PROMPTS}/q_send_at",
            condition=_scheduled,
        ),
    )
    return Form(
        name="broadcast", fields=fields, summary=f"{FORM_PROMPTS}/title", ttl=context.form_ttl
    )


def local_time(community: Community, value: dt.datetime, locale: str) -> tuple[str, str]:
    """Return a time as "Tue 15 Dec 2026, 10:30" in the community's zone, and the zone's abbreviation."""
    zone = zoneinfo.ZoneInfo(community.timezone)
    moment = as_utc(value)
    formatted = DateTimeField(timezone=community.timezone, latest_days=None).display(moment, locale)
    return formatted, moment.astimezone(zone).tzname() or community.timezone


# Source messages that a broadcast's summary copied as a preview, kept per Bot session
# (one per running bot) and lost on a restart, which costs one repeated preview at most.
PREVIEW_MEMORY = 1000


@dataclass
class PreviewMemory:
    # The message last previewed in each facilitator's chat, so that a sticker or a stray
    # word at the summary does not copy the same preview again.
    previewed: OrderedDict[int, int] = field(default_factory=OrderedDict)
    # Messages Telegram refused to copy (deleted), as (chat id, message id): a broadcast
    # of one would fail in every chat, so Confirm is rejected until it is replaced.
    uncopyable: set[tuple[int, int]] = field(default_factory=set)


_preview_memory: WeakKeyDictionary[BaseSession, PreviewMemory] = WeakKeyDictionary()


def preview_memory(context: FormContext) -> PreviewMemory:
    return _preview_memory.setdefault(context.bot.session, PreviewMemory())


async def summary_note(context: FormContext, answers: Mapping[str, Any]) -> Markup:
    """Copy the message back to the facilitator as a preview; return the recipient count.

    Runs every time the summary is shown, so the count is current. The preview is copied
    once per message, and one that cannot be copied (the facilitator deleted their
    message) is reported in the note.
    """
    preview_failed = False
    memory = preview_memory(context)
    stored = answers.get("message")
    if stored is not None:
        ref = message_field().from_json(stored)
        source = (ref.chat_id, ref.message_id)
        if source in memory.uncopyable:
            preview_failed = True
        elif memory.previewed.get(context.chat_id) != ref.message_id:
            try:
                await context.bot.copy_message(
                    chat_id=context.chat_id, from_chat_id=ref.chat_id, message_id=ref.message_id
                )
            except TelegramAPIError as error:
                preview_failed = True
                # Only a 400 says the message itself is gone; a network error or a flood
                # limit says nothing about it.
                if isinstance(error, TelegramBadRequest):
                    memory.uncopyable.add(source)
                log.warning(
                    "broadcast preview of message %s for person %s not copied: %s",
                    ref.message_id,
                    context.person.id,
                    error.message,
                )
            else:
                memory.previewed[context.chat_id] = ref.message_id
                memory.previewed.move_to_end(context.chat_id)
                while len(memory.previewed) > PREVIEW_MEMORY:
                    memory.previewed.popitem(last=False)
    audience = await resolve_answers(context, answers)
    when = zone = None
    if _scheduled(answers) and answers.get("send_at") is not None:
        send_at = schedule_field(context).from_json(answers["send_at"])
        when, zone = local_time(context.community, send_at, context.locale)
    return context.t(
        f"{FORM_PROMPTS}/summary_note",
        count=count_note(context, audience),
        preview_failed=preview_failed,
        when=when,
        zone=zone,
    )


async def save_broadcast(context: FormContext, confirmed: Confirmed) -> None:
    """Queue the broadcast for the audience as it is now; the runner commits.

    The audience is resolved again, because PoCs and groups may have changed since the
    summary was shown, and a time typed long before Confirm may have passed meanwhile.
    """
    if not context.is_facilitator:
        raise FormRejected("common/facilitators_only")
    answers = confirmed.answers
    ref: MessageRef = answers["message"]
    if (ref.chat_id, ref.message_id) in preview_memory(context).uncopyable:
        raise FormRejected("broadcasts/uncopyable", keep=True)
    spec = spec_from_answers(confirmed.answers_json)
    audience = await audience_store.resolve(context.session, context.community.id, spec)
    if not audience.recipients:
        raise FormRejected("broadcasts/no_recipients", keep=True)
    send_at: dt.datetime | None = answers.get("send_at") if _scheduled(answers) else None
    if send_at is not None and send_at <= context.now:
        when, zone = local_time(context.community, send_at, context.locale)
        raise FormRejected("broadcasts/send_at_past", keep=True, when=when, zone=zone)

    broadcast = await outbox_store.create_broadcast(
        context.session,
        community_id=context.community.id,
        recipients=audience.recipients,
        payload=outbox_store.copy_payload(ref.chat_id, ref.message_id),
        # SQLite keeps times without their zone, so every stored time is in UTC.
        send_at=(send_at or context.now).astimezone(dt.UTC),
        now=context.now,
        kind="broadcast",
        title=message_field().display(ref, context.locale),
        audience=spec.to_json(),
        created_by=context.person.telegram_id,
        report_chat_id=context.chat_id,
        report_locale=context.locale,
        unreachable=len(audience.unreachable),
    )
    log.info(
        "broadcast %s by user %s: %s recipients, %s",
        broadcast.id,
        context.person.telegram_id,
        broadcast.recipients,
        f"scheduled for {send_at.isoformat()}" if send_at else "sending now",
    )
    if send_at is None:
        text = context.t("broadcasts/sending", count=broadcast.recipients)
    else:
        when, zone = local_time(context.community, send_at, context.locale)
        text = context.t("broadcasts/scheduled", count=broadcast.recipients, when=when, zone=zone)

    async def confirm() -> None:
        await context.bot.send_message(context.chat_id, text)

    context.after_commit(wake_senders)
    context.after_commit(confirm)


BROADCAST_FLOW = register_flow(
    FormFlow(
        name="broadcast",
        prompts=FORM_PROMPTS,
        command="/broadcast",
        build=build_broadcast,
        save=save_broadcast,
        summary_note=summary_note,
    )
)


def rejection(message: Message, is_facilitator: bool) -> str | None:
    """Return the template that rejects /broadcast or /broadcasts here, or None if allowed."""
    if not is_facilitator:
        return "common/facilitators_only"
    if message.chat.type != "private":
        return "broadcasts/private_only"
    return None


@router.message(Command("broadcast"))
async def new_broadcast(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, **data: Any
) -> None:
    rejected = rejection(message, data["is_facilitator"])
    if rejected is not None:
        log.info("/broadcast of user %s rejected: %s", person.telegram_id, rejected)
        await message.reply(t(rejected, command="/broadcast"))
        return
    community: Community = data["community"]
    # The date and time question names the zone that typed times are read in.
    context = form_context(message, person, t, data, timezone=community.timezone)
    await start_form(BROADCAST_FLOW, message, state, context)


# --- The /broadcasts list -------------------------------------------------------------------


@dataclass
class ListedBroadcast:
    """One broadcast as the list template shows it; `when` is its send time in the community's zone."""

    number: int
    id: int
    kind: str
    status: str
    status_label: str
    title: str
    recipients: int
    counts: outbox_store.DeliveryCounts
    when: str
    zone: str


async def render_list(
    session: AsyncSession, community: Community, t: LocalTexts
) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """Render the scheduled, running and latest broadcasts with a button for each."""
    found = await outbox_store.recent_broadcasts(session, community.id, limit=LIST_MAX)
    items: list[ListedBroadcast] = []
    for number, broadcast in enumerate(found[:LIST_MAX], start=1):
        when, zone = local_time(community, broadcast.send_at, t.locale)
        items.append(
            ListedBroadcast(
                number=number,
                id=broadcast.id,
                kind=broadcast.kind,
                status=broadcast.status,
                status_label=t.label("broadcasts", f"status_{broadcast.status}"),
                title=broadcast.title,
                recipients=broadcast.recipients,
                counts=await outbox_store.delivery_counts(session, broadcast.id),
                when=when,
                zone=zone,
            )
        )
    text = t("broadcasts/list", items=items, hidden=max(0, len(found) - LIST_MAX))
    buttons = [
        button(
            t.label("broadcasts", LIST_OPS[item.status], number=item.number),
            BroadcastButton(op=LIST_OPS[item.status], broadcast_id=item.id),
        )
        for item in items
        if item.status in LIST_OPS
    ]
    rows = [buttons[index : index + 3] for index in range(0, len(buttons), 3)]
    return text, InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


@router.message(Command("broadcasts"))
async def list_broadcasts(
    message: Message,
    session: AsyncSession,
    community: Community,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    rejected = rejection(message, is_facilitator)
    if rejected is not None:
        log.info("/broadcasts of user %s rejected: %s", person.telegram_id, rejected)
        await message.reply(t(rejected, command="/broadcasts"))
        return
    text, keyboard = await render_list(session, community, t)
    await message.answer(text, reply_markup=keyboard)


async def edit(message: Message, text: Markup, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramAPIError as error:
        if NOT_MODIFIED in error.message:
            log.debug("broadcast message %s unchanged", message.message_id)
        else:
            log.warning("broadcast message %s not edited: %s", message.message_id, error.message)


@router.callback_query(BroadcastButton.filter())
async def broadcast_pressed(
    callback: CallbackQuery,
    callback_data: BroadcastButton,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Clock,
    outbox: OutboxSender,
) -> None:
    op = callback_data.op
    user_id = callback.from_user.id
    message = await facilitator_press(
        callback,
        known=op in OP_STATUSES,
        is_facilitator=is_facilitator,
        t=t,
        private_alert="broadcasts/private_only_alert",
        subject="broadcast",
    )
    if message is None:
        return
    broadcast = await session.get(Broadcast, callback_data.broadcast_id)
    if broadcast is None or broadcast.community_id != community.id:
        log.warning(
            "user %s pressed %s on broadcast %s, which is not in community %s",
            user_id,
            op,
            callback_data.broadcast_id,
            community.id,
        )
        await callback.answer(t.alert("broadcasts/gone"), show_alert=True)
        return
    if broadcast.status not in OP_STATUSES[op]:
        # A double tap, or a list older than the broadcast's last change.
        await status_changed(callback, message, session, community, t, broadcast)
        return

    if op == "keep":
        await callback.answer()
        await edit(message, *await render_list(session, community, t))
    elif op == "report":
        await callback.answer()
        counts = await outbox_store.delivery_counts(session, broadcast.id)
        await message.answer(t("broadcasts/report", broadcast=broadcast, counts=counts))
    elif op in ("cancel", "stop"):
        await callback.answer()
        counts = await outbox_store.delivery_counts(session, broadcast.id)
        await ask_to_confirm(message, t, community, broadcast, counts, op)
    else:
        await stop(callback, message, session, community, t, broadcast.id, clock.now(), outbox)


async def status_changed(
    callback: CallbackQuery,
    message: Message,
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    broadcast: Broadcast,
) -> None:
    """Tell the presser that the button no longer fits the broadcast's status; show the list again."""
    status = t.label("broadcasts", f"status_{broadcast.status}")
    await callback.answer(t.alert("broadcasts/changed", status=status), show_alert=True)
    await edit(message, *await render_list(session, community, t))


async def ask_to_confirm(
    message: Message,
    t: LocalTexts,
    community: Community,
    broadcast: Broadcast,
    counts: outbox_store.DeliveryCounts,
    op: str,
) -> None:
    """Turn the list into a question: cancel or stop this broadcast, or keep it."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("broadcasts", f"{op}_yes"),
                    BroadcastButton(op=f"{op}_yes", broadcast_id=broadcast.id),
                ),
                button(
                    t.label("broadcasts", "keep"),
                    BroadcastButton(op="keep", broadcast_id=broadcast.id),
                ),
            ]
        ]
    )
    when, zone = local_time(community, broadcast.send_at, t.locale)
    text = t(
        f"broadcasts/confirm_{op}",
        broadcast=broadcast,
        counts=counts,
        when=when,
        zone=zone,
    )
    await edit(message, text, keyboard)


async def stop(
    callback: CallbackQuery,
    message: Message,
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    broadcast_id: int,
    now: dt.datetime,
    outbox: OutboxSender,
) -> None:
    """Cancel a scheduled broadcast or stop a running one, and tell how far it got.

    The sender reports a broadcast only when it finishes, which a stopped one never
    does, so its report is queued here in the same transaction as the stop.
    """
    stopped = await outbox_store.stop_broadcast(
        session, broadcast_id, by=callback.from_user.id, now=now
    )
    if stopped is None:
        # It finished, or another facilitator stopped it, since the status was read.
        await session.rollback()
        current = await session.get(Broadcast, broadcast_id, populate_existing=True)
        if current is None:
            await callback.answer(t.alert("broadcasts/gone"), show_alert=True)
            return
        await status_changed(callback, message, session, community, t, current)
        return
    counts = await outbox_store.delivery_counts(session, broadcast_id)
    if stopped.status == "stopped":
        await outbox.queue_report(session, stopped, counts, now)
    await session.commit()
    outbox.wake()
    log.info(
        "broadcast %s %s by user %s: %s sent, %s cancelled, %s in flight",
        broadcast_id,
        stopped.status,
        callback.from_user.id,
        counts.sent,
        counts.cancelled,
        counts.pending,
    )
    await callback.answer()
    await edit(message, t(f"broadcasts/{stopped.status}", broadcast=stopped, counts=counts), None)
