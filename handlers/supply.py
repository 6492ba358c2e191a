"""Supply profiles: /supply records what a BSO's FPOs produce, where, when and how much.

Any approved PoC of a BSO lists, adds, edits and deletes that BSO's profiles, one per
commodity. Facilitators see every BSO's profiles with `/supply all`, read-only. Each
button press loads the presser again and checks that they are still an approved PoC
and that the profile belongs to their BSO, because callback data can be forged.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot import matching
from bot.forms import Form, MonthSet, Number, ShortText, StateList
from bot.forms.base import (
    Field,
    FieldError,
    clean_line,
    has_letter_or_digit,
    require_text,
    require_type,
    typed,
)
from bot.forms.engine import Confirmed, FormField
from bot.forms.fields import indian_grouping
from bot.forms.months import display_months, season_order
from bot.texts import MESSAGE_LIMIT, TAG, LocalTexts, clip, utf16_length
from handlers.asks import form_context, poc_refusal
from handlers.callbacks import SupplyAction
from handlers.forms import FormContext, FormFlow, FormRejected, register_flow, start_form
from handlers.keyboards import button
from storage import supply as supply_store
from storage.models import Bso, Community, Person, SupplyProfile
from storage.normalize import load_commodities, load_states, split_list

log = logging.getLogger(__name__)
router = Router(name="supply")

PROMPTS = "supply"
# The form's name, which every button of the form carries in its callback data.
FLOW_NAME = "supply"
ACTIONS = ("list", "add", "edit", "delete", "delete_yes", "delete_keep")
# Arguments of /supply that show every BSO's profiles to a facilitator.
ALL_WORDS = ("all", "sab", "सब", "सभी")
MAX_STATES = 10
MAX_DISTRICTS = 15
DISTRICT_MAX_LENGTH = 60
VARIETY_MAX_LENGTH = 200
# The largest typical volume per season accepted, in tonnes, and the smallest (10 kg).
MAX_TONNES = 1_000_000.0
MIN_TONNES = 0.01
# Characters of a facilitator's list per message, below Telegram's 4096.
MESSAGE_BUDGET = 3500
# Characters of the places of one profile in a list line.
PLACES_MAX = 120
# The variety and the places of a profile in a PoC's /supply list, clipped so that
# MAX_PROFILES_PER_BSO profiles of maximum-length answers (about 240 characters each)
# and a note fit one message.
LIST_VARIETY_MAX = 40
LIST_PLACES_MAX = 80
# An HTML-like tag in typed text, with or without attributes.
HTML_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")


# --- Field types of the form ------------------------------------------------------------------


def _commodity_lookup(text: str) -> str | None:
    """Return the canonical commodity for a typed name, correcting typos when the
    typo-tolerant `bot.matching.commodity_of` exists."""
    lookup: Callable[[str], str | None] | None = getattr(matching, "commodity_of", None)
    if lookup is not None:
        return lookup(text)
    return load_commodities().canonical(text)


@dataclass(frozen=True, kw_only=True)
class SupplyCommodity(Field[str]):
    """One commodity from the synonym list, typed in any listed language.

    `taken` contains the canonical names the BSO already has a profile of, which raise
    FieldError("supply_commodity_taken").
    """

    taken: frozenset[str] = frozenset()
    max_length: int = 60

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        answer = clean_line(require_text(text))
        if len(answer) > self.max_length:
            raise FieldError("commodity_too_long", typed=typed(answer), maximum=self.max_length)
        # Tags such as "<b>mango</b>" are plain text here, and their "/" must not split
        # one commodity in two.
        name = clean_line(HTML_TAG_RE.sub(" ", answer))
        items = split_list(name)
        if len(items) > 1:
            raise FieldError(
                "supply_commodity_several",
                typed=typed(answer),
                names=[typed(item) for item in items],
            )
        if not any(char.isalpha() for char in name):
            raise FieldError("commodity_no_letters", typed=typed(answer))
        commodity = _commodity_lookup(name)
        if commodity is None:
            raise FieldError("commodity_unknown", unknown=[typed(answer)])
        if commodity in self.taken:
            commodities = load_commodities()
            raise FieldError(
                "supply_commodity_taken", commodity=commodities.display_name(commodity, locale)
            )
        return commodity

    def display(self, value: str, locale: str) -> str:
        return load_commodities().display_name(value, locale)

    def to_json(self, value: str) -> str:
        return value

    def from_json(self, data: Any) -> str:
        require_type(data, str, "commodity")
        return str(data)


@dataclass(frozen=True, kw_only=True)
class DistrictList(Field[tuple[str, ...]]):
    """District names as typed, separated by commas, "and" or "और", and not checked against a list."""

    max_count: int = MAX_DISTRICTS
    max_item_length: int = DISTRICT_MAX_LENGTH

    def parse(self, text: str, *, today: dt.date, locale: str) -> tuple[str, ...]:
        answer = clean_line(require_text(text))
        names = list(dict.fromkeys(split_list(answer)))
        if not names:
            raise FieldError("empty")
        for name in names:
            if not has_letter_or_digit(name):
                raise FieldError("text_no_letters", typed=typed(name))
            if len(name) > self.max_item_length:
                raise FieldError("text_too_long", length=len(name), maximum=self.max_item_length)
        if len(names) > self.max_count:
            raise FieldError("list_too_many", count=len(names), maximum=self.max_count)
        return tuple(names)

    def display(self, value: tuple[str, ...], locale: str) -> str:
        return ", ".join(value)

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def from_json(self, data: Any) -> tuple[str, ...]:
        require_type(data, list, "districts")
        for item in data:
            require_type(item, str, "district")
        return tuple(data)


# Units a typed volume may use, and how many tonnes one of each is.
_VOLUME_UNITS: tuple[tuple[Number, float], ...] = (
    (
        Number(
            unit="tonnes",
            minimum=0,
            unit_labels={"en": "tonnes", "hi": "टन"},
            unit_synonyms=("t", "ton", "tonne", "mt", "metric tonne", "टन", "मीट्रिक टन"),
        ),
        1.0,
    ),
    (
        Number(
            unit="quintal",
            minimum=0,
            unit_synonyms=("q", "qtl", "qtls", "quintals", "क्विंटल", "कुंतल", "क्वींटल"),
        ),
        0.1,
    ),
    (
        Number(
            unit="kg",
            minimum=0,
            unit_synonyms=("kgs", "kilo", "kilos", "kilogram", "किलो", "किग्रा", "किलोग्राम"),
        ),
        0.001,
    ),
)
_TONNE_LABELS = {"en": "tonnes", "hi": "टन"}


@dataclass(frozen=True, kw_only=True)
class VolumeTonnes(Field[float]):
    """A quantity in tonnes, quintals or kg ("500 t", "200 क्विंटल"), converted to tonnes.

    A number without a unit is in tonnes.
    """

    def parse(self, text: str, *, today: dt.date, locale: str) -> float:
        first_error: FieldError | None = None
        for number, tonnes_per_unit in _VOLUME_UNITS:
            try:
                value = number.parse(text, today=today, locale=locale)
            except FieldError as error:
                if error.code != "number_wrong_unit":
                    raise
                first_error = first_error or error
                continue
            tonnes = round(float(value) * tonnes_per_unit, 3)
            if not MIN_TONNES <= tonnes <= MAX_TONNES:
                raise FieldError(
                    "number_out_of_range",
                    typed=typed(text),
                    minimum=MIN_TONNES,
                    maximum=MAX_TONNES,
                    unit="tonnes",
                )
            return tonnes
        assert first_error is not None
        raise first_error

    def display(self, value: float, locale: str) -> str:
        return tonnes_text(value, locale)

    def to_json(self, value: float) -> float:
        return value

    def from_json(self, data: Any) -> float:
        require_type(data, (int, float), "volume")
        return float(data)


def tonnes_text(value: float, locale: str) -> str:
    """Format tonnes with Indian digit grouping: "1,200 tonnes", "1,200 टन"."""
    number = int(value) if float(value).is_integer() else value
    return f"{indian_grouping(number)} {_TONNE_LABELS.get(locale, _TONNE_LABELS['en'])}"


# --- The form ---------------------------------------------------------------------------------


def build_fields(taken: frozenset[str]) -> tuple[FormField, ...]:
    return (
        FormField(
            name="commodity", kind=SupplyCommodity(taken=taken), question="supply/q_commodity"
        ),
        FormField(
            name="variety",
            kind=ShortText(max_length=VARIETY_MAX_LENGTH),
            question="supply/q_variety",
            optional=True,
        ),
        FormField(name="states", kind=StateList(max_count=MAX_STATES), question="supply/q_states"),
        FormField(
            name="districts", kind=DistrictList(), question="supply/q_districts", optional=True
        ),
        FormField(name="harvest_months", kind=MonthSet(), question="supply/q_harvest_months"),
        FormField(name="volume", kind=VolumeTonnes(), question="supply/q_volume", optional=True),
    )


async def build_form(context: FormContext) -> Form:
    """Build the form, in which the commodities of the BSO's other profiles are taken."""
    bso_id = int(context.extra["bso_id"])
    profiles = await supply_store.list_profiles(context.session, context.community.id, bso_id)
    editing = context.extra.get("edit_id")
    taken = frozenset(profile.commodity for profile in profiles if profile.id != editing)
    return Form(
        name=FLOW_NAME,
        fields=build_fields(taken),
        summary="supply/title",
        ttl=context.form_ttl,
    )


def answer_values(answers: Mapping[str, Any]) -> supply_store.SupplyValues:
    return supply_store.SupplyValues(
        commodity=str(answers["commodity"]),
        variety=answers.get("variety"),
        states=tuple(answers.get("states") or ()),
        districts=tuple(answers.get("districts") or ()),
        harvest_months=tuple(answers["harvest_months"]),
        volume_tonnes=answers.get("volume"),
    )


def profile_answers(profile: SupplyProfile) -> dict[str, Any]:
    """Convert a profile to `Field.to_json` values of the form, to prefill an edit."""
    return {
        "commodity": profile.commodity,
        "variety": profile.variety,
        "states": list(profile.states),
        "districts": list(profile.districts) or None,
        "harvest_months": list(season_order(profile.harvest_months)),
        "volume": profile.volume_tonnes,
    }


async def save_profile(context: FormContext, confirmed: Confirmed) -> None:
    """Add the profile, or overwrite the one named by extra["edit_id"], and then show the list."""
    session = context.session
    bso_id = int(context.extra["bso_id"])
    person = await session.get(Person, context.person.id)
    if person is None or poc_refusal(person) is not None or person.bso_id != bso_id:
        raise FormRejected("supply/not_poc_anymore")

    values = answer_values(confirmed.answers)
    edit_id = context.extra.get("edit_id")
    commodity = load_commodities().display_name(values.commodity, context.locale)
    try:
        if isinstance(edit_id, int):
            profile = await supply_store.update_profile(
                session,
                community_id=person.community_id,
                bso_id=bso_id,
                profile_id=edit_id,
                values=values,
                person_id=person.id,
            )
            if profile is None:
                raise FormRejected("supply/gone")
        else:
            profile = await supply_store.add_profile(
                session,
                community_id=person.community_id,
                bso_id=bso_id,
                values=values,
                person_id=person.id,
            )
    except supply_store.DuplicateCommodity:
        # Another PoC of the BSO added this commodity while the form was open.
        raise FormRejected("supply/duplicate", keep=True, commodity=commodity) from None
    except supply_store.TooManyProfiles:
        raise FormRejected("supply/too_many", maximum=supply_store.MAX_PROFILES_PER_BSO) from None
    log.info(
        "supply profile %s of BSO %s %s by person %s",
        profile.id,
        bso_id,
        "updated" if isinstance(edit_id, int) else "added",
        person.id,
    )

    note = context.t("supply/saved", commodity=commodity, edited=isinstance(edit_id, int))
    text, keyboard = await render_list(session, context.community, person, context.t, note=note)
    bot, chat_id = context.bot, context.chat_id
    context.after_commit(lambda: bot.send_message(chat_id, text, reply_markup=keyboard))


SUPPLY_FLOW = register_flow(
    FormFlow(
        name=FLOW_NAME, prompts=PROMPTS, command="/supply", build=build_form, save=save_profile
    )
)


# --- Showing profiles -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileView:
    """A profile with every value a template shows, in the reader's language."""

    profile: SupplyProfile
    commodity: str
    variety: str | None
    places: str
    months: str
    volume: str | None
    # The BSO's short name, else its name.
    bso: str


def profile_view(
    t: LocalTexts,
    profile: SupplyProfile,
    *,
    variety_max: int = VARIETY_MAX_LENGTH,
    places_max: int = PLACES_MAX,
) -> ProfileView:
    """Prepare a profile for a template, its variety and places clipped to the given lengths."""
    locale = t.locale
    states = load_states()
    places = ", ".join(states.display_name(name, locale) for name in profile.states)
    if profile.districts:
        places = f"{places} ({', '.join(profile.districts)})"
    return ProfileView(
        profile=profile,
        commodity=load_commodities().display_name(profile.commodity, locale),
        variety=clip(profile.variety, variety_max) if profile.variety else None,
        places=clip(places, places_max),
        months=display_months(
            season_order(profile.harvest_months),
            locale,
            all_year=t.label(PROMPTS, "all_year"),
        ),
        volume=tonnes_text(profile.volume_tonnes, locale)
        if profile.volume_tonnes is not None
        else None,
        bso=profile.bso.short_name or profile.bso.name,
    )


async def render_list(
    session: AsyncSession,
    community: Community,
    person: Person,
    t: LocalTexts,
    *,
    note: Markup | None = None,
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render the BSO's profiles with an edit and a delete button each, and an add button."""
    assert person.bso_id is not None
    profiles = await supply_store.list_profiles(session, community.id, person.bso_id)
    views = [
        profile_view(t, profile, variety_max=LIST_VARIETY_MAX, places_max=LIST_PLACES_MAX)
        for profile in profiles
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for number, view in enumerate(views, start=1):
        profile_id = view.profile.id
        rows.append(
            [
                button(
                    t.label(PROMPTS, "edit", number=number, commodity=view.commodity),
                    SupplyAction(action="edit", profile_id=profile_id),
                ),
                button(
                    t.label(PROMPTS, "delete", number=number),
                    SupplyAction(action="delete", profile_id=profile_id),
                ),
            ]
        )
    if len(views) < supply_store.MAX_PROFILES_PER_BSO:
        rows.append([button(t.label(PROMPTS, "add"), SupplyAction(action="add"))])
    bso = await session.get(Bso, person.bso_id)
    values = {"profiles": views, "bso": bso.name if bso else "", "note": note}
    text = t("supply/list", **values, compact=False)
    if utf16_length(TAG.sub("", text)) > MESSAGE_LIMIT:
        # Only more profiles than the cap allows get here (rows written before the cap, or
        # by hand). One line per profile keeps every edit and delete button reachable.
        log.warning(
            "supply list of BSO %s too long; %d profiles shown compact", person.bso_id, len(views)
        )
        text = t("supply/list", **values, compact=True)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def chunk_lines(lines: Sequence[str], budget: int = MESSAGE_BUDGET) -> list[list[str]]:
    """Group lines into messages of at most `budget` characters each, keeping their order."""
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if chunks[-1] and size + len(line) > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return chunks


# --- Commands and buttons ---------------------------------------------------------------------


@router.message(Command("supply"), StateFilter(None))
async def show_supply(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    community: Community,
    person: Person,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if message.chat.type != "private":
        await message.reply(t("supply/private_only"))
        return
    argument = (command.args or "").strip().casefold()
    if argument in ALL_WORDS:
        if not is_facilitator:
            await message.answer(t("supply/all_facilitators_only"))
            return
        await show_all(message, session, community, t)
        return
    refusal = poc_refusal(person)
    if refusal is not None and is_facilitator:
        # One message: a facilitator outside every BSO most likely wants every BSO's list.
        await message.answer(t("supply/all_hint", pending=refusal == "asks/pending_only"))
        return
    if refusal is not None:
        await message.answer(t(refusal, command="/supply"))
        return
    text, keyboard = await render_list(session, community, person, t)
    await message.answer(text, reply_markup=keyboard)


async def show_all(
    message: Message, session: AsyncSession, community: Community, t: LocalTexts
) -> None:
    """Send every BSO's profiles, read-only, in as many messages as their length needs."""
    profiles = await supply_store.list_profiles(session, community.id)
    if not profiles:
        await message.answer(t("supply/all_empty"))
        return
    lines = [str(t("supply/all_line", view=profile_view(t, profile))) for profile in profiles]
    chunks = chunk_lines(lines)
    for index, chunk in enumerate(chunks):
        await message.answer(
            t(
                "supply/all",
                lines=[Markup(line) for line in chunk],
                first=index == 0,
                total=len(profiles),
                bsos=len({profile.bso_id for profile in profiles}),
            )
        )
    log.info("facilitator %s listed %d supply profiles", message.chat.id, len(profiles))


@router.callback_query(SupplyAction.filter())
async def supply_button(
    callback: CallbackQuery, callback_data: SupplyAction, state: FSMContext, **data: Any
) -> None:
    t: LocalTexts = data["t"]
    session: AsyncSession = data["session"]
    community: Community = data["community"]
    person: Person | None = data.get("person")
    message = callback.message

    if callback_data.action not in ACTIONS:
        log.info("unknown supply button %r from user %s", callback.data, callback.from_user.id)
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return
    refusal = poc_refusal(person) if person is not None else "asks/pocs_only"
    if refusal is not None:
        log.info("supply button of user %s rejected: %s", callback.from_user.id, refusal)
        await callback.answer(t.alert(refusal, command="/supply"), show_alert=True)
        return
    assert person is not None and person.bso_id is not None
    if not isinstance(message, Message) or message.chat.type != "private":
        await callback.answer(t.alert("supply/private_only"), show_alert=True)
        return

    if callback_data.action == "list":
        await callback.answer()
        text, keyboard = await render_list(session, community, person, t)
        await message.answer(text, reply_markup=keyboard)
        return
    if callback_data.action == "add":
        await callback.answer()
        context = form_context(message, person, t, data, bso_id=person.bso_id)
        await start_form(SUPPLY_FLOW, message, state, context)
        return

    profile = await supply_store.get_profile(
        session, community.id, person.bso_id, callback_data.profile_id
    )
    if profile is None:
        log.warning(
            "person %s pressed %s on supply profile %s, which is not their BSO's",
            person.id,
            callback_data.action,
            callback_data.profile_id,
        )
        await callback.answer(t.alert("supply/not_yours"), show_alert=True)
        return
    await profile_button(callback, callback_data.action, profile, state, data)


async def profile_button(
    callback: CallbackQuery,
    action: str,
    profile: SupplyProfile,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Edit, delete, or ask to confirm deleting one of the presser's BSO's profiles."""
    t: LocalTexts = data["t"]
    session: AsyncSession = data["session"]
    person: Person = data["person"]
    message = callback.message
    assert isinstance(message, Message)
    view = profile_view(t, profile)

    if action == "edit":
        await callback.answer()
        context = form_context(message, person, t, data, bso_id=profile.bso_id, edit_id=profile.id)
        log.info("person %s edits supply profile %s", person.id, profile.id)
        await start_form(SUPPLY_FLOW, message, state, context, answers=profile_answers(profile))
    elif action == "delete":
        await callback.answer()
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(
                        t.label(PROMPTS, "delete_yes"),
                        SupplyAction(action="delete_yes", profile_id=profile.id),
                    ),
                    button(
                        t.label(PROMPTS, "delete_keep"),
                        SupplyAction(action="delete_keep", profile_id=profile.id),
                    ),
                ]
            ]
        )
        await show(message, t("supply/delete_confirm", view=view), keyboard)
    elif action == "delete_yes":
        await supply_store.delete_profile(session, profile.community_id, profile.bso_id, profile.id)
        await session.commit()
        log.info("person %s deleted supply profile %s", person.id, profile.id)
        await callback.answer()
        note = t("supply/deleted", commodity=view.commodity)
        text, keyboard = await render_list(session, data["community"], person, t, note=note)
        await show(message, text, keyboard)
    else:
        await callback.answer()
        text, keyboard = await render_list(session, data["community"], person, t)
        await show(message, text, keyboard)


async def show(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        # A double tap shows what is already shown, and Telegram rejects the identical edit.
        if "message is not modified" not in error.message:
            raise


# --- The check-in's offer ---------------------------------------------------------------------


async def checkin_offer(
    session: AsyncSession, community_id: int, bso_id: int, t: LocalTexts
) -> tuple[Markup, InlineKeyboardButton]:
    """Return the check-in confirmation's line on the BSO's supply profiles and its button."""
    profiles = await supply_store.list_profiles(session, community_id, bso_id)
    views = [profile_view(t, profile) for profile in profiles]
    text = t("supply/checkin_offer", profiles=views)
    label = "checkin_update" if views else "checkin_add"
    return text, button(t.label(PROMPTS, label), SupplyAction(action="list"))
