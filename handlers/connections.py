"""/connect: ask-give suggestions for facilitators, introductions of two BSOs' PoCs, and
the recorded connections with their status.

`/connect` lists the best pairs of an open ask and an open give of another BSO.
`/connect <ask> <give>` connects a pair the facilitator chose, by the numbers shown as
"#12". `/connect list` shows the recorded connections. Suggestions include private
entries, so /connect is for facilitators only and only in private chat. Each PoC of the
two BSOs gets an introduction through the outbox, with buttons to report how it went.
Only the two BSOs' PoCs and facilitators may press those buttons. Each
status change is sent, again through the outbox, to the other PoCs of both BSOs and to
the facilitator who introduced them. A press on a copy that shows an older status only
brings that copy up to date.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.outbox import wake_senders
from bot.texts import LocalTexts, Texts
from handlers.asks import local_date
from handlers.callbacks import ConnectionStatus, ConnectPage
from handlers.keyboards import button, facilitator_press
from handlers.themes import theme_labels
from storage import connections as store
from storage import outbox as outbox_store
from storage import people
from storage.models import Bso, Community, Connection, Contribution, Person

log = logging.getLogger(__name__)
router = Router(name="connections")
router.message.filter(StateFilter(None))

# Suggestions per page. One takes at most about 500 characters (two 120-character titles,
# two BSO names and the reason), so five stay far below Telegram's 4096.
SUGGESTIONS_PER_PAGE = 5
# Connections per page of /connect list, each about 400 characters at most.
CONNECTIONS_PER_PAGE = 5
BUTTONS_PER_ROW = 3
PAGE_OPS = ("page", "connect", "list")
VIEWS = ("intro", "list")
LIST_ARGUMENT = "list"


@router.message(Command("connect"))
async def connect_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    texts: Texts,
    clock: Clock,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        log.info("/connect of chat %s rejected: not a facilitator", message.chat.id)
        await message.answer(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        # Suggestions show private entries, and introductions show phone numbers.
        await message.reply(t("connections/private_only"))
        return

    arguments = (command.args or "").split()
    if not arguments:
        text, keyboard = await suggestions_page(session, community, t, 0)
        await message.answer(text, reply_markup=keyboard)
        return
    if len(arguments) == 1 and arguments[0].lower() == LIST_ARGUMENT:
        text, keyboard = await list_page(session, community, t, 0)
        await message.answer(text, reply_markup=keyboard)
        return

    numbers = parse_numbers(arguments)
    if numbers is None:
        await message.answer(t("connections/usage", given=" ".join(arguments)))
        return
    ask_id, give_id = numbers
    ask = await store.get_entry(session, community.id, ask_id)
    give = await store.get_entry(session, community.id, give_id)
    missing = [number for number, entry in ((ask_id, ask), (give_id, give)) if entry is None]
    if missing:
        await message.answer(t("connections/bad_pair", code="not_found", numbers=missing))
        return
    assert ask is not None and give is not None
    problem = pair_refusal(t, ask, give)
    if problem is not None:
        await message.answer(problem)
        return

    assert message.from_user is not None
    outcome = await introduce(
        session, community, texts, ask, give, by=message.from_user.id, now=clock.now()
    )
    await message.answer(outcome_text(t, community, outcome))


def parse_numbers(arguments: Sequence[str]) -> tuple[int, int] | None:
    """Read "<ask> <give>" as two entry numbers, each written 12 or #12; None when invalid."""
    if len(arguments) != 2:
        return None
    numbers = []
    for argument in arguments:
        digits = argument.removeprefix("#")
        # The upper bound keeps a typed number inside the 32-bit id column.
        if not digits.isdecimal() or len(digits) > 9:
            return None
        numbers.append(int(digits))
    return numbers[0], numbers[1]


def pair_refusal(t: LocalTexts, ask: Contribution, give: Contribution) -> Markup | None:
    """Explain why two entries cannot be connected, or return None when they can."""
    if ask.kind == "give" and give.kind == "ask":
        return t("connections/bad_pair", code="swapped", ask=give, give=ask)
    problem = store.pair_problem(ask, give)
    if problem is None:
        return None
    status = t.label("asks", f"status_{problem.status}") if problem.status else ""
    return t(
        "connections/bad_pair",
        code=problem.code,
        number=problem.entry_id,
        status=status,
        bso=ask.bso,
        ask=ask,
        give=give,
    )


# --- Introducing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Introduced:
    """The result of a connect request: the connection, whether this request recorded
    it, and how many PoCs of each BSO were sent the introduction."""

    connection: Connection
    new: bool
    ask_queued: int = 0
    give_queued: int = 0


async def introduce(
    session: AsyncSession,
    community: Community,
    texts: Texts,
    ask: Contribution,
    give: Contribution,
    *,
    by: int,
    now: dt.datetime,
    suggestion: store.Suggestion | None = None,
) -> Introduced:
    """Record the connection and queue each PoC's introduction; commit.

    `suggestion` is the suggestion the facilitator pressed, whose score and reasons are
    recorded; a pair typed after /connect has none. A pair connected before is returned
    as it is, with `new` False. Each introduction's outbox dedup key names the
    connection and the PoC, so no PoC receives it twice.
    """
    existing = await store.find_connection(session, community.id, ask.id, give.id)
    if existing is not None:
        return Introduced(existing, new=False)
    try:
        connection = await store.add_connection(
            session,
            ask=ask,
            give=give,
            introduced_by=by,
            now=now,
            score=suggestion.score if suggestion is not None else None,
            reasons=suggestion.reasons if suggestion is not None else (),
        )
    except IntegrityError:
        # Another facilitator connected the same pair a moment ago.
        await session.rollback()
        existing = await store.find_connection(session, community.id, ask.id, give.id)
        assert existing is not None
        return Introduced(existing, new=False)

    ask_pocs = await store.bso_pocs(session, community.id, ask.bso_id)
    give_pocs = await store.bso_pocs(session, community.id, give.bso_id)
    ask_queued = await queue_intros(session, texts, connection, ask_pocs, give_pocs, "ask", now)
    give_queued = await queue_intros(session, texts, connection, give_pocs, ask_pocs, "give", now)
    await session.commit()
    log.info(
        "connection %s of ask %s and give %s recorded by user %s; introductions queued for %s + %s PoCs",
        connection.id,
        ask.id,
        give.id,
        by,
        ask_queued,
        give_queued,
    )
    if ask_queued or give_queued:
        await wake_senders()
    return Introduced(connection, new=True, ask_queued=ask_queued, give_queued=give_queued)


async def queue_intros(
    session: AsyncSession,
    texts: Texts,
    connection: Connection,
    recipients: Sequence[Person],
    contacts: Sequence[Person],
    side: str,
    now: dt.datetime,
) -> int:
    """Queue the introduction for each recipient who opened a private chat; return how many."""
    queued = 0
    for person in recipients:
        if not person.private_chat_open:
            continue
        t = texts.bind(person.locale)
        text = intro_text(t, connection, side, contacts)
        keyboard = status_keyboard(t, connection, "intro")
        added = await outbox_store.add_unique(
            session,
            community_id=connection.community_id,
            recipient=outbox_store.Recipient(person.telegram_id, person_id=person.id),
            payload=outbox_store.text_payload(
                text, reply_markup=keyboard.model_dump(exclude_none=True)
            ),
            not_before=now,
            dedup_key=f"connection:{connection.id}:person:{person.id}",
        )
        queued += int(added)
    return queued


def intro_text(
    t: LocalTexts, connection: Connection, side: str, contacts: Sequence[Person]
) -> Markup:
    """Render a PoC's introduction: `side` is "ask" or "give", the side of the reader's BSO."""
    return t(
        "connections/intro",
        side=side,
        ask=connection.ask,
        give=connection.give,
        contacts=[
            Contact(
                name=person.name or person.telegram_name,
                telegram_id=person.telegram_id,
                phone=person.phone,
                username=person.username,
            )
            for person in contacts
        ],
        status=status_label(t, connection.status),
        changed=connection.status_changed_at,
    )


@dataclass(frozen=True)
class Contact:
    """A PoC as an introduction shows them. They agreed at registration that members see
    their contact details.

    The name links to the PoC's Telegram account by `telegram_id`, so the two sides can
    write to each other when no phone number or username is recorded.
    """

    name: str
    telegram_id: int
    phone: str | None
    username: str | None


def status_label(t: LocalTexts, status: str) -> str:
    if status in store.STATUSES:
        return t.label("connections", f"status_{status}")
    return status


def status_keyboard(
    t: LocalTexts, connection: Connection, view: str, page: int = 0
) -> InlineKeyboardMarkup:
    """Build the buttons that set a status other than the current one."""
    buttons = [
        button(
            t.label("connections", f"set_{status}"),
            ConnectionStatus(op=status, connection_id=connection.id, view=view, page=page),
        )
        for status in store.REPORTED_STATUSES
        if status != connection.status
    ]
    rows: list[list[InlineKeyboardButton]] = [buttons]
    if view == "list":
        rows.append(
            [button(t.label("connections", "back_to_list"), ConnectPage(op="list", page=page))]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def outcome_text(t: LocalTexts, community: Community, outcome: Introduced) -> Markup:
    connection = outcome.connection
    return t(
        "connections/connected" if outcome.new else "connections/already",
        ask=connection.ask,
        give=connection.give,
        on=local_date(connection.introduced_at, community.timezone),
        status=status_label(t, connection.status),
        ask_queued=outcome.ask_queued,
        give_queued=outcome.give_queued,
    )


# --- Suggestions and the list ------------------------------------------------------------------


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion with its number on the page, the entries' theme labels and its score in percent."""

    number: int
    ask: Contribution
    give: Contribution
    ask_theme: str
    give_theme: str
    percent: int
    reasons: tuple[str, ...]
    shared: tuple[str, ...]


async def suggestions_page(
    session: AsyncSession, community: Community, t: LocalTexts, page: int
) -> tuple[Markup, InlineKeyboardMarkup]:
    found = await store.suggestions(session, community.id)
    pages = max(1, -(-len(found) // SUGGESTIONS_PER_PAGE))
    page = min(page, pages - 1)
    first = page * SUGGESTIONS_PER_PAGE
    shown = found[first : first + SUGGESTIONS_PER_PAGE]
    views = [
        SuggestionView(
            number=number,
            ask=item.ask,
            give=item.give,
            ask_theme=theme_labels(t, [item.ask.theme])[0],
            give_theme=theme_labels(t, [item.give.theme])[0],
            percent=round(item.score * 100),
            reasons=item.reasons,
            shared=item.shared,
        )
        for number, item in enumerate(shown, start=first + 1)
    ]
    connected = await store.count_connections(session, community.id)
    text = t(
        "connections/suggestions",
        items=views,
        total=len(found),
        page=page,
        pages=pages,
        connected=connected,
    )

    connect_buttons = [
        button(
            t.label("connections", "connect", number=view.number),
            ConnectPage(op="connect", ask_id=view.ask.id, give_id=view.give.id, page=page),
        )
        for view in views
    ]
    rows = [
        connect_buttons[index : index + BUTTONS_PER_ROW]
        for index in range(0, len(connect_buttons), BUTTONS_PER_ROW)
    ]
    rows.append(paging(t, "page", page, pages))
    rows.append([button(t.label("connections", "list"), ConnectPage(op="list"))])
    return text, InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def paging(t: LocalTexts, op: str, page: int, pages: int) -> list[InlineKeyboardButton]:
    buttons = []
    if page > 0:
        buttons.append(
            button(t.label("connections", "previous"), ConnectPage(op=op, page=page - 1))
        )
    if page + 1 < pages:
        buttons.append(button(t.label("connections", "next"), ConnectPage(op=op, page=page + 1)))
    return buttons


@dataclass(frozen=True)
class ConnectionView:
    """A recorded connection with its BSOs, status label and local dates."""

    number: int
    connection: Connection
    ask_bso: Bso | None
    give_bso: Bso | None
    status: str
    introduced_on: dt.date
    changed_on: dt.date | None


async def connection_views(
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    connections: Sequence[Connection],
    first: int,
) -> list[ConnectionView]:
    ids = [bso for item in connections for bso in (item.ask_bso_id, item.give_bso_id)]
    bsos = await store.bsos_by_id(session, ids)
    return [
        ConnectionView(
            number=number,
            connection=item,
            ask_bso=bsos.get(item.ask_bso_id),
            give_bso=bsos.get(item.give_bso_id),
            status=status_label(t, item.status),
            introduced_on=local_date(item.introduced_at, community.timezone),
            changed_on=(
                local_date(item.status_changed_at, community.timezone)
                if item.status_changed_at is not None
                else None
            ),
        )
        for number, item in enumerate(connections, start=first)
    ]


async def list_page(
    session: AsyncSession, community: Community, t: LocalTexts, page: int
) -> tuple[Markup, InlineKeyboardMarkup]:
    total = await store.count_connections(session, community.id)
    pages = max(1, -(-total // CONNECTIONS_PER_PAGE))
    page = min(page, pages - 1)
    first = page * CONNECTIONS_PER_PAGE
    connections = await store.list_connections(
        session, community.id, offset=first, limit=CONNECTIONS_PER_PAGE
    )
    views = await connection_views(session, community, t, connections, first + 1)
    text = t("connections/list", items=views, total=total, page=page, pages=pages)
    open_buttons = [
        button(
            str(view.number),
            ConnectionStatus(op="open", connection_id=view.connection.id, view="list", page=page),
        )
        for view in views
    ]
    rows = [
        open_buttons[index : index + BUTTONS_PER_ROW]
        for index in range(0, len(open_buttons), BUTTONS_PER_ROW)
    ]
    rows.append(paging(t, "list", page, pages))
    rows.append([button(t.label("connections", "suggestions"), ConnectPage(op="page"))])
    return text, InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


async def connection_page(
    session: AsyncSession,
    community: Community,
    t: LocalTexts,
    connection: Connection,
    page: int,
    *,
    note: str | None = None,
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render one connection for the facilitator, with buttons that change its status."""
    (view,) = await connection_views(session, community, t, [connection], 1)
    text = t("connections/connection", view=view, note=note)
    return text, status_keyboard(t, connection, "list", page)


async def show(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        # A double tap shows what is already shown, and Telegram rejects the identical edit.
        log.debug("message %s not changed: %s", message.message_id, error.message)


# --- Buttons -----------------------------------------------------------------------------------


@router.callback_query(ConnectPage.filter())
async def page_button(
    callback: CallbackQuery,
    callback_data: ConnectPage,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    texts: Texts,
    clock: Clock,
    t: LocalTexts,
) -> None:
    message = await facilitator_press(
        callback,
        known=callback_data.op in PAGE_OPS,
        is_facilitator=is_facilitator,
        t=t,
        private_alert="connections/private_only",
        subject="/connect",
    )
    if message is None:
        return
    if callback_data.op == "page":
        await callback.answer()
        await show(message, *await suggestions_page(session, community, t, callback_data.page))
        return
    if callback_data.op == "list":
        await callback.answer()
        await show(message, *await list_page(session, community, t, callback_data.page))
        return

    ask = await store.get_entry(session, community.id, callback_data.ask_id)
    give = await store.get_entry(session, community.id, callback_data.give_id)
    if ask is None or give is None:
        log.info(
            "/connect button names entries %s and %s, not both in community %s",
            callback_data.ask_id,
            callback_data.give_id,
            community.id,
        )
        await callback.answer(t.alert("connections/gone"), show_alert=True)
        return
    problem = pair_refusal(t, ask, give)
    if problem is not None:
        await callback.answer(t.alert("connections/gone"), show_alert=True)
        return
    # The score shown on the button's page, when the pair is still suggested.
    suggestion = next(
        (
            item
            for item in await store.suggestions(session, community.id)
            if item.ask.id == ask.id and item.give.id == give.id
        ),
        None,
    )
    outcome = await introduce(
        session,
        community,
        texts,
        ask,
        give,
        by=callback.from_user.id,
        now=clock.now(),
        suggestion=suggestion,
    )
    if not outcome.new:
        connection = outcome.connection
        await callback.answer(
            t.alert(
                "connections/already_alert",
                on=local_date(connection.introduced_at, community.timezone),
                status=status_label(t, connection.status),
            ),
            show_alert=True,
        )
        return
    await callback.answer()
    await message.answer(outcome_text(t, community, outcome))
    # The connected pair leaves the suggestions.
    await show(message, *await suggestions_page(session, community, t, callback_data.page))


@router.callback_query(ConnectionStatus.filter())
async def status_button(
    callback: CallbackQuery,
    callback_data: ConnectionStatus,
    session: AsyncSession,
    community: Community,
    person: Person | None,
    is_facilitator: bool,
    texts: Texts,
    clock: Clock,
    t: LocalTexts,
) -> None:
    known = callback_data.view in VIEWS and (
        callback_data.op in store.REPORTED_STATUSES
        or (callback_data.op == "open" and callback_data.view == "list")
    )
    if callback_data.view == "list":
        # The facilitator's views; an introduction's buttons are checked below.
        message = await facilitator_press(
            callback,
            known=known,
            is_facilitator=is_facilitator,
            t=t,
            private_alert="connections/private_only",
            subject="connection",
        )
        if message is None:
            return
    elif not known or not is_private(callback.message):
        # An introduction is only ever sent to a private chat, and it shows phone numbers,
        # so forged data on a group message must not turn that message into one.
        log.info("unknown connection button %r from user %s", callback.data, callback.from_user.id)
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return

    connection = await store.get_connection(session, community.id, callback_data.connection_id)
    if connection is None:
        log.info(
            "connection button names connection %s, not in community %s",
            callback_data.connection_id,
            community.id,
        )
        await callback.answer(t.alert("connections/gone"), show_alert=True)
        return
    if not (is_facilitator or store.may_report(person, connection)):
        log.warning(
            "connection %s button rejected: user %s is not a PoC of either BSO",
            connection.id,
            callback.from_user.id,
        )
        await callback.answer(t.alert("connections/not_yours"), show_alert=True)
        return

    shown = callback.message
    if callback_data.op == "open":
        await callback.answer()
        assert isinstance(shown, Message)
        await show(
            shown, *await connection_page(session, community, t, connection, callback_data.page)
        )
        return

    current = status_label(t, connection.status)
    seen = shown_status(shown, connection.id)
    if seen is not None and seen != connection.status:
        # Someone changed the status since this copy was sent, so the press would act on
        # a status the presser did not see. Show the current one and let them press again.
        log.info("connection %s button on a copy showing %s, now %s", connection.id, seen, current)
        await callback.answer(t.alert("connections/outdated", status=current), show_alert=True)
        await refresh_copy(session, community, shown, t, connection, person, callback_data)
        return
    status = callback_data.op
    if not await store.set_status(session, connection, status, now=clock.now()):
        await callback.answer(t.alert("connections/unchanged", status=current), show_alert=True)
        return
    by = (person.name or person.telegram_name) if person is not None else ""
    queued = await queue_status_news(
        session,
        texts,
        connection,
        presser=callback.from_user.id,
        by=by or callback.from_user.full_name,
        now=clock.now(),
    )
    await session.commit()
    log.info(
        "connection %s set to %s by user %s; %s notices queued",
        connection.id,
        status,
        callback.from_user.id,
        queued,
    )
    if queued:
        await wake_senders()
    await callback.answer(t.alert("connections/status_set", status=status_label(t, status)))
    await refresh_copy(session, community, shown, t, connection, person, callback_data, note=True)


def shown_status(message: object, connection_id: int) -> str | None:
    """Read which status a copy of a connection shows from its status buttons.

    The buttons offer every reported status except the shown one, so all three mean
    "introduced". Returns None when the message has no such buttons to read.
    """
    if not isinstance(message, Message) or message.reply_markup is None:
        return None
    offered = set()
    for row in message.reply_markup.inline_keyboard:
        for item in row:
            try:
                data = ConnectionStatus.unpack(item.callback_data or "")
            except (TypeError, ValueError):
                continue
            if data.connection_id == connection_id and data.op in store.REPORTED_STATUSES:
                offered.add(data.op)
    missing = [status for status in store.REPORTED_STATUSES if status not in offered]
    if not missing:
        return "introduced"
    if len(missing) == 1:
        return missing[0]
    return None


async def refresh_copy(
    session: AsyncSession,
    community: Community,
    message: object,
    t: LocalTexts,
    connection: Connection,
    person: Person | None,
    data: ConnectionStatus,
    *,
    note: bool = False,
) -> None:
    """Show the connection's current status and buttons on the message pressed."""
    if not isinstance(message, Message):
        return
    if data.view == "list":
        text, keyboard = await connection_page(
            session, community, t, connection, data.page, note="status_set" if note else None
        )
        await show(message, text, keyboard)
        return
    if not await refresh_intro(session, message, t, connection, person):
        await show_buttons(message, status_keyboard(t, connection, "intro"))


async def queue_status_news(
    session: AsyncSession,
    texts: Texts,
    connection: Connection,
    *,
    presser: int,
    by: str,
    now: dt.datetime,
) -> int:
    """Queue the new status for the PoCs of both BSOs and the facilitator who introduced
    them, except the presser; return how many notices were queued.

    Each notice carries the status buttons, so it replaces the recipient's outdated copy.
    The dedup key names the status and the time it was set, so every change reaches
    each recipient once, even when a later change sets an earlier status again.
    """
    community_id = connection.community_id
    recipients: dict[int, Person | None] = {}
    for bso_id in (connection.ask_bso_id, connection.give_bso_id):
        for poc in await store.bso_pocs(session, community_id, bso_id):
            if poc.private_chat_open:
                recipients[poc.telegram_id] = poc
    introduced_by = connection.introduced_by
    if introduced_by is not None and introduced_by not in recipients:
        # A facilitator without a person row sent /connect from their private chat,
        # so that chat is open.
        introducer = await people.get_person(session, community_id, introduced_by)
        if introducer is None or introducer.private_chat_open:
            recipients[introduced_by] = introducer
    recipients.pop(presser, None)

    changed_at = connection.status_changed_at or now
    queued = 0
    for telegram_id, person in recipients.items():
        t = texts.bind(person.locale if person is not None else None)
        text = t(
            "connections/status_news",
            ask=connection.ask,
            give=connection.give,
            by=by,
            status=status_label(t, connection.status),
        )
        keyboard = status_keyboard(t, connection, "intro")
        added = await outbox_store.add_unique(
            session,
            community_id=community_id,
            recipient=outbox_store.Recipient(
                telegram_id, person_id=person.id if person is not None else None
            ),
            payload=outbox_store.text_payload(
                text, reply_markup=keyboard.model_dump(exclude_none=True)
            ),
            not_before=now,
            dedup_key=(
                f"connection:{connection.id}:status:{connection.status}:"
                f"{changed_at.timestamp():.6f}:user:{telegram_id}"
            ),
        )
        queued += int(added)
    return queued


def is_private(message: object) -> bool:
    return isinstance(message, Message) and message.chat.type == "private"


async def refresh_intro(
    session: AsyncSession,
    message: Message,
    t: LocalTexts,
    connection: Connection,
    person: Person | None,
) -> bool:
    """Show the current status on the introduction the button was pressed on; return
    False, changing nothing, when the presser has no side.

    The introduction reads from the side of the presser's BSO. A facilitator outside
    both BSOs has no side.
    """
    if person is None or person.bso_id not in (connection.ask_bso_id, connection.give_bso_id):
        return False
    side = "ask" if person.bso_id == connection.ask_bso_id else "give"
    other = connection.give_bso_id if side == "ask" else connection.ask_bso_id
    contacts = await store.bso_pocs(session, connection.community_id, other)
    text = intro_text(t, connection, side, contacts)
    await show(message, text, status_keyboard(t, connection, "intro"))
    return True


async def show_buttons(message: Message, keyboard: InlineKeyboardMarkup) -> None:
    try:
        await message.edit_reply_markup(reply_markup=keyboard)
    except TelegramBadRequest as error:
        # A double tap shows what is already shown, and Telegram rejects the identical edit.
        log.debug("buttons of message %s not changed: %s", message.message_id, error.message)
