"""Approval of registrations: facilitators review, approve or reject; both sides are told."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.texts import LocalTexts, Texts
from handlers.callbacks import Decision
from handlers.keyboards import drop_buttons
from storage import people
from storage.models import Community, Person

log = logging.getLogger(__name__)
router = Router(name="approvals")


async def review_text(t: LocalTexts, session: AsyncSession, registrant: Person) -> Markup:
    """Render a registration for review, flagging a new BSO and a possible handover."""
    other_pocs: Sequence[Person] = []
    if registrant.bso_id is not None:
        other_pocs = await people.approved_pocs_of_bso(
            session, registrant.bso_id, exclude_person_id=registrant.id
        )
    return t(
        "registration/review",
        person=registrant,
        bso_name=registrant.bso.name if registrant.bso else registrant.proposed_bso_name or "",
        new_bso=registrant.proposed_bso_name is not None,
        other_pocs=other_pocs,
    )


async def notify_facilitators(
    bot: Bot, texts: Texts, settings: Settings, session: AsyncSession, registrant: Person
) -> None:
    t = texts.bind(settings.default_locale)
    text = await review_text(t, session, registrant)
    for facilitator_id in settings.facilitator_ids:
        try:
            await bot.send_message(
                facilitator_id, text, reply_markup=decision_keyboard(t, registrant.id)
            )
        except TelegramAPIError as error:
            log.warning(
                "could not notify facilitator %s of person %s: %s",
                facilitator_id,
                registrant.id,
                error.message,
            )


def decision_keyboard(t: LocalTexts, person_id: int) -> InlineKeyboardMarkup:
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=t.label("registration", "approve"),
        callback_data=Decision(action="approve", person_id=person_id),
    )
    keyboard.button(
        text=t.label("registration", "reject"),
        callback_data=Decision(action="reject", person_id=person_id),
    )
    return keyboard.as_markup()


@router.callback_query(Decision.filter())
async def decided(
    callback: CallbackQuery,
    callback_data: Decision,
    session: AsyncSession,
    is_facilitator: bool,
    bot: Bot,
    texts: Texts,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    registrant = await people.get_person_by_id(session, callback_data.person_id)
    if registrant is None or callback_data.action not in ("approve", "reject"):
        await callback.answer(t.alert("registration/decision_unknown"), show_alert=True)
        return
    if registrant.status != "pending":
        await callback.answer(
            t.alert("registration/decision_already", person=registrant), show_alert=True
        )
        await drop_buttons(callback)
        return

    approve = callback_data.action == "approve"
    if approve and registrant.proposed_bso_name:
        bso = await people.ensure_bso(
            session, registrant.community_id, registrant.proposed_bso_name
        )
        registrant.bso_id = bso.id
        registrant.proposed_bso_name = None
    people.decide(registrant, approve=approve, decided_by=callback.from_user.id)
    await session.commit()
    await session.refresh(registrant, ["bso"])
    log.info("person %s %s by %s", registrant.id, registrant.status, callback.from_user.id)
    await callback.answer()

    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)
        await callback.message.reply(t("registration/decision_done", person=registrant))
    registrant_texts = texts.bind(registrant.locale)
    try:
        await bot.send_message(
            registrant.telegram_id,
            registrant_texts(f"registration/{registrant.status}", person=registrant),
        )
    except TelegramAPIError as error:
        log.warning("could not tell person %s of the decision: %s", registrant.id, error.message)


@router.message(Command("pending"), F.chat.type == "private")
async def list_pending(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    pending = await people.pending_people(session, community.id)
    if not pending:
        await message.answer(t("registration/pending_none"))
        return
    await message.answer(t("registration/pending_count", count=len(pending)))
    for registrant in pending:
        await message.answer(
            await review_text(t, session, registrant),
            reply_markup=decision_keyboard(t, registrant.id),
        )
