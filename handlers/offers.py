"""Offers on buyer requirements: a BSO's PoC offers to supply, and the poster accepts or declines."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms import Form, LongText, ShortText
from bot.forms.engine import Confirmed, FormField
from bot.forms.months import MonthSet, display_months
from bot.forms.trade import QuantityField, format_quantity
from bot.outbox import wake_senders
from bot.texts import LocalTexts, Texts, display_phone
from handlers.asks import form_context
from handlers.callbacks import OfferDecision, RequirementButton
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import drop_buttons
from handlers.requirements import (
    decision_buttons,
    entry_view,
    may_decide,
    offer_markup,
    offer_view,
    refresh_cards,
    unit_labels,
)
from storage import outbox as outbox_store
from storage import requirements as store
from storage.models import Community, Offer, Person, Requirement

log = logging.getLogger(__name__)
router = Router(name="offers")

# Deep-link payload that opens the offer form ("rqo12"). It must not start with
# requirements.FORM_LINK ("rq_"), because the requirements router is tried first.
OFFER_LINK = "rqo"


# --- Offers ---------------------------------------------------------------------------------


def offer_refusal(
    person: Person, requirement: Requirement | None, poster: Person | None
) -> str | None:
    """Return the alert that explains why `person` cannot offer, or None if they can."""
    if requirement is None:
        return "common/button_unknown"
    if person.status == "pending":
        return "requirements/pending_offer"
    if person.status != "approved" or person.bso_id is None:
        return "requirements/pocs_only"
    if requirement.status in store.FINAL_STATUSES:
        return "requirements/not_open"
    if poster is not None and poster.bso_id == person.bso_id:
        return "requirements/own_bso"
    return None


async def build_offer(context: FormContext) -> Form:
    fields = (
        FormField(
            name="quantity",
            kind=QuantityField(unit_labels=unit_labels(context.texts)),
            question="requirements/offer/q_quantity",
        ),
        FormField(
            name="fpos",
            kind=LongText(max_length=1000, min_length=3),
            question="requirements/offer/q_fpos",
        ),
        FormField(name="months", kind=MonthSet(), question="requirements/offer/q_months"),
        FormField(
            name="price",
            kind=ShortText(max_length=200),
            question="requirements/offer/q_price",
            optional=True,
        ),
    )
    return Form(name="ro", fields=fields, summary="requirements/offer/title", ttl=context.form_ttl)


async def save_offer(context: FormContext, confirmed: Confirmed) -> None:
    session = context.session
    requirement_id = context.extra.get("requirement_id")
    requirement = (
        await store.get_requirement(session, context.community.id, requirement_id)
        if isinstance(requirement_id, int)
        else None
    )
    person = await session.get(Person, context.person.id)
    poster = (
        await session.get(Person, requirement.posted_by)
        if requirement and requirement.posted_by
        else None
    )
    refusal = (
        offer_refusal(person, requirement, poster)
        if person is not None
        else "requirements/pocs_only"
    )
    if refusal is not None or requirement is None or person is None or person.bso_id is None:
        # The requirement changed while the form was open: name the reason when one is known.
        known = refusal not in (None, "common/button_unknown")
        raise FormRejected(refusal if known and refusal else "requirements/offer_refused")
    answers = confirmed.answers
    offer = await store.offer_of_bso(session, requirement.id, person.bso_id)
    edited = offer is not None
    if offer is None:
        offer = Offer(
            community_id=requirement.community_id,
            requirement_id=requirement.id,
            bso_id=person.bso_id,
            revision=1,
        )
        session.add(offer)
    elif offer.status == "accepted":
        # Contacts were exchanged on the accepted terms; a change needs a talk with the poster.
        raise FormRejected("requirements/offer_locked", requirement=requirement)
    else:
        offer.revision += 1
    # A colleague of the same BSO who made the offer before is told it was changed.
    colleague = (
        await session.get(Person, offer.person_id)
        if edited and offer.person_id not in (None, person.id)
        else None
    )
    offer.person_id = person.id
    offer.quantity_tonnes = answers["quantity"].tonnes
    offer.fpos_place = answers["fpos"]
    offer.months = list(answers["months"])
    offer.price = answers.get("price")
    offer.status = "pending"
    await session.flush()
    await session.refresh(offer)
    requirement.status = store.status_after_offers(
        requirement, await store.offers_of(session, requirement.id)
    )
    log.info(
        "offer %s on requirement %s %s by person %s",
        offer.id,
        requirement.id,
        "changed" if edited else "made",
        person.id,
    )
    if poster is not None:
        queue_offer_to_poster(
            session, context.texts, requirement, offer, poster, edited, context.now
        )
    if colleague is not None:
        queue_offer_changed(
            session, context.texts, requirement, offer, colleague, person, context.now
        )
    bot, texts, t, chat_id = context.bot, context.texts, context.t, context.chat_id
    colleague_name = (colleague.name or colleague.telegram_name) if colleague else None

    async def confirm() -> None:
        await wake_senders()
        await refresh_cards(bot, texts, session, requirement)
        await bot.send_message(
            chat_id,
            t(
                "requirements/offer_saved",
                requirement=requirement,
                edited=edited,
                colleague=colleague_name,
            ),
        )

    context.after_commit(confirm)


def queue_offer_to_poster(
    session: AsyncSession,
    texts: Texts,
    requirement: Requirement,
    offer: Offer,
    poster: Person,
    edited: bool,
    now: dt.datetime,
) -> None:
    """Queue the new or changed offer to the poster with Accept and Decline of its revision."""
    t = texts.bind(poster.locale)
    markup = InlineKeyboardMarkup(inline_keyboard=[decision_buttons(t, offer)])
    outbox_store.add_rows(
        session,
        community_id=requirement.community_id,
        recipients=[outbox_store.Recipient(poster.telegram_id, person_id=poster.id)],
        payload=outbox_store.text_payload(
            t(
                "requirements/offer_received",
                **entry_view(t, requirement),
                offer=offer,
                tonnes=format_quantity(offer.quantity_tonnes),
                months=display_months(offer.months, t.locale),
                edited=edited,
            ),
            reply_markup=markup.model_dump(exclude_none=True),
        ),
        not_before=now,
        priority=outbox_store.NOTICE,
    )


def queue_offer_changed(
    session: AsyncSession,
    texts: Texts,
    requirement: Requirement,
    offer: Offer,
    colleague: Person,
    editor: Person,
    now: dt.datetime,
) -> None:
    """Tell the PoC who made the BSO's offer that a colleague changed it, and to what."""
    t = texts.bind(colleague.locale)
    outbox_store.add_rows(
        session,
        community_id=requirement.community_id,
        recipients=[outbox_store.Recipient(colleague.telegram_id, person_id=colleague.id)],
        payload=outbox_store.text_payload(
            t(
                "requirements/offer_changed_by",
                **entry_view(t, requirement),
                editor=editor.name or editor.telegram_name,
                tonnes=format_quantity(offer.quantity_tonnes),
                months=display_months(offer.months, t.locale),
                offer=offer,
            )
        ),
        not_before=now,
        priority=outbox_store.NOTICE,
    )


OFFER_FLOW = register_flow(
    FormFlow(
        name="ro",
        prompts="requirements/offer",
        command="/requirements",
        build=build_offer,
        save=save_offer,
    )
)


@router.callback_query(RequirementButton.filter(F.action == "offer"))
async def offer_pressed(
    callback: CallbackQuery,
    callback_data: RequirementButton,
    state: FSMContext,
    bot: Bot,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    session: AsyncSession = data["session"]
    requirement = await store.get_requirement(
        session, data["community"].id, callback_data.requirement_id
    )
    poster = (
        await session.get(Person, requirement.posted_by)
        if requirement and requirement.posted_by
        else None
    )
    refusal = offer_refusal(person, requirement, poster)
    if refusal is not None or requirement is None:
        log.info(
            "offer button on requirement %s refused for user %s: %s",
            callback_data.requirement_id,
            callback.from_user.id,
            refusal,
        )
        await callback.answer(t.alert(refusal or "common/button_unknown"), show_alert=True)
        return
    message = callback.message
    if not isinstance(message, Message) or message.chat.type != "private":
        # The offer form runs in private chat, which the start link opens.
        link = await create_start_link(bot, f"{OFFER_LINK}{requirement.id}")
        await callback.answer(url=link)
        return
    await callback.answer()
    await open_offer_form(message, state, person, t, {**data, "bot": bot}, requirement)


@router.message(
    CommandStart(deep_link=True, magic=F.args.startswith(OFFER_LINK)), F.chat.type == "private"
)
async def offer_from_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    raw = (command.args or "").removeprefix(OFFER_LINK)
    session: AsyncSession = data["session"]
    requirement = (
        await store.get_requirement(session, data["community"].id, int(raw))
        if raw.isdigit() and len(raw) <= 9
        else None
    )
    poster = (
        await session.get(Person, requirement.posted_by)
        if requirement and requirement.posted_by
        else None
    )
    if requirement is None or requirement.status in store.FINAL_STATUSES:
        reason = requirement.status if requirement is not None else "not_found"
        log.info("offer link %r of user %s no longer works: %s", raw, message.chat.id, reason)
        await message.answer(t("requirements/link_dead", reason=reason))
        return
    refusal = offer_refusal(person, requirement, poster)
    if refusal is not None:
        await message.answer(t(refusal))
        return
    await open_offer_form(message, state, person, t, data, requirement)


async def open_offer_form(
    message: Message,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    data: dict[str, Any],
    requirement: Requirement,
) -> None:
    """Open the offer form; a BSO that offered already edits its offer, unless it was accepted."""
    assert person.bso_id is not None
    session: AsyncSession = data["session"]
    existing = await store.offer_of_bso(session, requirement.id, person.bso_id)
    answers = None
    if existing is not None and existing.status == "accepted":
        await message.answer(t("requirements/offer_locked", requirement=requirement))
        return
    if existing is not None:
        maker = await session.get(Person, existing.person_id) if existing.person_id else None
        await message.answer(
            t(
                "requirements/offer_exists",
                requirement=requirement,
                offer=offer_view(t, existing),
                months=display_months(existing.months, t.locale),
                maker=(maker.name or maker.telegram_name) if maker else None,
                mine=maker is not None and maker.id == person.id,
            )
        )
        answers = {
            "quantity": {
                "amount": existing.quantity_tonnes,
                "unit": "tonne",
                "tonnes": existing.quantity_tonnes,
            },
            "fpos": existing.fpos_place,
            "months": list(existing.months),
            "price": existing.price,
        }
    context = form_context(message, person, t, data, requirement_id=requirement.id)
    await message.answer(t("requirements/offer_intro", **entry_view(t, requirement)))
    await start_form(OFFER_FLOW, message, state, context, answers=answers)


# --- Accepting and declining ----------------------------------------------------------------


@router.callback_query(OfferDecision.filter())
async def decide_offer(
    callback: CallbackQuery,
    callback_data: OfferDecision,
    bot: Bot,
    session: AsyncSession,
    community: Community,
    texts: Texts,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
    clock: Any,
) -> None:
    offer = await session.get(Offer, callback_data.offer_id)
    requirement = (
        await store.get_requirement(session, community.id, offer.requirement_id) if offer else None
    )
    if offer is None or requirement is None or callback_data.action not in ("accept", "decline"):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    if not may_decide(person, is_facilitator, requirement):
        log.warning(
            "offer %s %s rejected: user %s did not post requirement %s",
            offer.id,
            callback_data.action,
            callback.from_user.id,
            requirement.id,
        )
        await callback.answer(t.alert("requirements/not_yours"), show_alert=True)
        return
    if requirement.status in store.FINAL_STATUSES:
        await callback.answer(t.alert("requirements/not_open"), show_alert=True)
        return
    if callback_data.revision != offer.revision:
        log.info(
            "offer %s %s rejected: revision %s pressed, %s current",
            offer.id,
            callback_data.action,
            callback_data.revision,
            offer.revision,
        )
        await callback.answer(
            t.alert("requirements/offer_outdated", offer=offer_view(t, offer)), show_alert=True
        )
        return
    if offer.status != "pending":
        await callback.answer(t.alert("requirements/already_decided"), show_alert=True)
        return

    now = clock.now()
    offerer = await session.get(Person, offer.person_id) if offer.person_id else None
    poster = await session.get(Person, requirement.posted_by) if requirement.posted_by else None
    if callback_data.action == "accept":
        offer.status = "accepted"
        offer.accepted_at = now
        offer.accepted_by = callback.from_user.id
    else:
        offer.status = "declined"
    requirement.status = store.status_after_offers(
        requirement, await store.offers_of(session, requirement.id)
    )
    # A facilitator who decides on someone else's requirement is named to the poster.
    decider = person if poster is None or person.id != poster.id else None
    queue_decision_notices(session, texts, requirement, offer, offerer, poster, decider, now)
    await session.commit()
    log.info("offer %s %s by user %s", offer.id, offer.status, callback.from_user.id)

    await wake_senders()
    await callback.answer(t.alert(f"requirements/offer_{offer.status}"))
    await drop_buttons(callback)
    await refresh_cards(bot, texts, session, requirement)


def queue_decision_notices(
    session: AsyncSession,
    texts: Texts,
    requirement: Requirement,
    offer: Offer,
    offerer: Person | None,
    poster: Person | None,
    decider: Person | None,
    now: dt.datetime,
) -> None:
    """Queue the decision to the offering PoC and, on acceptance, each side's contact to the other.

    `decider` is the facilitator who decided for the poster, or None when the poster did.
    """
    accepted = offer.status == "accepted"
    if offerer is not None:
        t = texts.bind(offerer.locale)
        # A declined offer may be changed and sent again while the requirement is open.
        markup = None if accepted else offer_markup(t, requirement.id)
        outbox_store.add_rows(
            session,
            community_id=requirement.community_id,
            recipients=[outbox_store.Recipient(offerer.telegram_id, person_id=offerer.id)],
            payload=outbox_store.text_payload(
                t(
                    "requirements/decision_to_supplier",
                    requirement=requirement,
                    accepted=accepted,
                    contact=requirement.contact,
                    poster=poster,
                ),
                reply_markup=markup.model_dump(exclude_none=True) if markup else None,
            ),
            not_before=now,
            priority=outbox_store.NOTICE,
        )
    if accepted and poster is not None:
        t = texts.bind(poster.locale)
        outbox_store.add_rows(
            session,
            community_id=requirement.community_id,
            recipients=[outbox_store.Recipient(poster.telegram_id, person_id=poster.id)],
            payload=outbox_store.text_payload(
                t(
                    "requirements/supplier_contact",
                    requirement=requirement,
                    offer=offer,
                    offerer=offerer,
                    phone=display_phone(offerer.phone) if offerer else None,
                    decider=(decider.name or decider.telegram_name) if decider else None,
                )
            ),
            not_before=now,
            priority=outbox_store.NOTICE,
        )
