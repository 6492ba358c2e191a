"""Commands that work everywhere and at any step: /help, /me, /cancel; and whether a
person's private chat with the bot is open."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import FACILITATOR_GROUP_COMMANDS, FACILITATOR_HELP, GROUP_COMMANDS, MEMBER_HELP
from bot.texts import LocalTexts
from handlers.callbacks import ForgetMe
from handlers.forms import FORM_STATE
from storage import people
from storage.models import Person

router = Router(name="common")


@router.my_chat_member(F.chat.type == "private")
async def private_chat_changed(
    event: ChatMemberUpdated, session: AsyncSession, person: Person | None
) -> None:
    """Keep `private_chat_open` true to what Telegram says when someone blocks or unblocks.

    Broadcasts count and skip PoCs by this flag, so a block is known before the next
    send rather than learnt from its 403.
    """
    if person is None:
        return
    person.private_chat_open = event.new_chat_member.status not in ("kicked", "left")
    await session.commit()


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, t: LocalTexts) -> None:
    current = await state.get_state()
    if current == FORM_STATE:
        # The form runner cancels its own forms and names the form it stopped.
        raise SkipHandler()
    if current is None:
        await message.answer(t("common/nothing_to_cancel"))
        return
    await state.clear()
    await message.answer(t("common/cancelled"))


@router.message(Command("help"))
async def show_help(message: Message, is_facilitator: bool, person: Person, t: LocalTexts) -> None:
    commands: tuple[str, ...]
    if message.chat.type != "private":
        commands = FACILITATOR_GROUP_COMMANDS if is_facilitator else GROUP_COMMANDS
    else:
        commands = FACILITATOR_HELP if is_facilitator else MEMBER_HELP
    await message.answer(
        t("common/help", commands=commands, person=person, is_facilitator=is_facilitator)
    )


@router.message(Command("me"), F.chat.type == "private")
async def show_me(message: Message, person: Person, is_facilitator: bool, t: LocalTexts) -> None:
    keyboard = InlineKeyboardBuilder()
    if person.status != "new":
        keyboard.button(text=t.label("common", "forget"), callback_data=ForgetMe(action="ask"))
    await message.answer(
        t("common/me", person=person, is_facilitator=is_facilitator),
        reply_markup=keyboard.as_markup() if keyboard.buttons else None,
    )


@router.message(Command("me"))
async def show_me_in_group(message: Message, t: LocalTexts) -> None:
    # Personal data is shown only in private chat, never to the whole group.
    await message.reply(t("common/me_private_only"))


@router.callback_query(ForgetMe.filter(F.action == "ask"))
async def forget_asked(callback: CallbackQuery, person: Person, t: LocalTexts) -> None:
    if person.status == "new":
        # An old /me message: the data is already gone.
        await callback.answer(t.alert("common/forget_nothing"), show_alert=True)
        return
    await callback.answer()
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=t.label("common", "forget_confirm"), callback_data=ForgetMe(action="confirm")
    )
    keyboard.button(text=t.label("common", "forget_keep"), callback_data=ForgetMe(action="keep"))
    if isinstance(callback.message, Message):
        await callback.message.answer(t("common/forget_ask"), reply_markup=keyboard.as_markup())


@router.callback_query(ForgetMe.filter(F.action == "confirm"))
async def forget_confirmed(
    callback: CallbackQuery, session: AsyncSession, person: Person, state: FSMContext, t: LocalTexts
) -> None:
    await callback.answer()
    # Erase the person's rows in every community, not only the one this chat resolved to.
    await people.erase_everywhere(session, person.telegram_id)
    await session.commit()
    await state.clear()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(t("common/forget_done"))


@router.callback_query(ForgetMe.filter(F.action == "keep"))
async def forget_declined(callback: CallbackQuery, t: LocalTexts) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(t("common/forget_kept"))
