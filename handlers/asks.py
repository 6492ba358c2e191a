"""Asks and gives: /ask and /give file what a BSO needs or offers, under a theme."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LOCALES
from bot.forms import CommodityList, Form, LongText, ShortText, StateList, YesNo
from bot.forms.choices import Choice, MultiChoice, Option
from bot.forms.engine import Confirmed, FormField
from bot.texts import LocalTexts
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.themes import theme_labels
from storage import asks as asks_store
from storage import themes as theme_store
from storage.models import Contribution, GroupChat, Person, Theme

log = logging.getLogger(__name__)
router = Router(name="asks")
router.message.filter(StateFilter(None))

KINDS = asks_store.KINDS
URGENCIES = ("high", "medium", "low")
# What kind of help fits an ask, and what a BSO can offer in a give.
HELP_KINDS = ("peer", "workshop", "webinar", "expert")
OFFER_KINDS = ("tool", "visit", "training", "buyers", "expertise")
STATUSES = asks_store.STATUSES
TITLE_MAX = 120
DESCRIPTION_MAX = 1500
LIST_MAX = 10


def theme_option(theme: Theme, texts_label: Any) -> Option:
    """An option for a theme: a default theme has a translated label, a typed one its name."""
    if theme.key:
        labels = {locale: texts_label(locale, "themes", theme.key) for locale in LOCALES}
        return Option(key=f"t{theme.id}", labels=labels, synonyms=(theme.name,))
    return Option(key=f"t{theme.id}", labels={"en": theme.name})


async def theme_options(context: FormContext) -> tuple[Option, ...]:
    """The community's active themes, plus the theme of the record being edited if it was replaced."""
    listed = list(await theme_store.active_themes(context.session, context.community.id))
    editing = context.extra.get("theme_id")
    if isinstance(editing, int) and all(theme.id != editing for theme in listed):
        theme = await context.session.get(Theme, editing)
        if theme is not None and theme.community_id == context.community.id:
            listed.append(theme)
    return tuple(theme_option(theme, context.texts.label) for theme in listed)


def build_fields(
    kind: str, themes: tuple[Option, ...], context: FormContext
) -> tuple[FormField, ...]:
    prompts = f"asks/{kind}"
    fields = [
        FormField(name="theme", kind=Choice(options=themes), question=f"{prompts}/q_theme"),
        FormField(
            name="title",
            kind=ShortText(max_length=TITLE_MAX, min_length=3),
            question=f"{prompts}/q_title",
        ),
        FormField(
            name="description",
            kind=LongText(max_length=DESCRIPTION_MAX, min_length=3),
            question=f"{prompts}/q_description",
        ),
        FormField(
            name="commodities",
            kind=CommodityList(max_count=LIST_MAX),
            question="asks/q_commodities",
            optional=True,
        ),
        FormField(
            name="states",
            kind=StateList(max_count=LIST_MAX),
            question="asks/q_states",
            optional=True,
        ),
    ]
    if kind == "ask":
        fields += [
            FormField(
                name="urgency",
                kind=Choice(options=context.options("asks", URGENCIES)),
                question="asks/ask/q_urgency",
            ),
            FormField(
                name="help_kinds",
                kind=MultiChoice(options=context.options("asks", HELP_KINDS)),
                question="asks/ask/q_help_kinds",
            ),
        ]
    else:
        fields.append(
            FormField(
                name="help_kinds",
                kind=MultiChoice(options=context.options("asks", OFFER_KINDS)),
                question="asks/give/q_help_kinds",
            )
        )
    fields.append(FormField(name="private", kind=YesNo(), question=f"{prompts}/q_private"))
    return tuple(fields)


def make_flow(kind: str) -> FormFlow:
    async def build(context: FormContext) -> Form:
        themes = await theme_options(context)
        return Form(
            name=kind,
            fields=build_fields(kind, themes, context),
            summary=f"asks/{kind}/title",
            ttl=context.form_ttl,
        )

    async def save(context: FormContext, confirmed: Confirmed) -> None:
        await save_contribution(context, kind, confirmed.answers)

    return register_flow(
        FormFlow(name=kind, prompts=f"asks/{kind}", command=f"/{kind}", build=build, save=save)
    )


ASK_FLOW = make_flow("ask")
GIVE_FLOW = make_flow("give")


# --- Commands -------------------------------------------------------------------------------


@router.message(Command(*KINDS))
async def start(
    message: Message,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    kind = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
    refusal = poc_refusal(person)
    if refusal is not None:
        await message.reply(t(refusal, command=f"/{kind}"))
        return
    context = form_context(message, person, t, data)
    await start_form(ASK_FLOW if kind == "ask" else GIVE_FLOW, message, state, context)


def poc_refusal(person: Person) -> str | None:
    """Return the template explaining why `person` cannot file for a BSO, or None if they can."""
    if person.status == "pending":
        return "asks/pending_only"
    if person.status != "approved" or person.bso_id is None:
        return "asks/pocs_only"
    return None


def form_context(
    message: Message, person: Person, t: LocalTexts, data: dict[str, Any], **extra: Any
) -> FormContext:
    return FormContext(
        session=data["session"],
        bot=data["bot"],
        settings=data["settings"],
        texts=data["texts"],
        t=t,
        community=data["community"],
        person=person,
        is_facilitator=data["is_facilitator"],
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        now=data["clock"].now(),
        extra=dict(extra),
    )


# --- Saving ---------------------------------------------------------------------------------


async def save_contribution(context: FormContext, kind: str, answers: Any) -> Contribution:
    """Create the ask or give, or update the one named by extra["edit_id"]; announce new ones."""
    session = context.session
    person = await session.get(Person, context.person.id)
    if person is None or poc_refusal(person) is not None:
        raise FormRejected("asks/pocs_only", command=f"/{kind}")
    assert person.bso_id is not None

    theme_id = int(str(answers["theme"]).removeprefix("t"))
    theme = await session.get(Theme, theme_id)
    if theme is None or theme.community_id != person.community_id:
        raise FormRejected("asks/theme_gone", keep=True)

    edit_id = context.extra.get("edit_id")
    if isinstance(edit_id, int):
        entry = await session.get(Contribution, edit_id)
        if entry is None or entry.bso_id != person.bso_id or entry.status == "withdrawn":
            raise FormRejected("asks/gone")
    else:
        entry = Contribution(
            community_id=person.community_id, bso_id=person.bso_id, person_id=person.id, kind=kind
        )
        # Set by the progress check-in when its "support needed" answer becomes this ask.
        report_id = context.extra.get("progress_report_id")
        if kind == "ask" and isinstance(report_id, int):
            entry.progress_report_id = report_id
        session.add(entry)

    entry.theme_id = theme.id
    entry.title = answers["title"]
    entry.description = answers["description"]
    entry.commodities = list(answers.get("commodities") or [])
    entry.states = list(answers.get("states") or [])
    entry.urgency = answers.get("urgency") if kind == "ask" else None
    entry.help_kinds = list(answers.get("help_kinds") or [])
    entry.private = bool(answers["private"])
    await session.flush()
    await session.refresh(entry)
    log.info("%s %s %s by person %s", kind, entry.id, "updated" if edit_id else "filed", person.id)

    t = context.t
    confirmation = t(
        f"asks/{kind}/saved",
        entry=entry,
        theme=theme_labels(t, [theme])[0],
        edited=isinstance(edit_id, int),
    )
    bot, chat_id = context.bot, context.chat_id
    context.after_commit(lambda: bot.send_message(chat_id, confirmation))
    if not isinstance(edit_id, int) and not entry.private:
        await announce(context, entry)
    return entry


async def cop_groups(session: AsyncSession, community_id: int) -> Sequence[GroupChat]:
    return (
        await session.scalars(
            select(GroupChat).where(
                GroupChat.community_id == community_id,
                GroupChat.kind == "cop",
                GroupChat.active.is_(True),
            )
        )
    ).all()


async def announce(context: FormContext, entry: Contribution) -> None:
    """Post a short note of a new ask or give in the community's CoP-wide groups, after commit.

    The group's messages are in the community's default language.
    TODO: send through the outbox once it exists, so a flood limit delays rather than drops.
    """
    group_texts = context.texts.bind(None)
    theme = theme_labels(group_texts, [entry.theme])[0]
    text = group_texts(f"asks/{entry.kind}/announce", entry=entry, theme=theme)
    chat_ids = [
        group.telegram_chat_id
        for group in await cop_groups(context.session, entry.community_id)
        if group.telegram_chat_id != context.chat_id
    ]
    bot, kind, entry_id = context.bot, entry.kind, entry.id

    async def post() -> None:
        for chat_id in chat_ids:
            try:
                await bot.send_message(chat_id, text)
            except TelegramAPIError as error:
                log.warning(
                    "%s %s not announced in group %s: %s", kind, entry_id, chat_id, error.message
                )

    context.after_commit(post)


# --- Editing and showing saved entries --------------------------------------------------------


def flow_for(kind: str) -> FormFlow:
    return ASK_FLOW if kind == "ask" else GIVE_FLOW


def entry_answers(entry: Contribution) -> dict[str, Any]:
    """Convert the entry to `Field.to_json` values of its form's fields, to prefill an edit.

    An empty list of commodities or states is a skipped optional field (None).
    """
    answers: dict[str, Any] = {
        "theme": f"t{entry.theme_id}",
        "title": entry.title,
        "description": entry.description,
        "commodities": list(entry.commodities) or None,
        "states": list(entry.states) or None,
        "help_kinds": list(entry.help_kinds),
        "private": entry.private,
    }
    if entry.kind == "ask":
        answers["urgency"] = entry.urgency
    return answers


def local_date(value: dt.datetime, timezone: str) -> dt.date:
    """Return the date of a stored time in the community's time zone.

    SQLite returns stored times without an offset, and they were written in UTC.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(zoneinfo.ZoneInfo(timezone)).date()


@dataclass(frozen=True)
class EntryView:
    """An ask or give with every value a template shows, in the reader's language."""

    entry: Contribution
    kind: str
    status: str
    theme: str
    theme_active: bool
    urgency: str | None
    help_kinds: list[str]
    filed_on: dt.date
    changed_on: dt.date | None
    filer: str | None


def option_label(t: LocalTexts, key: str) -> str:
    """Label an urgency or a kind of help. A key the form no longer offers is shown as stored."""
    if key in URGENCIES or key in HELP_KINDS or key in OFFER_KINDS:
        return t.label("asks", key)
    return key


def entry_view(
    t: LocalTexts, entry: Contribution, timezone: str, filer: str | None = None
) -> EntryView:
    filed_on = local_date(entry.created_at, timezone)
    changed_on = local_date(entry.updated_at, timezone)
    return EntryView(
        entry=entry,
        kind=t.label("asks", f"kind_{entry.kind}"),
        status=t.label("asks", f"status_{entry.status}"),
        theme=theme_labels(t, [entry.theme])[0],
        theme_active=entry.theme.active,
        urgency=option_label(t, entry.urgency) if entry.urgency else None,
        help_kinds=[option_label(t, key) for key in entry.help_kinds],
        filed_on=filed_on,
        changed_on=changed_on if changed_on != filed_on else None,
        filer=filer,
    )
