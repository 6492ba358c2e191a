"""/mine: a PoC's list of their BSO's asks and gives, to open, edit, mark addressed or withdraw.

Every PoC of a BSO sees and changes the same entries. Each button press loads the
presser again and checks that they are still an approved PoC and that the entry
belongs to their BSO, because callback data can be forged. A status change that was
already made (a double tap) changes nothing and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms.engine import FormState, parse_time
from bot.texts import LocalTexts
from handlers.asks import entry_answers, entry_view, flow_for, form_context, poc_refusal
from handlers.callbacks import MineAction
from handlers.forms import FORM_STATE, FormContext, start_form
from handlers.keyboards import button
from storage import asks as asks_store
from storage.models import Community, Contribution, Person

log = logging.getLogger(__name__)
router = Router(name="mine")

# Entries per page of the list. An entry takes at most about 250 characters (a
# 120-character title and a 40-character theme), so ten stay far below 4096.
PAGE_SIZE = 10
NUMBERS_PER_ROW = 5
# Buttons that change an entry's status, and the status each sets.
STATUS_ACTIONS = {"addressed": "addressed", "reopen": "open", "withdraw_yes": "withdrawn"}
ACTIONS = ("page", "open", "edit", "withdraw", "withdraw_keep", *STATUS_ACTIONS)


@router.message(Command("mine"), StateFilter(None))
async def show_mine(
    message: Message,
    session: AsyncSession,
    community: Community,
    person: Person,
    t: LocalTexts,
) -> None:
    if message.chat.type != "private":
        # The list contains the BSO's private entries, so it is never shown to a group.
        await message.reply(t("asks/mine/private_only"))
        return
    refusal = poc_refusal(person)
    if refusal is not None:
        await message.answer(t(refusal, command="/mine"))
        return
    text, keyboard = await render_list(session, community, person, t, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(MineAction.filter())
async def mine_button(
    callback: CallbackQuery, callback_data: MineAction, state: FSMContext, **data: Any
) -> None:
    t: LocalTexts = data["t"]
    session: AsyncSession = data["session"]
    community: Community = data["community"]
    person: Person | None = data.get("person")
    message = callback.message

    refusal = poc_refusal(person) if person is not None else "asks/pocs_only"
    if refusal is not None:
        log.info("/mine button of user %s rejected: %s", callback.from_user.id, refusal)
        await callback.answer(t.alert(refusal, command="/mine"), show_alert=True)
        return
    assert person is not None and person.bso_id is not None
    if not isinstance(message, Message) or message.chat.type != "private":
        await callback.answer(t.alert("asks/mine/private_only"), show_alert=True)
        return
    if callback_data.action not in ACTIONS:
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return

    if callback_data.action == "page":
        await callback.answer()
        text, keyboard = await render_list(session, community, person, t, callback_data.page)
        await show(message, text, keyboard)
        return

    entry = await asks_store.get_bso_entry(
        session, person.community_id, person.bso_id, callback_data.entry_id
    )
    if entry is None:
        log.warning(
            "person %s pressed %s on entry %s, which is not their BSO's",
            person.id,
            callback_data.action,
            callback_data.entry_id,
        )
        await callback.answer(t.alert("asks/mine/not_yours"), show_alert=True)
        return

    if callback_data.action in ("open", "withdraw_keep"):
        await callback.answer()
        await show_entry(message, session, community, entry, t, callback_data.page)
    elif callback_data.action == "edit":
        await edit_entry(callback, entry, state, data)
    elif callback_data.action in STATUS_ACTIONS:
        status = STATUS_ACTIONS[callback_data.action]
        await change_status(
            callback, session, community, person, entry, status, t, callback_data.page
        )
    elif callback_data.action == "withdraw":
        if not asks_store.can_change(entry, "withdrawn"):
            await refuse_unchanged(callback, entry, t)
            return
        await callback.answer()
        await show_entry(message, session, community, entry, t, callback_data.page, confirm=True)


async def edit_entry(
    callback: CallbackQuery, entry: Contribution, state: FSMContext, data: dict[str, Any]
) -> None:
    """Open the entry's form at its summary, where every answer has an edit button.

    The form keeps the entry's values as they are now in extra["base"], so that saving
    writes only what this editor changed (see `asks_store.merge_edit`).
    """
    t: LocalTexts = data["t"]
    person: Person = data["person"]
    if entry.status == "withdrawn":
        await callback.answer(t.alert("asks/mine/no_edit_withdrawn"), show_alert=True)
        return
    message = callback.message
    assert isinstance(message, Message)
    context = form_context(
        message,
        person,
        t,
        data,
        edit_id=entry.id,
        theme_id=entry.theme_id,
        base=asks_store.entry_values(entry),
    )
    if await state.get_state() == FORM_STATE and edits_entry(
        await state.get_data(), entry.id, context
    ):
        # A second tap on Edit: the form from the first tap is open already.
        await callback.answer(t.alert("asks/mine/already_editing"), show_alert=True)
        return
    await callback.answer()
    log.info("person %s edits %s %s", person.id, entry.kind, entry.id)
    await start_form(flow_for(entry.kind), message, state, context, answers=entry_answers(entry))


def edits_entry(stored: Mapping[str, Any], entry_id: int, context: FormContext) -> bool:
    """Tell whether the stored form edits this entry and can still be confirmed.

    A confirmed form, or one untouched for longer than FORM_TTL_HOURS, is over.
    """
    extra = stored.get("extra")
    if not isinstance(extra, dict) or extra.get("edit_id") != entry_id:
        return False
    try:
        form = FormState.from_json(stored.get("form"))
        touched = parse_time(form.touched_at)
    except (TypeError, ValueError):
        return False
    return form.status == "active" and context.now - touched <= context.form_ttl


async def change_status(
    callback: CallbackQuery,
    session: AsyncSession,
    community: Community,
    person: Person,
    entry: Contribution,
    status: str,
    t: LocalTexts,
    page: int,
) -> None:
    """Mark the entry addressed, reopen it or withdraw it, then show it again."""
    if not asks_store.set_status(entry, status):
        await refuse_unchanged(callback, entry, t)
        return
    await session.commit()
    log.info("person %s set %s %s to %s", person.id, entry.kind, entry.id, status)
    await callback.answer()
    assert isinstance(callback.message, Message)
    note = t(f"asks/mine/set_{status}")
    await show_entry(callback.message, session, community, entry, t, page, note=note)


async def refuse_unchanged(callback: CallbackQuery, entry: Contribution, t: LocalTexts) -> None:
    status = t.label("asks", f"status_{entry.status}")
    await callback.answer(t.alert("asks/mine/unchanged", status=status), show_alert=True)


# --- Rendering ---------------------------------------------------------------------------------


async def render_list(
    session: AsyncSession, community: Community, person: Person, t: LocalTexts, page: int
) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """Render one page of the BSO's entries, with a button per entry and page buttons."""
    assert person.bso_id is not None
    total = await asks_store.count_bso_entries(session, person.community_id, person.bso_id)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages - 1)
    entries = await asks_store.bso_entries(
        session, person.community_id, person.bso_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    views = [entry_view(t, entry, community.timezone) for entry in entries]
    first = page * PAGE_SIZE + 1
    text = t(
        "asks/mine/list",
        bso=person.bso,
        items=views,
        total=total,
        page=page,
        pages=pages,
        first=first,
    )
    if not entries:
        return text, None

    numbers = [
        button(str(number), MineAction(action="open", entry_id=entry.id, page=page))
        for number, entry in enumerate(entries, start=first)
    ]
    rows = [
        numbers[index : index + NUMBERS_PER_ROW]
        for index in range(0, len(numbers), NUMBERS_PER_ROW)
    ]
    navigation = []
    if page > 0:
        navigation.append(
            button(t.label("asks/mine", "previous"), MineAction(action="page", page=page - 1))
        )
    if page + 1 < pages:
        navigation.append(
            button(t.label("asks/mine", "next"), MineAction(action="page", page=page + 1))
        )
    if navigation:
        rows.append(navigation)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


async def show_entry(
    message: Message,
    session: AsyncSession,
    community: Community,
    entry: Contribution,
    t: LocalTexts,
    page: int,
    *,
    note: Markup | None = None,
    confirm: bool = False,
) -> None:
    """Show the entry's details in place of the list, with the buttons its status allows.

    With `confirm`, the buttons ask whether to withdraw it.
    """
    filers = await asks_store.filer_names(session, [entry])
    view = entry_view(t, entry, community.timezone, filers)
    text = t("asks/mine/entry", view=view, note=note, confirm=confirm)
    await show(message, text, entry_keyboard(t, entry, page, confirm=confirm))


def entry_keyboard(
    t: LocalTexts, entry: Contribution, page: int, *, confirm: bool
) -> InlineKeyboardMarkup:
    def data(action: str) -> MineAction:
        return MineAction(action=action, entry_id=entry.id, page=page)

    if confirm:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(t.label("asks/mine", "withdraw_yes"), data("withdraw_yes")),
                    button(t.label("asks/mine", "withdraw_keep"), data("withdraw_keep")),
                ]
            ]
        )
    rows: list[list[InlineKeyboardButton]] = []
    actions = []
    if entry.status != "withdrawn":
        actions.append(button(t.label("asks/mine", "edit"), data("edit")))
    if asks_store.can_change(entry, "addressed"):
        actions.append(button(t.label("asks/mine", "addressed"), data("addressed")))
    if asks_store.can_change(entry, "open"):
        actions.append(button(t.label("asks/mine", "reopen"), data("reopen")))
    if actions:
        rows.append(actions)
    if asks_store.can_change(entry, "withdrawn"):
        rows.append([button(t.label("asks/mine", "withdraw"), data("withdraw"))])
    rows.append([button(t.label("asks/mine", "back"), MineAction(action="page", page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def show(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        # A double tap shows what is already shown, and Telegram rejects the identical edit.
        log.debug("message %s not changed: %s", message.message_id, error.message)
