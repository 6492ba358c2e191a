"""PoC registration: /register in a group or /start in private chat, consent, a form, then approval.

The consent step, with its one-tap language switch, comes before the form: it is not a
question with an answer to edit. On agreement the form engine (`handlers.forms`) runs
the registration form, and confirming it saves the person as pending and sends the
registration to the facilitators (`handlers.approvals`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import LOCALES
from bot.forms import Choice, CommodityList, FieldError, Form, Option, Phone, ShortText, StateList
from bot.forms.base import clean_line, typed
from bot.forms.engine import Confirmed, FormField
from bot.texts import LocalTexts, Texts
from handlers import approvals
from handlers.asks import form_context
from handlers.callbacks import RegistrationStep
from handlers.forms import (
    FORM_STATE,
    FormContext,
    FormFlow,
    FormRejected,
    register_flow,
    start_form,
)
from handlers.keyboards import button, drop_buttons
from storage import people
from storage.models import Bso, Community, Person

log = logging.getLogger(__name__)
router = Router(name="registration")

NAME_MAX = 100
ROLE_MAX = 100
BSO_NAME_MAX = 200
# Keeps the summary and the facilitator's review well inside Telegram's 4096 characters;
# the commodity field also limits the whole answer to 500 characters.
COMMODITIES_MAX = 20
# A typed BSO name this similar (0-100) to a listed one selects it, so "Pradhan" finds PRADAN.
BSO_MATCH_CUTOFF = 88
# With more BSOs than this, the BSO question shows only the "not listed" button and
# expects a typed name, because a keyboard that long is hard to use.
BSO_BUTTONS_MAX = 20
# The key of the "BSO not listed" option of the BSO question.
NEW_BSO = "new"
# Maximum number of BSOs listed when a typed answer matches several, so the reply stays short.
AMBIGUOUS_MAX = 10
DEEP_LINK_PREFIX = "reg_"
# The flow's name, which every button of the form carries in its callback data.
REGISTRATION_NAME = "reg"


class Registration(StatesGroup):
    consent = State()


# --- The form -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BsoChoice(Choice):
    """The BSO question: a BSO of the community, or NEW_BSO for one that is not listed.

    `options` are the buttons: every BSO and NEW_BSO, or NEW_BSO alone when the BSOs are
    in `typed_only` because there are too many for buttons. A typed answer matches as in
    `Choice`, and otherwise fuzzily: a rapidfuzz WRatio of at least BSO_MATCH_CUTOFF
    against a BSO's name or short name selects it. `names` maps option keys to the
    BSOs' full names, which the summary shows.
    """

    typed_only: tuple[Option, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def every_option(self) -> Choice:
        return Choice(options=(*self.options, *self.typed_only))

    def parse(self, text: str, *, today: dt.date, locale: str) -> str:
        try:
            return self.every_option.parse(text, today=today, locale=locale)
        except FieldError as error:
            if error.code == "choice_ambiguous":
                error.params["candidates"] = error.params["candidates"][:AMBIGUOUS_MAX]
            if error.code != "choice_unknown":
                raise
        closest = self._closest(text)
        if len(closest) == 1:
            return closest[0].key
        if closest:
            raise FieldError(
                "choice_ambiguous",
                typed=typed(text),
                candidates=[option.label(locale) for option in closest[:AMBIGUOUS_MAX]],
            )
        raise FieldError("bso_not_found", typed=typed(text))

    def _closest(self, text: str) -> list[Option]:
        """Return the BSOs whose name or short name is closest to `text`, if close enough.

        Several BSOs come back only when they tie for the best score.
        """
        bsos = [option for option in self.every_option.options if option.key != NEW_BSO]
        names = [
            (option.key, name) for option in bsos for name in (option.label("en"), *option.synonyms)
        ]
        found = closest_names(text, names)
        return [option for option in bsos if option.key in found]

    def display(self, value: str, locale: str) -> str:
        return self.names.get(value) or self.every_option.display(value, locale)

    def from_json(self, data: Any) -> str:
        return self.every_option.from_json(data)


def bso_key(bso_id: int) -> str:
    return f"b{bso_id}"


def bso_field(bsos: Sequence[Bso], texts: Texts) -> FormField:
    """Build the BSO question: buttons for a short list, typed names for a long one."""
    listed = tuple(
        Option(
            key=bso_key(bso.id),
            labels={"en": bso.short_name or bso.name},
            synonyms=(bso.name,) if bso.short_name else (),
        )
        for bso in bsos
    )
    not_listed = Option(
        key=NEW_BSO,
        labels={
            locale: texts.label(locale, "registration", "bso_not_listed") for locale in LOCALES
        },
    )
    names = {bso_key(bso.id): bso.name for bso in bsos}
    if len(bsos) <= BSO_BUTTONS_MAX:
        kind = BsoChoice(options=(*listed, not_listed), names=names)
        return FormField(name="bso", kind=kind, question="registration/q_bso")
    kind = BsoChoice(options=(not_listed,), typed_only=listed, names=names)
    return FormField(name="bso", kind=kind, question="registration/q_bso_typed")


def language_options(texts: Texts) -> tuple[Option, ...]:
    def labels(key: str) -> dict[str, str]:
        return {locale: texts.label(locale, "registration", key) for locale in LOCALES}

    return (
        Option(key="en", labels=labels("english"), synonyms=("english", "अंग्रेज़ी", "अंग्रेजी")),
        Option(key="hi", labels=labels("hindi"), synonyms=("hindi", "हिन्दी", "हिंदी")),
    )


def registration_community(context: FormContext) -> int:
    """Return the community the person registers in, which `begin` stored with the consent."""
    community_id = context.extra.get("community_id")
    return community_id if isinstance(community_id, int) else context.community.id


async def build_registration(context: FormContext) -> Form:
    bsos = await people.list_bsos(context.session, registration_community(context))
    fields = (
        FormField(
            name="name",
            kind=ShortText(max_length=NAME_MAX, letters_required=True),
            question="registration/q_name",
        ),
        bso_field(bsos, context.texts),
        FormField(
            name="bso_new",
            kind=ShortText(max_length=BSO_NAME_MAX, letters_required=True),
            question="registration/q_bso_new",
            condition=lambda answers: answers.get("bso") == NEW_BSO,
        ),
        FormField(
            name="role",
            kind=ShortText(max_length=ROLE_MAX, letters_required=True),
            question="registration/q_role",
        ),
        FormField(name="phone", kind=Phone(), question="registration/q_phone", optional=True),
        FormField(name="states", kind=StateList(), question="registration/q_states"),
        FormField(
            name="commodities",
            kind=CommodityList(max_count=COMMODITIES_MAX),
            question="registration/q_commodities",
        ),
        FormField(
            name="language",
            kind=Choice(options=language_options(context.texts)),
            question="registration/q_language",
        ),
    )
    return Form(
        name=REGISTRATION_NAME, fields=fields, summary="registration/title", ttl=context.form_ttl
    )


async def closest_listed_bso(session: AsyncSession, community_id: int, name: str) -> Bso | None:
    """Return the one listed BSO whose name or short name a typed new name misspells, if any.

    The same rapidfuzz WRatio cutoff as the BSO question applies, so "Pradhan" typed as a
    new BSO joins PRADAN rather than proposing a duplicate. A tie returns None.
    """
    bsos = await people.list_bsos(session, community_id)
    names = [
        (bso.id, bso_name) for bso in bsos for bso_name in (bso.name, bso.short_name) if bso_name
    ]
    found = closest_names(name, names)
    if len(found) != 1:
        return None
    return next(bso for bso in bsos if bso.id == found[0])


def closest_names(text: str, names: list[tuple[Any, str]]) -> list[Any]:
    """Return the keys of the names closest to `text` with a WRatio of at least BSO_MATCH_CUTOFF.

    `names` pairs a key with one of its names, and a key may have several. More than one
    key comes back only when they tie for the best score.
    """
    matches = process.extract(
        clean_line(text),
        {index: name for index, (_, name) in enumerate(names)},
        scorer=fuzz.WRatio,
        processor=str.casefold,
        score_cutoff=BSO_MATCH_CUTOFF,
        limit=None,
    )
    if not matches:
        return []
    best = max(score for _, score, _ in matches)
    return list(dict.fromkeys(names[index][0] for _, score, index in matches if score == best))


def chosen_language(answers: Mapping[str, Any]) -> str | None:
    """Return the language the person chose, which the summary and confirmation use."""
    language = answers.get("language")
    return language if isinstance(language, str) else None


async def save_registration(context: FormContext, confirmed: Confirmed) -> None:
    """Store the answers on the person, as pending, and tell them and the facilitators."""
    answers = confirmed.answers
    session = context.session
    registrant = await registrant_in_community(
        session, context.person, registration_community(context)
    )
    if answers["bso"] == NEW_BSO:
        # A typed name of a listed BSO selects it; a new one joins the list on approval.
        bso = await people.find_bso_by_name(session, registrant.community_id, answers["bso_new"])
        if bso is None:
            bso = await closest_listed_bso(session, registrant.community_id, answers["bso_new"])
        proposed = None if bso is not None else answers["bso_new"]
    else:
        bso = await people.get_bso(
            session, registrant.community_id, int(answers["bso"].removeprefix("b"))
        )
        proposed = None
        if bso is None:
            # Deleted after this update built the form. The next build drops the answer, so
            # the next press on the summary repeats the BSO question.
            raise FormRejected("registration/bso_gone", keep=True)

    registrant.name = answers["name"]
    registrant.bso_id = bso.id if bso is not None else None
    registrant.proposed_bso_name = proposed
    registrant.bso_role = answers["role"]
    registrant.phone = answers["phone"]
    registrant.states = list(answers["states"])
    registrant.commodities = list(answers["commodities"])
    registrant.locale = answers["language"]
    registrant.consent_at = consent_time(context)
    registrant.status = "pending"
    via_chat_id = context.extra.get("via_chat_id")
    registrant.registered_via_chat_id = via_chat_id if isinstance(via_chat_id, int) else None
    await session.flush()
    log.info("person %s registered, pending approval", registrant.id)

    bot, texts, settings, chat_id = context.bot, context.texts, context.settings, context.chat_id
    submitted = texts.bind(registrant.locale)("registration/submitted")

    async def notify() -> None:
        # The joined `bso` relationship still contains the BSO loaded before the change.
        await session.refresh(registrant, ["bso"])
        await approvals.notify_facilitators(bot, texts, settings, session, registrant)

    context.after_commit(lambda: bot.send_message(chat_id, submitted))
    context.after_commit(notify)


def consent_time(context: FormContext) -> dt.datetime:
    """Return when the person agreed, as stored when the form started."""
    stored = context.extra.get("consent_at")
    if isinstance(stored, str):
        try:
            return dt.datetime.fromisoformat(stored)
        except ValueError:
            log.warning("stored consent time %r is invalid; using the time of saving", stored)
    return context.now


async def registrant_in_community(
    session: AsyncSession, person: Person, community_id: int
) -> Person:
    if community_id == person.community_id:
        return person
    other = await people.get_person(session, community_id, person.telegram_id)
    return other or person


REGISTRATION_FLOW = register_flow(
    FormFlow(
        name=REGISTRATION_NAME,
        prompts="registration",
        command="/register",
        build=build_registration,
        save=save_registration,
        locale=chosen_language,
    )
)


# --- Entry points ---------------------------------------------------------------------------


@router.message(Command("register"), F.chat.type.in_({"group", "supergroup"}))
async def register_in_group(message: Message, bot: Bot, t: LocalTexts) -> None:
    link = await create_start_link(bot, f"{DEEP_LINK_PREFIX}{message.chat.id}")
    keyboard = InlineKeyboardBuilder()
    keyboard.button(text=t.label("registration", "continue_private"), url=link)
    await message.reply(t("registration/continue_in_private"), reply_markup=keyboard.as_markup())


@router.message(CommandStart(), F.chat.type == "private")
async def start_in_private(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    via_chat_id = await group_from_payload(session, command.args)
    if via_chat_id is None and is_facilitator and person.status == "new":
        # Facilitators need not register; /register still works for one who is also a PoC.
        await message.answer(t("registration/facilitator_welcome"))
        return
    if via_chat_id is not None:
        group = await people.get_group(session, via_chat_id)
        if group is not None and group.community_id != community.id:
            # The person came from a group of another community: register them there.
            other = await people.get_community(session, group.community_id)
            assert other is not None
            person = await people.touch_person(
                session,
                community_id=other.id,
                telegram_id=person.telegram_id,
                telegram_name=person.telegram_name,
                username=person.username,
                in_private_chat=True,
            )
            await session.commit()
    await begin(message, state, person, t, via_chat_id=via_chat_id)


@router.message(Command("register"), F.chat.type == "private")
async def register_in_private(
    message: Message, state: FSMContext, person: Person, t: LocalTexts
) -> None:
    await begin(message, state, person, t, via_chat_id=None)


async def group_from_payload(session: AsyncSession, payload: str | None) -> int | None:
    """Return the group id a deep link carries, if it names a group stored in the database."""
    if not payload or not payload.startswith(DEEP_LINK_PREFIX):
        return None
    raw = payload.removeprefix(DEEP_LINK_PREFIX)
    # Telegram chat ids have at most 52 significant bits; anything longer is forged.
    if not raw.lstrip("-").isdigit() or len(raw) > 17:
        return None
    group = await people.get_group(session, int(raw))
    return group.telegram_chat_id if group else None


async def begin(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, *, via_chat_id: int | None
) -> None:
    if person.status == "pending":
        await message.answer(t("registration/already_pending"))
        return

    await state.clear()
    await state.set_state(Registration.consent)
    await state.update_data(community_id=person.community_id, via_chat_id=via_chat_id)
    await send_consent(message, person, t)


# --- Consent --------------------------------------------------------------------------------


async def send_consent(message: Message, person: Person, t: LocalTexts) -> None:
    """Send the welcome and the consent question, with a switch to the other language."""
    other_locale = "en" if t.locale == "hi" else "hi"
    keyboard = InlineKeyboardBuilder()
    keyboard.button(
        text=t.label("registration", "agree"),
        callback_data=RegistrationStep(action="consent", value="yes"),
    )
    keyboard.button(
        text=t.label("registration", "decline"),
        callback_data=RegistrationStep(action="consent", value="no"),
    )
    keyboard.row(
        button(
            t.label("registration", f"switch_to_{other_locale}"),
            RegistrationStep(action="locale", value=other_locale),
        )
    )
    template = (
        "registration/welcome_back" if person.status == "approved" else "registration/welcome"
    )
    await message.answer(t(template, person=person))
    await message.answer(t("registration/consent"), reply_markup=keyboard.as_markup())


@router.callback_query(Registration.consent, RegistrationStep.filter(F.action == "locale"))
async def locale_switched(
    callback: CallbackQuery,
    callback_data: RegistrationStep,
    session: AsyncSession,
    person: Person,
    texts: Texts,
) -> None:
    await callback.answer()
    if callback_data.value not in LOCALES or not isinstance(callback.message, Message):
        return
    await drop_buttons(callback)
    # Everything from here on, the questions included, comes in the chosen language.
    person.locale = callback_data.value
    await session.commit()
    await send_consent(callback.message, person, texts.bind(person.locale))


@router.callback_query(Registration.consent, RegistrationStep.filter(F.action == "consent"))
async def consent_given(
    callback: CallbackQuery,
    callback_data: RegistrationStep,
    state: FSMContext,
    person: Person,
    t: LocalTexts,
    **data: Any,
) -> None:
    await callback.answer()
    await drop_buttons(callback)
    if not isinstance(callback.message, Message):
        return
    if callback_data.value != "yes":
        await state.clear()
        await callback.message.answer(t("registration/declined"))
        return
    await start_registration(callback.message, state, person, t, data)


@router.message(Registration.consent, F.text & ~F.text.startswith("/"))
async def consent_typed(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, **data: Any
) -> None:
    answer = (message.text or "").strip().casefold()
    if answer in {"yes", "i agree", "agree", "हाँ", "हां", "सहमत", "मैं सहमत हूँ"}:
        await start_registration(message, state, person, t, data)
    elif answer in {"no", "नहीं"}:
        await state.clear()
        await message.answer(t("registration/declined"))
    else:
        await message.answer(t("registration/consent_press_button"))


@router.message(Registration.consent)
@router.edited_message(Registration.consent)
async def other_at_consent(message: Message, t: LocalTexts) -> None:
    await message.answer(t("registration/consent_press_button"))


async def start_registration(
    message: Message, state: FSMContext, person: Person, t: LocalTexts, data: dict[str, Any]
) -> None:
    """Start the form after consent; the consent time and the community go in its extras."""
    stored = await state.get_data()
    community_id = stored.get("community_id")
    context = form_context(
        message,
        person,
        t,
        data,
        community_id=community_id if isinstance(community_id, int) else person.community_id,
        via_chat_id=stored.get("via_chat_id"),
        consent_at=data["clock"].now().isoformat(),
    )
    await start_form(REGISTRATION_FLOW, message, state, context)


@router.callback_query(RegistrationStep.filter())
async def button_after_consent(callback: CallbackQuery, state: FSMContext, t: LocalTexts) -> None:
    """Answer a registration button that does not apply now, such as consent pressed mid-form."""
    if await state.get_state() in (FORM_STATE, Registration.consent.state):
        await callback.answer(t.alert("forms/stale"), show_alert=True)
        return
    await callback.answer(t.alert("registration/errors/form_closed"), show_alert=True)
    await drop_buttons(callback)
