"""Buyer requirements: /requirement posts one, matching BSOs get a notice, group cards show its
status, and the poster closes it.

Offers on a requirement, and the poster's decisions on them, are in handlers/offers.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LOCALES
from bot.forms import Form, LongText, Number, Phone, ShortText
from bot.forms.base import clean_line
from bot.forms.choices import Choice
from bot.forms.engine import Confirmed, FormField
from bot.forms.months import display_months
from bot.forms.trade import (
    NEW_BUYER,
    BuyerChoice,
    BuyerLookup,
    CommodityField,
    PlaceField,
    QuantityField,
    RegistryEntry,
    WindowField,
    find_commodity,
    format_quantity,
)
from bot.matching import Need, combine, rank_suppliers, total_tonnes, window_months
from bot.outbox import wake_senders
from bot.texts import LocalTexts, Texts, clip, display_phone
from handlers.asks import form_context
from handlers.callbacks import (
    OfferDecision,
    ProposalDecision,
    RequirementButton,
    RequirementsPage,
)
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import button, drop_buttons, facilitator_press
from storage import outbox as outbox_store
from storage import people, registries
from storage import requirements as store
from storage.models import (
    Bso,
    Buyer,
    BuyerProposal,
    Community,
    Offer,
    Person,
    Requirement,
    RequirementCandidate,
    RequirementCard,
    SavedQuery,
)
from storage.normalize import load_commodities, load_states, name_key

log = logging.getLogger(__name__)
router = Router(name="requirements")

FREQUENCIES = ("one_off", "weekly", "seasonal")
OFFER_STATUSES = ("pending", "accepted", "declined", "withdrawn")
UNITS = ("kg", "quintal", "tonne")
# Deep-link payload that opens the requirement form from a group ("rq_-100123"). The offer
# form's payload, offers.OFFER_LINK ("rqo12"), must not start with it.
FORM_LINK = "rq_"
# Entries of /requirements and /requirements mine shown on one page.
PAGE_SIZE = 10
# Maximum length in characters of the filter text kept, as in the registry lookups.
QUERY_MAX = 200
# SavedQuery.kind of the filter words of /requirements.
SAVED_KIND = "requirements"
# Words after /requirements that list the sender's own requirements.
MINE_WORDS = ("mine", "my", "मेरी", "मेरे")
# Telegram's error text for an edit that would change nothing.
NOT_MODIFIED = "message is not modified"
# Offers that one Details message lists; Previous and Next page through the rest.
OFFERS_PER_PAGE = 8
# Offers that /requirements mine lists under one requirement; Details shows them all.
MINE_OFFERS_MAX = 3
# Characters kept of an offer's free texts and BSO name in lists, so that a page of maximum
# inputs (1000-character FPOs and place, 200-character price) fits Telegram's 4096 limit.
OFFER_PLACE_CLIP = 60
OFFER_PRICE_CLIP = 30
BSO_NAME_CLIP = 40


# --- Who may do what --------------------------------------------------------------------------


def post_refusal(person: Person, is_facilitator: bool) -> str | None:
    """Return the template that explains why `person` may not post, or None if they may."""
    if is_facilitator or (person.status == "approved" and person.bso_id is not None):
        return None
    if person.status == "pending":
        return "requirements/pending"
    return "requirements/register_first"


def may_decide(person: Person, is_facilitator: bool, requirement: Requirement) -> bool:
    """Tell whether `person` may accept offers on and close `requirement`."""
    return is_facilitator or requirement.posted_by == person.id


def sees_contacts(person: Person, is_facilitator: bool, private: bool) -> bool:
    """Tell whether `person` may see a requirement's contact: approved PoCs and
    facilitators, in private chat only, because group members and strangers are not vetted."""
    approved = person.status == "approved" and person.bso_id is not None
    return private and (is_facilitator or approved)


# --- The requirement form -------------------------------------------------------------------


def unit_labels(texts: Texts) -> dict[str, dict[str, str]]:
    return {
        locale: {unit: texts.label(locale, "requirements", f"unit_{unit}") for unit in UNITS}
        for locale in LOCALES
    }


async def build_requirement(context: FormContext) -> Form:
    buyers = await store.registry_buyers(context.session, context.community.id)
    entries = [
        RegistryEntry(key=f"b{buyer.id}", name=buyer.name, place=buyer.city or buyer.state or "")
        for buyer in buyers
    ]
    texts = context.texts
    lookup = BuyerLookup(
        entries,
        query_field="buyer_query",
        new_label=lambda locale, name: texts.label(locale, "requirements", "new_buyer", name=name),
        locales=LOCALES,
    )
    fields = (
        FormField(name="commodity", kind=CommodityField(), question="requirements/q_commodity"),
        FormField(
            name="variety",
            kind=ShortText(max_length=200),
            question="requirements/q_variety",
            optional=True,
        ),
        FormField(
            name="quantity",
            kind=QuantityField(unit_labels=unit_labels(texts)),
            question="requirements/q_quantity",
        ),
        FormField(
            name="frequency",
            kind=Choice(options=context.options("requirements", FREQUENCIES)),
            question="requirements/q_frequency",
        ),
        FormField(
            name="quality",
            kind=LongText(max_length=1000),
            question="requirements/q_quality",
            optional=True,
        ),
        FormField(name="place", kind=PlaceField(), question="requirements/q_place"),
        FormField(name="window", kind=WindowField(), question="requirements/q_window"),
        FormField(
            name="price",
            kind=ShortText(max_length=200),
            question="requirements/q_price",
            optional=True,
        ),
        FormField(
            name="buyer_query",
            kind=ShortText(max_length=200, min_length=2, letters_required=True),
            question="requirements/q_buyer_query",
            # The buyer's answer shows the registry name or "New buyer: <typed name>", so the
            # typed name would only repeat it.
            in_summary=lambda answers: answers.get("buyer") is None,
        ),
        FormField(
            name="buyer",
            kind=BuyerChoice(lookup),
            question="requirements/q_buyer",
            condition=lookup.condition,
        ),
        FormField(
            name="contact_name",
            kind=ShortText(max_length=120, letters_required=True),
            question="requirements/q_contact_name",
        ),
        FormField(name="contact_phone", kind=Phone(), question="requirements/q_contact_phone"),
    )
    return Form(name="rq", fields=fields, summary="requirements/title", ttl=context.form_ttl)


async def save_requirement(context: FormContext, confirmed: Confirmed) -> None:
    session = context.session
    person = await session.get(Person, context.person.id)
    if person is None or post_refusal(person, context.is_facilitator) is not None:
        raise FormRejected("requirements/register_first")
    answers = confirmed.answers
    quantity, place, window = answers["quantity"], answers["place"], answers["window"]
    commodity = answers["commodity"]
    requirement = Requirement(
        community_id=context.community.id,
        posted_by=person.id,
        commodity=commodity,
        commodity_text=load_commodities().display_name(commodity, context.locale),
        variety=answers.get("variety"),
        quantity=quantity.amount,
        unit=quantity.unit,
        quantity_tonnes=quantity.tonnes,
        frequency=answers["frequency"],
        quality=answers.get("quality"),
        delivery_place=place.text,
        delivery_state=place.state,
        window_start=window.start,
        window_end=window.end,
        price=answers.get("price"),
        buyer_name=answers["buyer_query"],
        contact=f"{answers['contact_name']}, {display_phone(answers['contact_phone'])}",
    )
    buyer_key = answers["buyer"]
    if buyer_key != NEW_BUYER:
        buyer = await session.get(Buyer, int(buyer_key.removeprefix("b")))
        if buyer is None or buyer.community_id != context.community.id:
            raise FormRejected("requirements/buyer_gone", keep=True)
        requirement.buyer_id = buyer.id
        requirement.buyer_name = buyer.name
    session.add(requirement)
    await session.flush()
    log.info("requirement %s posted by person %s", requirement.id, person.id)

    if buyer_key == NEW_BUYER:
        await propose_buyer(context, requirement)
    matched, together = await match_requirement(
        session, context.texts, requirement, person, context.now
    )
    origin = context.extra.get("group_chat_id")
    bot, texts, t, chat_id = context.bot, context.texts, context.t, context.chat_id

    async def announce() -> None:
        await wake_senders()
        groups = await post_cards(bot, texts, session, requirement, origin)
        await session.commit()
        await bot.send_message(
            chat_id,
            t(
                "requirements/posted",
                requirement=requirement,
                groups=groups,
                matched=matched,
                together=[(name, display_months(months, t.locale)) for name, months in together],
            ),
        )

    context.after_commit(announce)


async def propose_buyer(context: FormContext, requirement: Requirement) -> None:
    """Record the typed buyer as a proposal for the registry and ask the facilitators."""
    proposal = BuyerProposal(
        community_id=requirement.community_id,
        requirement_id=requirement.id,
        name=requirement.buyer_name,
        commodities=[requirement.commodity],
        city=requirement.delivery_place.split(",")[0].strip()[:128],
        state=requirement.delivery_state,
        proposed_by=context.person.id,
    )
    context.session.add(proposal)
    await context.session.flush()
    t = context.texts.bind(None)
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("requirements", "proposal_add"),
                    ProposalDecision(action="add", proposal_id=proposal.id),
                ),
                button(
                    t.label("requirements", "proposal_dismiss"),
                    ProposalDecision(action="dismiss", proposal_id=proposal.id),
                ),
            ]
        ]
    )
    text = t("requirements/proposal", proposal=proposal, requirement=requirement)
    for facilitator_id in context.settings.facilitator_ids:
        await outbox_store.add_unique(
            context.session,
            community_id=requirement.community_id,
            recipient=outbox_store.Recipient(facilitator_id),
            payload=outbox_store.text_payload(
                text, reply_markup=markup.model_dump(exclude_none=True)
            ),
            not_before=context.now,
            dedup_key=f"rq:{requirement.id}:proposal:{facilitator_id}",
        )


REQUIREMENT_FLOW = register_flow(
    FormFlow(
        name="rq",
        prompts="requirements",
        command="/requirement",
        build=build_requirement,
        save=save_requirement,
    )
)


# --- Matching and notices -------------------------------------------------------------------


async def match_requirement(
    session: AsyncSession,
    texts: Texts,
    requirement: Requirement,
    poster: Person,
    now: dt.datetime,
) -> tuple[list[str], list[tuple[str, tuple[int, ...]]]]:
    """Rank the BSOs that can supply, store them, and queue one notice per BSO's PoC.

    Returns the names of the BSOs notified and, when a combination is proposed, each part's
    BSO name and months. The poster's own BSO is left out, because its PoC posted the requirement.
    """
    months = window_months(requirement.window_start, requirement.window_end)
    need = Need(
        commodity=requirement.commodity,
        months=months,
        tonnes=total_tonnes(
            requirement.quantity_tonnes,
            requirement.frequency,
            requirement.window_start,
            requirement.window_end,
        ),
        state=requirement.delivery_state,
    )
    supplies = [
        supply
        for supply in await store.supplies(session, requirement.community_id, requirement.commodity)
        if supply.bso != poster.bso_id
    ]
    matches = rank_suppliers(need, supplies)
    combination = combine(need, matches)
    parts = {part.bso: part for part in combination.parts} if combination else {}
    told: list[str] = []
    together: list[tuple[str, tuple[int, ...]]] = []
    for rank, match in enumerate(matches, start=1):
        assert isinstance(match.bso, int)
        bso = await session.get(Bso, match.bso)
        if bso is None:
            continue
        part = parts.get(match.bso)
        candidate = RequirementCandidate(
            community_id=requirement.community_id,
            requirement_id=requirement.id,
            bso_id=bso.id,
            rank=rank,
            score=match.score,
            reasons=list(match.reasons),
            months=list(match.months),
            tonnes=match.tonnes,
            in_combination=part is not None,
        )
        session.add(candidate)
        if await notify_bso(session, texts, requirement, bso, match.reasons, part, now):
            candidate.notified_at = now
            told.append(bso.short_name or bso.name)
    if combination is not None:
        for part in combination.parts:
            bso = await session.get(Bso, part.bso)
            if bso is not None:
                together.append((bso.short_name or bso.name, part.months))
    await session.flush()
    log.info(
        "requirement %s: %s BSOs matched, %s notified", requirement.id, len(matches), len(told)
    )
    return told, together


async def notify_bso(
    session: AsyncSession,
    texts: Texts,
    requirement: Requirement,
    bso: Bso,
    reasons: Sequence[str],
    part: Any,
    now: dt.datetime,
) -> bool:
    """Queue the requirement to each reachable PoC of `bso`, once; return whether any was queued."""
    queued = False
    for poc in await store.reachable_pocs(session, bso.id):
        t = texts.bind(poc.locale)
        text = t(
            "requirements/match_notice",
            requirement=requirement,
            commodity=load_commodities().display_name(requirement.commodity, t.locale),
            quantity=format_quantity(requirement.quantity),
            unit=t.label("requirements", f"unit_{requirement.unit}"),
            reasons=[t.label("requirements", f"reason_{code}") for code in reasons],
            part_months=display_months(part.months, t.locale) if part is not None else None,
            part_tonnes=format_quantity(part.tonnes) if part is not None and part.tonnes else None,
        )
        markup = offer_markup(t, requirement.id)
        added = await outbox_store.add_unique(
            session,
            community_id=requirement.community_id,
            recipient=outbox_store.Recipient(poc.telegram_id, person_id=poc.id),
            payload=outbox_store.text_payload(
                text, reply_markup=markup.model_dump(exclude_none=True)
            ),
            not_before=now,
            dedup_key=f"rq:{requirement.id}:bso:{bso.id}:poc:{poc.id}",
        )
        queued = queued or added
    return queued


def offer_markup(t: LocalTexts, requirement_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(
                    t.label("requirements", "we_can_supply"),
                    RequirementButton(action="offer", requirement_id=requirement_id),
                ),
                button(
                    t.label("requirements", "details"),
                    RequirementButton(action="details", requirement_id=requirement_id),
                ),
            ]
        ]
    )


# --- Cards in task-force groups -------------------------------------------------------------


def card_text(texts: Texts, requirement: Requirement) -> str:
    t = texts.bind(None)
    return t(
        "requirements/card",
        **entry_view(t, requirement),
        frequency=t.label("requirements", requirement.frequency),
    )


def card_markup(texts: Texts, requirement: Requirement) -> InlineKeyboardMarkup | None:
    if requirement.status in store.FINAL_STATUSES:
        return None
    return offer_markup(texts.bind(None), requirement.id)


async def post_cards(
    bot: Bot, texts: Texts, session: AsyncSession, requirement: Requirement, origin: Any
) -> int:
    """Post the card in the group the requirement came from, else in every task-force group.

    Stores each posted card, so that `refresh_cards` can edit all of them. Returns how
    many groups got the card.
    """
    groups = await store.task_force_groups(session, requirement.community_id)
    chat_ids = [group.telegram_chat_id for group in groups]
    if isinstance(origin, int) and origin in chat_ids:
        chat_ids = [origin]
    posted = 0
    for chat_id in chat_ids:
        try:
            sent = await bot.send_message(
                chat_id,
                card_text(texts, requirement),
                reply_markup=card_markup(texts, requirement),
            )
        except TelegramAPIError as error:
            log.warning(
                "requirement %s card not posted in chat %s: %s",
                requirement.id,
                chat_id,
                error.message,
            )
            continue
        posted += 1
        session.add(
            RequirementCard(
                community_id=requirement.community_id,
                requirement_id=requirement.id,
                chat_id=chat_id,
                thread_id=sent.message_thread_id or 0,
                message_id=sent.message_id,
            )
        )
    return posted


async def refresh_cards(
    bot: Bot, texts: Texts, session: AsyncSession, requirement: Requirement
) -> int:
    """Edit every card of the requirement to show its current status; return how many changed.

    A card that cannot be edited (its message was deleted, the bot left the group) is
    logged and skipped, so the other groups still see the change.
    """
    text, markup = card_text(texts, requirement), card_markup(texts, requirement)
    edited = 0
    for card in await store.cards_of(session, requirement.id):
        try:
            await bot.edit_message_text(
                text=text, chat_id=card.chat_id, message_id=card.message_id, reply_markup=markup
            )
        except TelegramAPIError as error:
            # An offer changed without a change of status leaves the card's text as it was.
            if isinstance(error, TelegramBadRequest) and NOT_MODIFIED in error.message:
                continue
            log.warning(
                "requirement %s card %s in chat %s not updated: %s",
                requirement.id,
                card.message_id,
                card.chat_id,
                error.message,
            )
            continue
        edited += 1
    return edited


# --- Commands -------------------------------------------------------------------------------


@router.message(Command("requirement"), F.chat.type.in_({"group", "supergroup"}))
async def requirement_in_group(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    community: Community,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    refusal = post_refusal(person, is_facilitator)
    if refusal is not None:
        await message.reply(t(refusal))
        return
    link = await create_start_link(bot, f"{FORM_LINK}{message.chat.id}")
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t.label("requirements", "continue_private"), url=link)
    # The card goes to this group only when it is a task-force group (see `post_cards`).
    groups = await store.task_force_groups(session, community.id)
    here = any(group.telegram_chat_id == message.chat.id for group in groups)
    await message.reply(
        t(
            "requirements/continue_in_private",
            here=here,
            groups=[group.title for group in groups],
        ),
        reply_markup=keyboard.as_markup(),
    )


@router.message(Command("requirement"), F.chat.type == "private", StateFilter(None))
async def requirement_in_private(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, **data: Any
) -> None:
    await open_requirement_form(message, state, person, t, data, origin=None)


@router.message(
    CommandStart(deep_link=True, magic=F.args.startswith(FORM_LINK)), F.chat.type == "private"
)
async def requirement_from_link(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    raw = (command.args or "").removeprefix(FORM_LINK)
    # Telegram chat ids have at most 52 significant bits; anything longer is forged.
    origin = int(raw) if raw.lstrip("-").isdigit() and len(raw) <= 17 else None
    await open_requirement_form(message, state, person, t, data, origin=origin)


async def open_requirement_form(
    message: Message,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    data: dict[str, Any],
    *,
    origin: int | None,
) -> None:
    refusal = post_refusal(person, data["is_facilitator"])
    if refusal is not None:
        await message.answer(t(refusal))
        return
    context = form_context(message, person, t, data, group_chat_id=origin)
    await start_form(REQUIREMENT_FLOW, message, state, context)


@router.message(Command("requirements"), StateFilter(None))
async def list_requirements(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    community: Community,
    person: Person,
    t: LocalTexts,
) -> None:
    # Control characters become spaces, because PostgreSQL rejects NUL in text.
    words = clean_line(command.args or "")[:QUERY_MAX]
    if words.lower() in MINE_WORDS:
        text, markup = await render_mine(session, person, 0, t)
        await message.reply(text, reply_markup=markup)
        return
    commodity, state, unknown = parse_filters(words)
    if unknown:
        await message.reply(t("requirements/filter_unknown", unknown=unknown))
        return

    # The filter words are saved only when there is a next page, whose button names them by id.
    _, total = await store.open_requirements(
        session, community.id, commodity=commodity, state=state, limit=0
    )
    query_id = 0
    if words and total > PAGE_SIZE:
        saved = SavedQuery(community_id=community.id, kind=SAVED_KIND, text=words)
        session.add(saved)
        await session.commit()
        query_id = saved.id
    text, markup = await render_list(session, community.id, words, query_id, 0, t)
    await message.reply(text, reply_markup=markup)


@router.callback_query(RequirementsPage.filter())
async def turn_page(
    callback: CallbackQuery,
    callback_data: RequirementsPage,
    session: AsyncSession,
    community: Community,
    person: Person,
    t: LocalTexts,
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    if callback_data.mine:
        # In a group the list shows the offers of whoever sent /requirements mine, so only
        # they may turn its pages; anyone else would replace it with their own list.
        origin = message.reply_to_message
        owner = origin.from_user.id if origin and origin.from_user else None
        if message.chat.type != "private" and owner != callback.from_user.id:
            await callback.answer(t.alert("requirements/mine_not_yours"), show_alert=True)
            return
        text, markup = await render_mine(session, person, callback_data.page, t)
    else:
        words = ""
        if callback_data.query_id:
            saved = await session.get(SavedQuery, callback_data.query_id)
            if saved is None or saved.community_id != community.id or saved.kind != SAVED_KIND:
                log.info(
                    "requirements page with unknown query %s from user %s",
                    callback_data.query_id,
                    callback.from_user.id,
                )
                await callback.answer(t.alert("common/button_unknown"), show_alert=True)
                return
            words = saved.text
        text, markup = await render_list(
            session, community.id, words, callback_data.query_id, callback_data.page, t
        )
    await callback.answer()
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        # A double tap requests the page already shown, and Telegram rejects the identical edit.
        log.debug("requirements page not changed: %s", error.message)


async def render_list(
    session: AsyncSession,
    community_id: int,
    words: str,
    query_id: int,
    page: int,
    t: LocalTexts,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Render page `page` of the open requirements that match the filter words.

    A page past the end shows the last page, because requirements close between presses.
    """
    commodity, state, _ = parse_filters(words)
    found, total = await store.open_requirements(
        session,
        community_id,
        commodity=commodity,
        state=state,
        offset=page * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    if total and page >= pages:
        page = pages - 1
        found, total = await store.open_requirements(
            session,
            community_id,
            commodity=commodity,
            state=state,
            offset=page * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    if not found:
        return t("requirements/list_empty", filtered=bool(words)), None
    text = t(
        "requirements/list",
        entries=[entry_view(t, requirement) for requirement in found],
        page=page,
        pages=pages,
        # A long list without a filter shows how to narrow it.
        suggest_filter=pages > 1 and not words,
    )
    return text, page_markup(t, found, page, pages, RequirementsPage(query_id=query_id))


async def render_mine(
    session: AsyncSession, person: Person, page: int, t: LocalTexts
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Render page `page` of the requirements `person` posted, with their offers."""
    found, total = await store.posted_by(
        session, person.id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, -(-total // PAGE_SIZE))
    if total and page >= pages:
        page = pages - 1
        found, total = await store.posted_by(
            session, person.id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
    if not found:
        return t("requirements/mine_empty"), None
    entries = []
    for requirement in found:
        offers = await store.offers_of(session, requirement.id)
        entries.append(
            {
                **entry_view(t, requirement),
                "offers": [offer_view(t, offer) for offer in offers[:MINE_OFFERS_MAX]],
                "more_offers": max(0, len(offers) - MINE_OFFERS_MAX),
            }
        )
    text = t("requirements/mine", entries=entries, page=page, pages=pages)
    return text, page_markup(t, found, page, pages, RequirementsPage(mine=True))


def page_markup(
    t: LocalTexts,
    requirements: Sequence[Requirement],
    page: int,
    pages: int,
    target: RequirementsPage,
) -> InlineKeyboardMarkup:
    """Build a Details button per requirement and Previous and Next buttons to the neighbours."""
    keyboard = InlineKeyboardBuilder()
    for requirement in requirements:
        keyboard.button(
            text=t.label("requirements", "details_of", number=requirement.id),
            callback_data=RequirementButton(action="details", requirement_id=requirement.id),
        )
    keyboard.adjust(2)
    navigation = []
    if page > 0:
        navigation.append(("previous", page - 1))
    if page + 1 < pages:
        navigation.append(("next", page + 1))
    if navigation:
        keyboard.row(
            *(
                InlineKeyboardButton(
                    text=t.label("requirements", key),
                    callback_data=target.model_copy(update={"page": neighbour}).pack(),
                )
                for key, neighbour in navigation
            )
        )
    return keyboard.as_markup()


def parse_filters(query: str) -> tuple[str | None, str | None, list[str]]:
    """Split "/requirements onion Bihar" into a commodity, a state and unknown words.

    Words are read from the left, in any order and in English or Hindi. At each word the
    longest known name of up to three words wins ("Madhya Pradesh", "pigeon pea"). A
    phrase must name a state or commodity exactly. Only a single word may be a misspelt
    commodity, so that "onion Bihar" is not read as one misspelt commodity.
    """
    commodities, states = load_commodities(), load_states()
    commodity = state = None
    unknown: list[str] = []
    words = query.replace(",", " ").split()
    index = 0
    while index < len(words):
        for size in (3, 2, 1):
            if len(words) - index < size:
                continue
            phrase = " ".join(words[index : index + size])
            found_state = states.parse(phrase) if state is None else None
            found_commodity = None
            if commodity is None and found_state is None:
                found_commodity = commodities.canonical(phrase) or (
                    find_commodity(phrase) if size == 1 else None
                )
            if found_state is not None:
                state = found_state
            elif found_commodity is not None:
                commodity = found_commodity
            else:
                continue
            index += size
            break
        else:
            unknown.append(words[index])
            index += 1
    return commodity, state, unknown


def entry_view(t: LocalTexts, requirement: Requirement) -> dict[str, Any]:
    """Return the template values of a requirement, in the reader's language."""
    return {
        "requirement": requirement,
        "commodity": load_commodities().display_name(requirement.commodity, t.locale),
        "quantity": format_quantity(requirement.quantity),
        "outcome_tonnes": format_quantity(requirement.outcome_tonnes or 0),
        "unit": t.label("requirements", f"unit_{requirement.unit}"),
        "status": t.label("requirements", f"status_{requirement.status}"),
    }


def offer_view(t: LocalTexts, offer: Offer) -> dict[str, Any]:
    """Return an offer's values for a line of a list, with long texts clipped."""
    return {
        "id": offer.id,
        "bso": clip(offer.bso.short_name or offer.bso.name, BSO_NAME_CLIP),
        "tonnes": format_quantity(offer.quantity_tonnes),
        "place": clip(offer.fpos_place, OFFER_PLACE_CLIP),
        "price": clip(offer.price, OFFER_PRICE_CLIP) if offer.price else None,
        "status": t.label("requirements", f"offer_{offer.status}"),
    }


# --- Details --------------------------------------------------------------------------------


@router.callback_query(RequirementButton.filter(F.action.in_({"details", "offers"})))
async def details(
    callback: CallbackQuery,
    callback_data: RequirementButton,
    session: AsyncSession,
    community: Community,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    """Post a requirement's details; "offers" turns the offer page of a details message."""
    requirement = await store.get_requirement(session, community.id, callback_data.requirement_id)
    if requirement is None or not isinstance(callback.message, Message):
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    await callback.answer()
    private = callback.message.chat.type == "private"
    decider = private and may_decide(person, is_facilitator, requirement)
    offers = await store.offers_of(session, requirement.id) if decider else []
    pages = max(1, -(-len(offers) // OFFERS_PER_PAGE))
    page = min(max(callback_data.page, 0), pages - 1)
    shown = offers[page * OFFERS_PER_PAGE : (page + 1) * OFFERS_PER_PAGE]
    text = t(
        "requirements/details",
        **entry_view(t, requirement),
        frequency=t.label("requirements", requirement.frequency),
        offers=[offer_view(t, offer) for offer in shown],
        offers_total=len(offers),
        first_offer=page * OFFERS_PER_PAGE + 1,
        show_contact=sees_contacts(person, is_facilitator, private),
    )
    markup = details_markup(t, requirement, shown, page, pages, decider=decider)
    if callback_data.action == "offers":
        try:
            await callback.message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            # A double tap requests the page already shown, and Telegram rejects the identical edit.
            log.debug("requirement %s offers page not changed: %s", requirement.id, error.message)
        return
    await callback.message.answer(text, reply_markup=markup)


def details_markup(
    t: LocalTexts,
    requirement: Requirement,
    offers: Sequence[Offer],
    page: int,
    pages: int,
    *,
    decider: bool,
) -> InlineKeyboardMarkup:
    """Build Accept and Decline per pending offer shown, the offer pages' buttons and Close."""
    keyboard = InlineKeyboardBuilder()
    is_open = requirement.status not in store.FINAL_STATUSES
    for offer in offers:
        if offer.status == "pending" and is_open:
            keyboard.row(*decision_buttons(t, offer))
    navigation = [
        InlineKeyboardButton(
            text=t.label("requirements", key),
            callback_data=RequirementButton(
                action="offers", requirement_id=requirement.id, page=neighbour
            ).pack(),
        )
        for key, neighbour, shown in (
            ("previous", page - 1, page > 0),
            ("next", page + 1, page + 1 < pages),
        )
        if shown
    ]
    if navigation:
        keyboard.row(*navigation)
    if decider and is_open:
        keyboard.row(
            button(
                t.label("requirements", "close"),
                RequirementButton(action="close", requirement_id=requirement.id),
            )
        )
    return keyboard.as_markup()


def decision_buttons(t: LocalTexts, offer: Offer) -> list[InlineKeyboardButton]:
    """Return Accept and Decline for the offer's current revision."""
    bso = clip(offer.bso.short_name or offer.bso.name, BSO_NAME_CLIP)
    return [
        button(
            t.label("requirements", action, bso=bso),
            OfferDecision(action=action, offer_id=offer.id, revision=offer.revision),
        )
        for action in ("accept", "decline")
    ]


# --- Closing --------------------------------------------------------------------------------


async def build_close(context: FormContext) -> Form:
    fields = (
        FormField(
            name="outcome",
            kind=Choice(options=context.options("requirements/close", store.OUTCOMES)),
            question="requirements/close/q_outcome",
        ),
        FormField(
            name="tonnes",
            kind=Number(
                unit="tonnes", minimum=0, maximum=1_000_000, unit_synonyms=("t", "tonne", "टन")
            ),
            question="requirements/close/q_tonnes",
            condition=lambda answers: answers.get("outcome") != "not_supplied",
        ),
    )
    return Form(name="rc", fields=fields, summary="requirements/close/title", ttl=context.form_ttl)


async def save_close(context: FormContext, confirmed: Confirmed) -> None:
    session = context.session
    requirement_id = context.extra.get("requirement_id")
    requirement = (
        await store.get_requirement(session, context.community.id, requirement_id)
        if isinstance(requirement_id, int)
        else None
    )
    if requirement is None or not may_decide(context.person, context.is_facilitator, requirement):
        raise FormRejected("requirements/close_refused")
    if requirement.status in store.FINAL_STATUSES:
        raise FormRejected("requirements/close_refused")
    requirement.status = "closed"
    requirement.outcome = confirmed.answers["outcome"]
    requirement.outcome_tonnes = float(confirmed.answers.get("tonnes") or 0)
    requirement.closed_at = context.now
    log.info(
        "requirement %s closed by person %s: %s",
        requirement.id,
        context.person.id,
        requirement.outcome,
    )
    bot, texts, t, chat_id = context.bot, context.texts, context.t, context.chat_id

    async def confirm() -> None:
        await refresh_cards(bot, texts, session, requirement)
        await bot.send_message(
            chat_id,
            t(
                "requirements/closed",
                **entry_view(t, requirement),
                outcome=t.label("requirements/close", requirement.outcome or ""),
            ),
        )

    context.after_commit(confirm)


CLOSE_FLOW = register_flow(
    FormFlow(
        name="rc",
        prompts="requirements/close",
        command="/requirements mine",
        build=build_close,
        save=save_close,
    )
)


@router.callback_query(RequirementButton.filter(F.action == "close"))
async def close_pressed(
    callback: CallbackQuery,
    callback_data: RequirementButton,
    state: FSMContext,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
    **data: Any,
) -> None:
    requirement = await store.get_requirement(
        data["session"], data["community"].id, callback_data.requirement_id
    )
    message = callback.message
    if requirement is None or not isinstance(message, Message) or message.chat.type != "private":
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    if not may_decide(person, is_facilitator, requirement):
        log.warning(
            "close of requirement %s rejected for user %s", requirement.id, callback.from_user.id
        )
        await callback.answer(t.alert("requirements/not_yours"), show_alert=True)
        return
    if requirement.status in store.FINAL_STATUSES:
        await callback.answer(t.alert("requirements/not_open"), show_alert=True)
        return
    await callback.answer()
    context = form_context(
        message,
        person,
        t,
        {**data, "is_facilitator": is_facilitator},
        requirement_id=requirement.id,
    )
    await start_form(CLOSE_FLOW, message, state, context)


# --- Buyer proposals ------------------------------------------------------------------------


@router.callback_query(ProposalDecision.filter())
async def decide_proposal(
    callback: CallbackQuery,
    callback_data: ProposalDecision,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    proposal = await store.get_proposal(session, community.id, callback_data.proposal_id)
    message = await facilitator_press(
        callback,
        known=proposal is not None and callback_data.action in ("add", "dismiss"),
        is_facilitator=is_facilitator,
        t=t,
        private_alert="requirements/private_only",
        subject="buyer proposal",
    )
    if message is None or proposal is None:
        return
    if proposal.status != "pending":
        await callback.answer(t.alert("requirements/already_decided"), show_alert=True)
        return
    if callback_data.action == "add":
        buyer = Buyer(
            community_id=community.id,
            name=proposal.name,
            name_key=name_key(proposal.name),
            commodities=list(proposal.commodities),
            city=proposal.city,
            state=proposal.state,
        )
        session.add(buyer)
        await session.flush()
        proposal.buyer_id = buyer.id
        proposal.status = "added"
        if proposal.requirement_id is not None:
            requirement = await session.get(Requirement, proposal.requirement_id)
            if requirement is not None:
                requirement.buyer_id = buyer.id
        await registries.rebuild_search_terms(session, community.id)
    else:
        proposal.status = "dismissed"
    await session.commit()
    log.info("buyer proposal %s %s by user %s", proposal.id, proposal.status, callback.from_user.id)
    await callback.answer(t.alert(f"requirements/proposal_{proposal.status}"))
    await drop_buttons(callback)


# --- Expiry ---------------------------------------------------------------------------------


class ExpiryTicker:
    """The scheduler ticker that marks requirements whose delivery window ended as expired.

    Each expiry tells the poster once, through an outbox row keyed by the requirement.
    Register `on_startup` with the Dispatcher, so the ticker has the bot that edits cards.
    NOTE: the cards are edited before the scheduler commits; a failed commit leaves a
    card saying expired until the next tick marks the requirement again.
    """

    def __init__(self, texts: Texts) -> None:
        self.texts = texts
        self.bot: Bot | None = None

    async def on_startup(self, bot: Bot) -> None:
        self.bot = bot

    async def __call__(self, session: AsyncSession, now: dt.datetime) -> int:
        queued = 0
        expired = []
        # India is ahead of UTC, so the UTC date plus one day bounds every local date.
        for requirement in await store.due_to_expire(session, now.date() + dt.timedelta(days=1)):
            community = await people.get_community(session, requirement.community_id)
            timezone = zoneinfo.ZoneInfo(community.timezone if community else "Asia/Kolkata")
            if requirement.window_end >= now.astimezone(timezone).date():
                continue
            requirement.status = "expired"
            expired.append(requirement)
            poster = (
                await session.get(Person, requirement.posted_by) if requirement.posted_by else None
            )
            if poster is None:
                continue
            t = self.texts.bind(poster.locale)
            if await outbox_store.add_unique(
                session,
                community_id=requirement.community_id,
                recipient=outbox_store.Recipient(poster.telegram_id, person_id=poster.id),
                payload=outbox_store.text_payload(
                    t("requirements/expired", **entry_view(t, requirement))
                ),
                not_before=now,
                dedup_key=f"rq:{requirement.id}:expired",
            ):
                queued += 1
        await session.flush()
        for requirement in expired:
            log.info("requirement %s expired", requirement.id)
            if self.bot is not None:
                await refresh_cards(self.bot, self.texts, session, requirement)
        return queued
