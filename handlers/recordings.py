"""/recording: a facilitator sends a past webinar's recording to its audience and the resource list.

The form asks which webinar (the latest ones whose start has passed) and then for the
recording: a message with one or more links, or a document, video or audio file. On
Confirm the recording goes through the outbox to the webinar's audience as it resolves
now, with a delivery report, and becomes the webinar's entry in /resources. A message's
links all go out, in order, and the entry keeps the first as its `url` and the others as
its `extra_urls`. Sending a recording for the same webinar again replaces that entry.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Mapping
from typing import Any

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from markupsafe import Markup

from bot.forms import Choice, Form, MessageAnswer, MessageRef, Option
from bot.forms.engine import Confirmed, FormField
from bot.outbox import wake_senders
from bot.texts import LocalTexts, indian_date
from handlers.asks import form_context
from handlers.audience import count_note
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.webinars import queue_for_audience, start_text
from storage import audience as audience_store
from storage import outbox, resources
from storage import webinars as store
from storage.audience import AudienceSpec
from storage.db import as_utc
from storage.models import Community, Person, Webinar

log = logging.getLogger(__name__)
router = Router(name="recordings")
router.message.filter(StateFilter(None))

# How many of the latest webinars whose start has passed the form offers.
WEBINAR_CHOICES = 8
# Characters of a webinar's title on its button.
OPTION_TITLE_MAX = 40
# Message kinds a recording may have: text with a link, or a file of the other kinds.
RECORDING_KINDS = ("text", "document", "video", "audio")
# Links of a text recording that go out, in the order of the message. Each takes at
# most about 85 characters of the message, which stays far under Telegram's 4096.
LINKS_SENT_MAX = 10
# Links that the /resources entry keeps: its url and two extra_urls. More would let a
# reply of handlers.resources.RESULTS_MAX entries pass Telegram's 4096 characters.
RESOURCE_LINKS_MAX = 3


def webinar_option(webinar: Webinar, timezone: str) -> Option:
    title = webinar.title
    if len(title) > OPTION_TITLE_MAX:
        title = title[: OPTION_TITLE_MAX - 1].rstrip() + "…"
    day = as_utc(webinar.starts_at).astimezone(zoneinfo.ZoneInfo(timezone)).date()
    return Option(
        key=f"w{webinar.id}",
        labels={
            "en": f"{title} · {indian_date(day, 'en')}",
            "hi": f"{title} · {indian_date(day, 'hi')}",
        },
        synonyms=(webinar.title,),
    )


async def build_recording(context: FormContext) -> Form:
    webinars = await store.past_webinars(
        context.session, context.community.id, context.now, limit=WEBINAR_CHOICES
    )
    # The command starts the form only when a past webinar exists, and a webinar whose
    # start has passed stays past, so `options` is never empty.
    options = tuple(webinar_option(webinar, context.community.timezone) for webinar in webinars)
    fields = (
        FormField(
            name="webinar", kind=Choice(options=options), question="webinars/recording/q_webinar"
        ),
        FormField(
            name="recording",
            kind=MessageAnswer(kinds=RECORDING_KINDS, link_required=True),
            question="webinars/recording/q_recording",
        ),
    )
    return Form(
        name="recording", fields=fields, summary="webinars/recording/title", ttl=context.form_ttl
    )


async def chosen_webinar(context: FormContext, key: Any) -> Webinar | None:
    if not isinstance(key, str) or not key.startswith("w") or not key[1:].isdigit():
        return None
    return await store.get_webinar(context.session, context.community.id, int(key[1:]))


async def recording_summary_note(context: FormContext, answers: Mapping[str, Any]) -> Markup | None:
    """Return the summary note: the recipient count, and a warning if a recording was sent."""
    webinar = await chosen_webinar(context, answers.get("webinar"))
    if webinar is None:
        return None
    spec = AudienceSpec.from_json(webinar.audience)
    audience = await audience_store.resolve(context.session, context.community.id, spec)
    notes = [count_note(context, audience)]
    if webinar.recording_broadcast_id is not None:
        notes.append(context.t("webinars/recording/sent_before"))
    return Markup("\n").join(notes)


async def save_recording(context: FormContext, confirmed: Confirmed) -> None:
    """Queue the recording for the webinar's audience and add it to the resource list."""
    if not context.is_facilitator:
        raise FormRejected("common/facilitators_only")
    webinar = await chosen_webinar(context, confirmed.answers_json.get("webinar"))
    if webinar is None:
        raise FormRejected("webinars/recording/webinar_gone")
    ref: MessageRef = confirmed.answers["recording"]
    spec = AudienceSpec.from_json(webinar.audience)
    audience = await audience_store.resolve(context.session, context.community.id, spec)

    links = ref.links[:LINKS_SENT_MAX] if ref.kind == "text" else ()
    if ref.kind == "text" and not links:
        # MessageAnswer(link_required=True) accepts no text without a link.
        raise FormRejected("webinars/recording/link_missing", keep=True)
    if len(ref.links) > RESOURCE_LINKS_MAX:
        log.info(
            "recording of webinar %s has %s links: the first %s are sent, %s kept in /resources",
            webinar.id,
            len(ref.links),
            len(links),
            RESOURCE_LINKS_MAX,
        )

    def recording(texts: LocalTexts) -> dict[str, Any]:
        if links:
            text = texts("webinars/recording/link_message", webinar=webinar, links=links)
            return outbox.text_payload(str(text), link_preview=True)
        caption = texts("webinars/recording/caption", webinar=webinar)
        return outbox.copy_payload(ref.chat_id, ref.message_id, caption=str(caption))

    # With nobody reachable there is nothing to send or report; the resource is still kept.
    broadcast = None
    if audience.recipients:
        broadcast = await queue_for_audience(
            context, audience, spec, kind="recording", title=webinar.title, payload_for=recording
        )
        webinar.recording_broadcast_id = broadcast.id
    # Set here, because the column's onupdate default would read the system clock.
    webinar.updated_at = context.now
    resource = await resources.save_recording(
        context.session,
        webinar,
        kind="link" if links else "file",
        url=links[0] if links else None,
        extra_urls=links[1:RESOURCE_LINKS_MAX],
        source_chat_id=None if links else ref.chat_id,
        source_message_id=None if links else ref.message_id,
        file_name=ref.file_name,
        added_by=context.person.telegram_id,
        now=context.now,
    )
    log.info(
        "recording of webinar %s (%s) sent by user %s to %s chats; resource %s",
        webinar.id,
        ref.kind,
        context.person.telegram_id,
        broadcast.recipients if broadcast else 0,
        resource.id,
    )
    text = context.t(
        "webinars/recording/saved",
        webinar=webinar,
        when=start_text(webinar.starts_at, context.community.timezone, context.locale),
        recipients=broadcast.recipients if broadcast else 0,
    )
    context.after_commit(wake_senders)
    context.after_commit(lambda: context.bot.send_message(context.chat_id, text))


RECORDING_FLOW = register_flow(
    FormFlow(
        name="recording",
        prompts="webinars/recording",
        command="/recording",
        build=build_recording,
        save=save_recording,
        summary_note=recording_summary_note,
    )
)


@router.message(Command("recording"))
async def recording_command(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, **data: Any
) -> None:
    if not data["is_facilitator"]:
        await message.reply(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        await message.reply(t("webinars/private_only", command="/recording"))
        return
    community: Community = data["community"]
    past = await store.past_webinars(data["session"], community.id, data["clock"].now(), limit=1)
    if not past:
        await message.reply(t("webinars/recording/none"))
        return
    await start_form(RECORDING_FLOW, message, state, form_context(message, person, t, data))
