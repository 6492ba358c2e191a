"""Focus themes: the facilitator sets the community's 3-4 themes with /themes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import LocalTexts
from handlers.callbacks import ThemeAction
from handlers.keyboards import drop_buttons
from storage import themes
from storage.models import Community, Theme

log = logging.getLogger(__name__)
router = Router(name="themes")


class ThemeInput(StatesGroup):
    names = State()


def theme_labels(t: LocalTexts, listed: Sequence[Theme]) -> list[str]:
    """Show default themes in the reader's language and typed ones as typed."""
    return [t.label("themes", theme.key) if theme.key else theme.name for theme in listed]


def theme_keyboard(t: LocalTexts) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t.label("themes", "change"), callback_data=ThemeAction(action="change"))
    keyboard.button(text=t.label("themes", "reset"), callback_data=ThemeAction(action="reset"))
    return keyboard.as_markup()


@router.message(Command("themes"), StateFilter(None))
async def show_themes(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    listed = await themes.active_themes(session, community.id)
    await session.commit()
    await message.answer(
        t("themes/list", names=theme_labels(t, listed), community=community),
        reply_markup=theme_keyboard(t),
    )


@router.callback_query(ThemeAction.filter())
async def theme_action(
    callback: CallbackQuery,
    callback_data: ThemeAction,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    message = callback.message
    if callback_data.action not in ("change", "reset") or not isinstance(message, Message):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    await callback.answer()
    await drop_buttons(callback)

    if callback_data.action == "reset":
        listed = await themes.reset_themes(session, community.id)
        await session.commit()
        log.info("themes of community %s reset by %s", community.id, callback.from_user.id)
        await message.answer(t("themes/saved", names=theme_labels(t, listed)))
        return
    await state.set_state(ThemeInput.names)
    await message.answer(t("themes/ask_names", reason=None))


@router.message(ThemeInput.names, F.text & ~F.text.startswith("/"))
async def names_typed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await state.clear()
        await message.answer(t("common/facilitators_only"))
        return
    names = themes.split_theme_names(message.text or "")
    reason = names_problem(t, names)
    if reason is not None:
        await message.answer(t("themes/ask_names", reason=reason))
        return

    listed = await themes.replace_themes(session, community.id, names)
    await session.commit()
    await state.clear()
    log.info("themes of community %s set in chat %s", community.id, message.chat.id)
    await message.answer(t("themes/saved", names=theme_labels(t, listed)))


@router.message(ThemeInput.names)
async def not_names(message: Message, t: LocalTexts) -> None:
    reason = t("themes/errors/not_names")
    await message.answer(t("themes/ask_names", reason=reason))


def names_problem(t: LocalTexts, names: list[str]) -> str | None:
    if not themes.MIN_THEMES <= len(names) <= themes.MAX_THEMES:
        return t(
            "themes/errors/count",
            count=len(names),
            minimum=themes.MIN_THEMES,
            maximum=themes.MAX_THEMES,
        )
    for name in names:
        if len(name) > themes.THEME_NAME_MAX or not any(char.isalpha() for char in name):
            return t("themes/errors/name", name=name, limit=themes.THEME_NAME_MAX)
    return None
