"""PoC registration: /register in a group or /start in private chat, a form, then approval."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.keyboard import InlineKeyboardBuilder
from markupsafe import Markup
from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.forms.base import clean_line
from bot.texts import LocalTexts, Texts
from handlers import approvals
from handlers.callbacks import RegistrationStep
from handlers.keyboards import button, drop_buttons
from storage import people
from storage.models import Community, Person, utcnow
from storage.normalize import Commodities, load_states, parse_phone, split_states

log = logging.getLogger(__name__)
router = Router(name="registration")

NAME_MAX = 100
ROLE_MAX = 100
BSO_NAME_MAX = 200
# Keeps the summary and the facilitator's review well inside Telegram's 4096 characters.
COMMODITIES_MAX = 20
COMMODITY_MAX = 60
# A typed BSO name this similar (0-100) to a listed one selects it, so "Pradan" finds PRADAN.
BSO_MATCH_CUTOFF = 88
DEEP_LINK_PREFIX = "reg_"


# A typed answer; commands are not answers and reach the mid-form handlers at the end.
ANSWER = F.text & ~F.text.startswith("/")


class Registration(StatesGroup):
    consent = State()
    name = State()
    bso = State()
    bso_new = State()
    role = State()
    phone = State()
    states = State()
    commodities = State()
    language = State()
    confirm = State()


# The order of questions; editing one field from the summary returns to the summary.
FIELDS = ("name", "bso", "role", "phone", "states", "commodities", "language")
FIELD_STATES = {
    "name": Registration.name,
    "bso": Registration.bso,
    "role": Registration.role,
    "phone": Registration.phone,
    "states": Registration.states,
    "commodities": Registration.commodities,
    "language": Registration.language,
}


# --- entry points ---------------------------------------------------------------------------


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
    await state.update_data(
        community_id=person.community_id, via_chat_id=via_chat_id, answers={}, editing=False
    )
    await send_consent(message, person, t)


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
    if callback_data.value not in ("en", "hi") or not isinstance(callback.message, Message):
        return
    await drop_buttons(callback)
    # Everything from here on, the questions included, comes in the chosen language.
    person.locale = callback_data.value
    await session.commit()
    await send_consent(callback.message, person, texts.bind(person.locale))


# --- the questions --------------------------------------------------------------------------


@router.callback_query(Registration.consent, RegistrationStep.filter(F.action == "consent"))
async def consent_given(
    callback: CallbackQuery, callback_data: RegistrationStep, state: FSMContext, t: LocalTexts
) -> None:
    await callback.answer()
    await drop_buttons(callback)
    if callback_data.value != "yes":
        await state.clear()
        await reply(callback, t("registration/declined"))
        return
    await state.update_data(consent_at=utcnow().isoformat())
    await ask(callback, state, t, "name")


@router.message(Registration.consent, ANSWER)
async def consent_typed(message: Message, state: FSMContext, t: LocalTexts) -> None:
    answer = (message.text or "").strip().casefold()
    if answer in {"yes", "i agree", "agree", "हाँ", "हां", "सहमत", "मैं सहमत हूँ"}:
        await state.update_data(consent_at=utcnow().isoformat())
        await ask(message, state, t, "name")
    elif answer in {"no", "नहीं"}:
        await state.clear()
        await message.answer(t("registration/declined"))
    else:
        await message.answer(t("registration/consent_press_button"))


@router.message(Registration.name, ANSWER)
async def name_given(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    name = typed_text(message)
    problem = typed_text_problem(t, name, limit=NAME_MAX, letters_key="name_letters")
    if problem is not None:
        await reask(message, state, t, "name", reason=problem)
        return
    await save_answer(message, state, t, session, "name", name)


@router.callback_query(Registration.bso, RegistrationStep.filter(F.action == "bso"))
async def bso_picked(
    callback: CallbackQuery,
    callback_data: RegistrationStep,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
) -> None:
    await callback.answer()
    community_id = (await state.get_data()).get("community_id", community.id)
    bso = None
    if callback_data.value.isdigit():
        bso = await people.get_bso(session, community_id, int(callback_data.value))
    if bso is None:
        # A forged or stale button: the id is not a BSO of this community.
        await reask(
            callback, state, t, "bso", reason=t("registration/errors/bso_unknown"), session=session
        )
        return
    await drop_buttons(callback)
    await save_answer(callback, state, t, session, "bso", {"id": bso.id, "name": bso.name})


@router.callback_query(Registration.bso, RegistrationStep.filter(F.action == "bso_new"))
async def bso_not_listed(callback: CallbackQuery, state: FSMContext, t: LocalTexts) -> None:
    await callback.answer()
    await drop_buttons(callback)
    await state.set_state(Registration.bso_new)
    await reply(callback, t("registration/ask_bso_new", reason=None))


@router.message(Registration.bso, ANSWER)
async def bso_typed(
    message: Message, state: FSMContext, session: AsyncSession, community: Community, t: LocalTexts
) -> None:
    community_id = (await state.get_data()).get("community_id", community.id)
    typed = typed_text(message)
    bsos = await people.list_bsos(session, community_id)
    choices = {bso.id: bso.name for bso in bsos} | {
        -bso.id: bso.short_name for bso in bsos if bso.short_name
    }
    match = process.extractOne(typed, choices, scorer=fuzz.WRatio, processor=str.casefold)
    if match is None or match[1] < BSO_MATCH_CUTOFF:
        await reask(
            message,
            state,
            t,
            "bso",
            reason=t("registration/errors/bso_not_found", typed=typed),
            session=session,
        )
        return
    bso = next(bso for bso in bsos if bso.id == abs(match[2]))
    await save_answer(message, state, t, session, "bso", {"id": bso.id, "name": bso.name})


@router.message(Registration.bso_new, ANSWER)
async def bso_new_given(
    message: Message, state: FSMContext, session: AsyncSession, community: Community, t: LocalTexts
) -> None:
    community_id = (await state.get_data()).get("community_id", community.id)
    name = typed_text(message)
    problem = typed_text_problem(t, name, limit=BSO_NAME_MAX, letters_key="name_letters")
    if problem is not None:
        await reask(message, state, t, "bso_new", reason=problem)
        return
    existing = await people.find_bso_by_name(session, community_id, name)
    answer: dict[str, Any] = (
        {"id": existing.id, "name": existing.name} if existing else {"id": None, "name": name}
    )
    await save_answer(message, state, t, session, "bso", answer)


@router.message(Registration.role, ANSWER)
async def role_given(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    role = typed_text(message)
    problem = typed_text_problem(t, role, limit=ROLE_MAX, letters_key="role_letters")
    if problem is not None:
        await reask(message, state, t, "role", reason=problem)
        return
    await save_answer(message, state, t, session, "role", role)


@router.message(Registration.phone, Command("skip"))
async def phone_skipped_by_command(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await save_answer(message, state, t, session, "phone", None)


@router.callback_query(Registration.phone, RegistrationStep.filter(F.action == "skip"))
async def phone_skipped_by_button(
    callback: CallbackQuery, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await callback.answer()
    await drop_buttons(callback)
    await save_answer(callback, state, t, session, "phone", None)


@router.message(Registration.phone, F.contact)
async def phone_shared(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    assert message.contact is not None
    await phone_text(message, message.contact.phone_number, state, t, session)


@router.message(Registration.phone, ANSWER)
async def phone_given(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await phone_text(message, message.text or "", state, t, session)


async def phone_text(
    message: Message, raw: str, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    try:
        phone = parse_phone(raw)
    except ValueError:
        await reask(
            message, state, t, "phone", reason=t("registration/errors/phone", typed=raw.strip())
        )
        return
    await save_answer(message, state, t, session, "phone", phone)


@router.message(Registration.states, ANSWER)
async def states_given(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    text = message.text or ""
    try:
        known = split_states(text)
        unknown: list[str] = []
    except ValueError:
        states = load_states()
        parts = [part.strip() for part in re.split(r"[,;/|\n]", text) if part.strip()]
        known, unknown = [], [part for part in parts if states.parse(part) is None]
    if unknown:
        await reask(
            message,
            state,
            t,
            "states",
            reason=t("registration/errors/states_unknown", unknown=unknown),
        )
        return
    if not known:
        await reask(message, state, t, "states", reason=t("registration/errors/states_empty"))
        return
    await save_answer(message, state, t, session, "states", known)


@router.message(Registration.commodities, ANSWER)
async def commodities_given(
    message: Message,
    state: FSMContext,
    t: LocalTexts,
    session: AsyncSession,
    commodities: Commodities,
) -> None:
    names = commodities.split(message.text or "")
    if not names:
        await reask(
            message, state, t, "commodities", reason=t("registration/errors/commodities_empty")
        )
        return
    too_long = [name for name in names if len(name) > COMMODITY_MAX]
    if len(names) > COMMODITIES_MAX or too_long:
        reason = t(
            "registration/errors/commodities_too_many",
            count=len(names),
            limit=COMMODITIES_MAX,
            length_limit=COMMODITY_MAX,
            too_long=too_long,
        )
        await reask(message, state, t, "commodities", reason=reason)
        return
    await save_answer(message, state, t, session, "commodities", names)


@router.callback_query(Registration.language, RegistrationStep.filter(F.action == "language"))
async def language_picked(
    callback: CallbackQuery,
    callback_data: RegistrationStep,
    state: FSMContext,
    t: LocalTexts,
    session: AsyncSession,
) -> None:
    await callback.answer()
    if callback_data.value not in ("en", "hi"):
        await reask(callback, state, t, "language", reason=t("registration/errors/language"))
        return
    await drop_buttons(callback)
    await save_answer(callback, state, t, session, "language", callback_data.value)


@router.message(Registration.language, ANSWER)
async def language_typed(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    typed = (message.text or "").strip().casefold()
    languages = {
        "english": "en",
        "en": "en",
        "अंग्रेज़ी": "en",
        "अंग्रेजी": "en",
        "hindi": "hi",
        "hi": "hi",
        "हिन्दी": "hi",
        "हिंदी": "hi",
    }
    if typed not in languages:
        await reask(message, state, t, "language", reason=t("registration/errors/language"))
        return
    await save_answer(message, state, t, session, "language", languages[typed])


# --- summary, edit, confirm -----------------------------------------------------------------


@router.callback_query(Registration.confirm, RegistrationStep.filter(F.action == "edit"))
async def edit_field(
    callback: CallbackQuery,
    callback_data: RegistrationStep,
    state: FSMContext,
    t: LocalTexts,
    session: AsyncSession,
) -> None:
    await callback.answer()
    if callback_data.value not in FIELDS:
        return
    await drop_buttons(callback)
    await state.update_data(editing=True)
    await ask(callback, state, t, callback_data.value, session=session)


@router.callback_query(Registration.confirm, RegistrationStep.filter(F.action == "confirm"))
async def confirmed(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    bot: Bot,
    texts: Texts,
    settings: Settings,
) -> None:
    data = await state.get_data()
    answers = data.get("answers", {})
    if set(FIELDS) - set(answers):
        await callback.answer()
        return
    await callback.answer()
    await drop_buttons(callback)

    registrant = await registrant_in_community(session, person, data.get("community_id"))
    bso_answer = answers["bso"]
    bso = None
    if bso_answer["id"] is not None:
        bso = await people.get_bso(session, registrant.community_id, bso_answer["id"])
        if bso is None:
            # The BSO was removed while the form was open: ask again rather than save without one.
            await state.update_data(editing=True)
            await ask(callback, state, texts.bind(answers["language"]), "bso", session=session)
            return

    registrant.name = answers["name"]
    registrant.bso_id = bso.id if bso else None
    registrant.proposed_bso_name = None if bso else bso_answer["name"]
    registrant.bso_role = answers["role"]
    registrant.phone = answers["phone"]
    registrant.states = answers["states"]
    registrant.commodities = answers["commodities"]
    registrant.locale = answers["language"]
    registrant.consent_at = utcnow()
    registrant.status = "pending"
    registrant.registered_via_chat_id = data.get("via_chat_id")
    await session.commit()
    # The joined `bso` relationship still contains the BSO loaded before the change.
    await session.refresh(registrant, ["bso"])
    await state.clear()
    log.info("person %s registered, pending approval", registrant.id)

    t = texts.bind(registrant.locale)
    await reply(callback, t("registration/submitted"))
    await approvals.notify_facilitators(bot, texts, settings, session, registrant)


@router.callback_query(Registration.confirm, RegistrationStep.filter(F.action == "cancel"))
async def cancelled_from_summary(callback: CallbackQuery, state: FSMContext, t: LocalTexts) -> None:
    await callback.answer()
    await drop_buttons(callback)
    await state.clear()
    await reply(callback, t("common/cancelled"))


@router.message(Registration.confirm, ANSWER)
async def confirm_typed(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await message.answer(t("registration/confirm_press_button"))
    await show_summary(message, state, t)


async def registrant_in_community(
    session: AsyncSession, person: Person, community_id: int | None
) -> Person:
    if community_id is None or community_id == person.community_id:
        return person
    other = await people.get_person(session, community_id, person.telegram_id)
    return other or person


# --- anything else arriving mid-form --------------------------------------------------------


@router.message(StateFilter(Registration), Command("skip"))
async def skip_not_allowed(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await reask_current(message, state, t, session, "not_optional")


@router.message(StateFilter(Registration), F.text.startswith("/"))
async def command_mid_form(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await reask_current(message, state, t, session, "command_mid_form")


@router.message(StateFilter(Registration))
async def not_text(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await reask_current(message, state, t, session, "not_text")


@router.edited_message(StateFilter(Registration))
async def edited_mid_form(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession
) -> None:
    await reask_current(message, state, t, session, "edited")


@router.callback_query(StateFilter(Registration), RegistrationStep.filter())
async def stale_button(callback: CallbackQuery, t: LocalTexts) -> None:
    await callback.answer(t.alert("registration/errors/stale_button"), show_alert=True)


@router.callback_query(RegistrationStep.filter())
async def button_after_form(callback: CallbackQuery, t: LocalTexts) -> None:
    await callback.answer(t.alert("registration/errors/form_closed"), show_alert=True)
    await drop_buttons(callback)


def typed_text(message: Message) -> str:
    """Return the message text on one line, as the form fields clean it.

    Control characters (NUL included, which PostgreSQL rejects in text) become spaces.
    Format characters such as the zero-width joiner stay, because Devanagari needs them.
    """
    return clean_line(message.text or "")


def typed_text_problem(t: LocalTexts, text: str, *, limit: int, letters_key: str) -> Markup | None:
    """Return why a typed name or role cannot be used, or None when it can."""
    if not any(char.isalpha() for char in text):
        return t(f"registration/errors/{letters_key}")
    if len(text) > limit:
        return t("registration/errors/too_long", limit=limit, length=len(text))
    return None


async def reask_current(
    message: Message, state: FSMContext, t: LocalTexts, session: AsyncSession, reason_key: str
) -> None:
    field = await current_field(state)
    await reask(
        message, state, t, field, reason=t(f"registration/errors/{reason_key}"), session=session
    )


async def current_field(state: FSMContext) -> str:
    current = await state.get_state()
    return (current or "").rsplit(":", 1)[-1]


# --- helpers --------------------------------------------------------------------------------


async def save_answer(
    event: Message | CallbackQuery,
    state: FSMContext,
    t: LocalTexts,
    session: AsyncSession,
    field: str,
    value: Any,
) -> None:
    """Store one answer, then ask the next unanswered question, or show the summary."""
    data = await state.get_data()
    answers = dict(data.get("answers", {}))
    answers[field] = value
    await state.update_data(answers=answers)

    if field == "language":
        t = t.texts.bind(value)
    if data.get("editing") or set(FIELDS) <= set(answers):
        await state.update_data(editing=False)
        await state.set_state(Registration.confirm)
        await show_summary(event, state, t)
        return
    next_field = FIELDS[FIELDS.index(field) + 1]
    await ask(event, state, t, next_field, session=session)


async def ask(
    event: Message | CallbackQuery,
    state: FSMContext,
    t: LocalTexts,
    field: str,
    *,
    session: AsyncSession | None = None,
    reason: str | None = None,
) -> None:
    """Ask the question of `field`, with the buttons it offers."""
    if field in FIELD_STATES:
        await state.set_state(FIELD_STATES[field])
    keyboard = InlineKeyboardBuilder()
    if field == "bso" and session is not None:
        data = await state.get_data()
        for bso in await people.list_bsos(session, data["community_id"]):
            keyboard.button(
                text=bso.short_name or bso.name,
                callback_data=RegistrationStep(action="bso", value=str(bso.id)),
            )
        keyboard.adjust(2)
        keyboard.row(
            button(t.label("registration", "bso_not_listed"), RegistrationStep(action="bso_new"))
        )
    elif field == "phone":
        keyboard.button(
            text=t.label("registration", "skip"), callback_data=RegistrationStep(action="skip")
        )
    elif field == "language":
        keyboard.button(
            text=t.label("registration", "english"),
            callback_data=RegistrationStep(action="language", value="en"),
        )
        keyboard.button(
            text=t.label("registration", "hindi"),
            callback_data=RegistrationStep(action="language", value="hi"),
        )
    markup = keyboard.as_markup() if keyboard.buttons else None
    text = t(f"registration/ask_{field}", reason=reason)
    await reply(event, text, reply_markup=markup)


async def reask(
    event: Message | CallbackQuery,
    state: FSMContext,
    t: LocalTexts,
    field: str,
    *,
    reason: str,
    session: AsyncSession | None = None,
) -> None:
    """Say what was wrong with the answer and ask the same question again."""
    if field in ("consent", "confirm", ""):
        await reply(event, reason)
        if field == "confirm":
            await show_summary(event, state, t)
        elif field == "consent":
            await reply(event, t("registration/consent_press_button"))
        return
    if field == "bso_new":
        await reply(event, t("registration/ask_bso_new", reason=reason))
        return
    await ask(event, state, t, field, session=session, reason=reason)


async def show_summary(event: Message | CallbackQuery, state: FSMContext, t: LocalTexts) -> None:
    answers = (await state.get_data()).get("answers", {})
    keyboard = InlineKeyboardBuilder()
    for field in FIELDS:
        keyboard.button(
            text=t.label("registration", f"edit_{field}"),
            callback_data=RegistrationStep(action="edit", value=field),
        )
    keyboard.adjust(2)
    keyboard.row(
        button(t.label("registration", "confirm"), RegistrationStep(action="confirm")),
        button(t.label("registration", "cancel"), RegistrationStep(action="cancel")),
    )
    await reply(
        event, t("registration/summary", answers=answers), reply_markup=keyboard.as_markup()
    )


async def reply(
    event: Message | CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    message = event.message if isinstance(event, CallbackQuery) else event
    if isinstance(message, Message):
        await message.answer(text, reply_markup=reply_markup)
