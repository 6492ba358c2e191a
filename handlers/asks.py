"""Asks and gives: /ask and /give file what a BSO needs or offers, under a theme."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LOCALES
from bot.forms import CommodityList, Form, LongText, ShortText, StateList, YesNo
from bot.forms.choices import Choice, MultiChoice, Option
from bot.forms.engine import Confirmed, FormField
from bot.outbox import wake_senders
from bot.texts import LocalTexts
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.themes import theme_labels
from storage import asks as asks_store
from storage import outbox as outbox_store
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


def answer_values(kind: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Convert confirmed answers to column values, shaped like `asks_store.entry_values`."""
    return {
        "theme": int(str(answers["theme"]).removeprefix("t")),
        "title": answers["title"],
        "description": answers["description"],
        "commodities": list(answers.get("commodities") or []),
        "states": list(answers.get("states") or []),
        "urgency": answers.get("urgency") if kind == "ask" else None,
        "help_kinds": list(answers.get("help_kinds") or []),
        "private": bool(answers["private"]),
    }


async def save_contribution(context: FormContext, kind: str, answers: Any) -> Contribution:
    """Create the ask or give, or update the one named by extra["edit_id"]; announce new ones.

    An edit writes only the fields it changed from extra["base"], the entry's values
    when the form started (see `asks_store.merge_edit`), and its confirmation reports
    any change someone else saved meanwhile.
    """
    session = context.session
    person = await session.get(Person, context.person.id)
    if person is None or poc_refusal(person) is not None:
        raise FormRejected("asks/pocs_only", command=f"/{kind}")
    assert person.bso_id is not None

    values = answer_values(kind, answers)
    merge: asks_store.EditMerge | None = None
    edit_id = context.extra.get("edit_id")
    if isinstance(edit_id, int):
        # On PostgreSQL the row lock makes a concurrent confirm of the same entry wait
        # until this one commits, so it merges against the values this one saved.
        # NOTE: SQLite ignores FOR UPDATE, so there a confirm committed between this read
        # and this write is overwritten without being reported.
        entry = await session.get(
            Contribution, edit_id, with_for_update=True, populate_existing=True
        )
        if entry is None or entry.bso_id != person.bso_id or entry.status == "withdrawn":
            raise FormRejected("asks/gone")
        base = context.extra.get("base")
        merge = asks_store.merge_edit(
            base if isinstance(base, dict) else None, asks_store.entry_values(entry), values
        )
        values = merge.values
    else:
        entry = Contribution(
            community_id=person.community_id, bso_id=person.bso_id, person_id=person.id, kind=kind
        )
        # Set by the progress check-in when its "support needed" answer becomes this ask.
        report_id = context.extra.get("progress_report_id")
        if kind == "ask" and isinstance(report_id, int):
            entry.progress_report_id = report_id

    theme = await session.get(Theme, values["theme"])
    if theme is None or theme.community_id != person.community_id:
        raise FormRejected("asks/theme_gone", keep=True)
    if merge is None:
        session.add(entry)
    asks_store.apply_values(entry, values)
    await session.flush()
    await session.refresh(entry)
    log.info(
        "%s %s %s by person %s",
        kind,
        entry.id,
        "updated" if merge is not None else "filed",
        person.id,
    )
    if merge is not None and merge.changed_meanwhile:
        log.info(
            "%s %s had changed meanwhile: kept %s, overwrote %s",
            kind,
            entry.id,
            ", ".join(merge.kept) or "nothing",
            ", ".join(merge.overwritten) or "nothing",
        )

    t = context.t
    theme_label = theme_labels(t, [theme])[0]
    notice = None
    queued = 0
    if merge is None and not entry.private:
        notice = await announcement(context, entry)
        queued = notice.queue(session, entry.community_id, context.now)
    conflict = await edit_conflict_note(session, t, entry, merge) if merge is not None else None
    bot, chat_id = context.bot, context.chat_id

    async def confirm() -> None:
        if queued:
            await wake_senders()
        text = t(
            f"asks/{kind}/saved",
            entry=entry,
            theme=theme_label,
            edited=merge is not None,
            group_note=notice.outcome(queued) if notice is not None else None,
            groups_told=queued,
        )
        if conflict is not None:
            text = Markup("\n\n").join([text, conflict])
        await bot.send_message(chat_id, text)

    context.after_commit(confirm)
    return entry


async def edit_conflict_note(
    session: AsyncSession, t: LocalTexts, entry: Contribution, merge: asks_store.EditMerge
) -> Markup | None:
    """Tell the editor which fields someone else changed while their edit form was open."""
    if not merge.changed_meanwhile:
        return None
    labels = f"asks/{entry.kind}"
    overwritten = [
        (t.label(labels, name), await field_text(session, t, name, value))
        for name, value in merge.overwritten.items()
    ]
    kept = [t.label(labels, name) for name in merge.kept]
    return t("asks/edit_conflict", overwritten=overwritten, kept=kept)


async def field_text(session: AsyncSession, t: LocalTexts, name: str, value: Any) -> str | None:
    """Format one stored field value in the reader's language, or return None for an empty one."""
    if name == "theme":
        theme = await session.get(Theme, value)
        return theme_labels(t, [theme])[0] if theme is not None else None
    if name == "private":
        return t.label("forms", "yes" if value else "no")
    if name == "urgency":
        return option_label(t, value) if value else None
    if name == "help_kinds":
        return ", ".join(option_label(t, key) for key in value) or None
    if isinstance(value, list):
        return ", ".join(value) or None
    return str(value) if value else None


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


@dataclass(frozen=True)
class Announcement:
    """The note of a new ask or give for the community's CoP-wide groups.

    `chat_ids` are the groups to post it in: every active CoP-wide group except the chat
    where the entry was filed, which sees the confirmation itself. The note goes through
    the outbox, because a workshop where every PoC files an ask at once would otherwise
    cross Telegram's limit of 20 messages a minute in one group.
    """

    text: str
    chat_ids: list[int]
    cop_group_exists: bool

    def queue(self, session: AsyncSession, community_id: int, now: dt.datetime) -> int:
        """Add the note to the outbox in the entry's transaction; return how many groups get it."""
        return outbox_store.add_rows(
            session,
            community_id=community_id,
            recipients=[
                outbox_store.Recipient(chat_id, is_group=True) for chat_id in self.chat_ids
            ],
            payload=outbox_store.text_payload(self.text),
            not_before=now,
        )

    def outcome(self, queued: int) -> str | None:
        """Return the confirmation's `group_note` once the note was queued for `queued` groups.

        "told": at least one group gets the note. "no_group": the community has no
        CoP-wide group. None, so the confirmation mentions no group: the only CoP-wide
        group is the chat where the entry was filed.
        """
        if queued:
            return "told"
        if not self.cop_group_exists:
            return "no_group"
        return None


async def announcement(context: FormContext, entry: Contribution) -> Announcement:
    """Prepare the note of a new entry; the groups read the community's default language."""
    group_texts = context.texts.bind(None)
    theme = theme_labels(group_texts, [entry.theme])[0]
    groups = await cop_groups(context.session, entry.community_id)
    return Announcement(
        text=group_texts(f"asks/{entry.kind}/announce", entry=entry, theme=theme),
        chat_ids=[
            group.telegram_chat_id for group in groups if group.telegram_chat_id != context.chat_id
        ],
        cop_group_exists=bool(groups),
    )


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
    # Whether the filer has since erased their data, so no name may be shown.
    filer_erased: bool


def option_label(t: LocalTexts, key: str) -> str:
    """Label an urgency or a kind of help. A key the form no longer offers is shown as stored."""
    if key in URGENCIES or key in HELP_KINDS or key in OFFER_KINDS:
        return t.label("asks", key)
    return key


def entry_view(
    t: LocalTexts,
    entry: Contribution,
    timezone: str,
    filers: Mapping[int, str | None] | None = None,
) -> EntryView:
    """Prepare the entry for a template, with its filer's name when `filers` is given.

    `filers` comes from `asks_store.filer_names`. A filer that it maps to None, or lacks
    because their row is gone, has erased their data.
    """
    filed_on = local_date(entry.created_at, timezone)
    changed_on = local_date(entry.updated_at, timezone)
    filer = None
    if filers is not None and entry.person_id is not None:
        filer = filers.get(entry.person_id)
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
        filer_erased=filers is not None and filer is None,
    )
