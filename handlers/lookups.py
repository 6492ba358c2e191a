"""Registry lookups: /buyers WORDS and /schemes WORDS, a page of cards at a time."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms.base import clean_line
from bot.texts import LocalTexts
from handlers.callbacks import Lookup
from storage import registries, search
from storage.models import Community, Person, SavedQuery

log = logging.getLogger(__name__)
router = Router(name="lookups")
# Mid-form, a lookup command is answered by the form (finish or /cancel first).
router.message.filter(StateFilter(None))

PAGE_SIZE = 5
QUERY_MAX = 200
KINDS = ("buyers", "schemes")


@router.message(Command(*KINDS))
async def lookup(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
) -> None:
    kind = command.command.lower()
    # Control characters become spaces, because PostgreSQL rejects NUL in text.
    words = clean_line(command.args or "")[:QUERY_MAX]
    if not words:
        await message.reply(t(f"lookups/{kind}_usage"))
        return

    saved = SavedQuery(community_id=community.id, kind=kind, text=words)
    session.add(saved)
    await session.commit()
    text, markup = await render_page(session, community.id, saved, 0, t)
    await message.reply(text, reply_markup=markup)


@router.callback_query(Lookup.filter(F.action == "page"))
async def turn_page(
    callback: CallbackQuery,
    callback_data: Lookup,
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
) -> None:
    saved = await session.get(SavedQuery, callback_data.query_id)
    if saved is None or saved.community_id != community.id or callback_data.value < 0:
        await callback.answer(t.alert("lookups/expired"), show_alert=True)
        return
    await callback.answer()
    text, markup = await render_page(session, community.id, saved, callback_data.value, t)
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            # A double tap asks for the page already shown; Telegram rejects the identical edit.
            log.debug("page not changed: %s", error.message)


@router.callback_query(Lookup.filter(F.action == "open"))
async def open_entry(
    callback: CallbackQuery,
    callback_data: Lookup,
    session: AsyncSession,
    community: Community,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    saved = await session.get(SavedQuery, callback_data.query_id)
    if saved is None or saved.community_id != community.id:
        await callback.answer(t.alert("lookups/expired"), show_alert=True)
        return
    getter = registries.get_buyer if saved.kind == "buyers" else registries.get_scheme
    entry = await getter(session, community.id, callback_data.value)
    if entry is None:
        await callback.answer(t.alert("lookups/gone"), show_alert=True)
        return
    await callback.answer()

    message = callback.message
    if not isinstance(message, Message):
        return
    in_private = message.chat.type == "private"
    # Contacts are personal data: only approved members see them, and never in a group.
    show_contacts = in_private and (is_facilitator or person.status == "approved")
    template = "lookups/buyer_details" if saved.kind == "buyers" else "lookups/scheme_details"
    await message.answer(
        t(template, entry=entry, show_contacts=show_contacts, in_private=in_private, person=person),
        reply_to_message_id=message.message_id if not in_private else None,
    )


async def render_page(
    session: AsyncSession, community_id: int, saved: SavedQuery, page: int, t: LocalTexts
) -> tuple[str, InlineKeyboardMarkup | None]:
    finder = search.search_buyers if saved.kind == "buyers" else search.search_schemes
    result = await finder(
        session, community_id, saved.text, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    if result.total and page >= pages:
        page = pages - 1
        result = await finder(
            session, community_id, saved.text, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )

    text = t(
        f"lookups/{saved.kind}_page",
        result=result,
        words=saved.text,
        page=page,
        pages=pages,
        first=page * PAGE_SIZE + 1,
    )
    if not result.items:
        return text, None

    keyboard = InlineKeyboardBuilder()
    for number, entry in enumerate(result.items, start=page * PAGE_SIZE + 1):
        keyboard.button(
            text=str(number), callback_data=Lookup(action="open", query_id=saved.id, value=entry.id)
        )
    keyboard.adjust(PAGE_SIZE)
    navigation = []
    if page > 0:
        navigation.append(("previous", page - 1))
    if page + 1 < pages:
        navigation.append(("next", page + 1))
    if navigation:
        keyboard.row(
            *(
                InlineKeyboardButton(
                    text=t.label("lookups", key),
                    callback_data=Lookup(action="page", query_id=saved.id, value=target).pack(),
                )
                for key, target in navigation
            )
        )
    return text, keyboard.as_markup()
