"""/matrix: the facilitator's table of open asks and gives by BSO and theme, and its CSV export.

The table counts open and in-progress entries, private ones included, so it is shown
to facilitators only and only in private chat. Its buttons open a BSO's row, then one
cell's entries; each view replaces the previous one in the same message, so a
double-tapped button shows the same view again instead of sending a second message.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.texts import LocalTexts
from handlers.asks import EntryView, entry_view
from handlers.callbacks import MatrixView
from handlers.keyboards import button
from handlers.themes import theme_labels
from storage import asks as asks_store
from storage import people
from storage.asks import REPLACED_COLUMN, Cell, Matrix
from storage.models import Bso, Community, Theme

log = logging.getLogger(__name__)
router = Router(name="matrix")

# BSO rows per page. Thirty rows of about 40 characters, with the legend, stay far
# below Telegram's limit of 4096 characters.
ROWS_PER_PAGE = 30
# Width of the BSO column. Longer short names are clipped with an ellipsis.
NAME_WIDTH_MIN = 8
NAME_WIDTH_MAX = 12
BSO_BUTTONS_PER_ROW = 3
BSO_BUTTON_MAX = 24
# Entries per page of a cell. An entry shows at most about 900 characters (a
# 120-character title, the description clipped to 200 and lists clipped to 100), so
# four and the heading fit in 4096.
CELL_PAGE_SIZE = 4
# Column codes of the chat table, explained by the legend under it.
THEME_CODE = "T{number}"
REPLACED_CODE = "+"
EMPTY_CELL = "·"
ACTIONS = ("page", "bso", "cell", "csv")
# FSM data key of the CSV files last sent, so a double tap does not send them twice.
CSV_SENT_KEY = "matrix_csv_sent"


@router.message(Command("matrix"), StateFilter(None))
async def show_matrix(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        # The matrix counts private entries, and its cells show them.
        await message.reply(t("matrix/private_only"))
        return
    matrix = await asks_store.build_matrix(session, community.id)
    # Reading the themes creates the defaults on first use.
    await session.commit()
    text, keyboard = render_page(matrix, t, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(MatrixView.filter())
async def matrix_button(
    callback: CallbackQuery,
    callback_data: MatrixView,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    clock: Clock,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        log.info("/matrix button of user %s rejected: not a facilitator", callback.from_user.id)
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    message = callback.message
    if not isinstance(message, Message) or message.chat.type != "private":
        await callback.answer(t.alert("matrix/private_only"), show_alert=True)
        return
    if callback_data.action not in ACTIONS:
        await callback.answer(t.alert("common/button_unknown"), show_alert=True)
        return

    matrix = await asks_store.build_matrix(session, community.id)
    await session.commit()
    if callback_data.action == "page":
        await callback.answer()
        await show(message, *render_page(matrix, t, callback_data.page))
        return
    if callback_data.action == "csv":
        await send_csv(callback, message, state, session, community, matrix, clock, t)
        return

    bso = await people.get_bso(session, community.id, callback_data.bso_id)
    if bso is None:
        log.info(
            "/matrix button names BSO %s, not in community %s", callback_data.bso_id, community.id
        )
        await callback.answer(t.alert("matrix/gone"), show_alert=True)
        return
    if callback_data.action == "bso":
        await callback.answer()
        await show(message, *render_row(matrix, bso, t, callback_data.page))
        return

    column = await find_column(session, community.id, callback_data.theme_id)
    if column is None:
        log.info(
            "/matrix button names theme %s, not in community %s",
            callback_data.theme_id,
            community.id,
        )
        await callback.answer(t.alert("matrix/gone"), show_alert=True)
        return
    await callback.answer()
    text, keyboard = await render_cell(
        session, community, matrix, bso, column, t, callback_data.page, callback_data.cell_page
    )
    await show(message, text, keyboard)


@dataclass(frozen=True)
class Column:
    """A column of the chat table: one theme, or (`theme` None) every replaced theme."""

    id: int
    theme: Theme | None

    def label(self, t: LocalTexts) -> str:
        if self.theme is None:
            return t.label("matrix", "replaced_themes")
        return theme_labels(t, [self.theme])[0]


async def find_column(session: AsyncSession, community_id: int, theme_id: int) -> Column | None:
    """Return the column a button names: one of the community's themes, or the replaced ones."""
    if theme_id == REPLACED_COLUMN:
        return Column(id=REPLACED_COLUMN, theme=None)
    theme = await session.get(Theme, theme_id)
    if theme is None or theme.community_id != community_id:
        return None
    return Column(id=theme.id, theme=theme)


# --- The table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRow:
    """One line of the chat table: a BSO's short name and its cells as "asks/gives"."""

    name: str
    cells: list[str]


def cell_text(cell: Cell) -> str:
    return f"{cell.asks}/{cell.gives}" if cell.total else EMPTY_CELL


def display_name(bso: Bso) -> str:
    return bso.short_name or bso.name


def render_page(
    matrix: Matrix, t: LocalTexts, page: int
) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """Render one page of BSO rows as a fixed-width table, with a button per BSO that has entries."""
    pages = max(1, -(-len(matrix.bsos) // ROWS_PER_PAGE))
    page = min(page, pages - 1)
    page_bsos = matrix.bsos[page * ROWS_PER_PAGE : (page + 1) * ROWS_PER_PAGE]
    columns = matrix.columns
    headers = [THEME_CODE.format(number=number) for number in range(1, len(matrix.themes) + 1)]
    if matrix.replaced:
        headers.append(REPLACED_CODE)

    rows = [
        TableRow(
            name=display_name(bso),
            cells=[cell_text(matrix.cell(bso.id, column)) for column in columns],
        )
        for bso in page_bsos
    ]
    totals = [cell_text(matrix.column_total(column)) for column in columns]
    cell_texts = [*headers, *totals, *(text for row in rows for text in row.cells)]
    # A community whose themes were all replaced has no columns at all.
    widest = max((len(text) for text in cell_texts), default=0)
    longest_name = max((len(row.name) for row in rows), default=0)
    text = t(
        "matrix/page",
        rows=rows,
        headers=headers,
        totals=totals,
        # One space between columns.
        cell_width=widest + 1,
        name_width=max(NAME_WIDTH_MIN, min(NAME_WIDTH_MAX, longest_name)),
        legend=list(zip(headers, theme_labels(t, matrix.themes), strict=False)),
        replaced=theme_labels(t, matrix.replaced),
        replaced_code=REPLACED_CODE,
        bso_count=len(matrix.bsos),
        total=matrix.total,
        page=page,
        pages=pages,
    )
    if not matrix.bsos:
        return text, None

    bso_buttons = [
        button(
            clip_label(display_name(bso)),
            MatrixView(action="bso", bso_id=bso.id, page=page),
        )
        for bso in page_bsos
        if matrix.row_total(bso.id).total
    ]
    keyboard = [
        bso_buttons[index : index + BSO_BUTTONS_PER_ROW]
        for index in range(0, len(bso_buttons), BSO_BUTTONS_PER_ROW)
    ]
    navigation = []
    if page > 0:
        navigation.append(
            button(t.label("matrix", "previous"), MatrixView(action="page", page=page - 1))
        )
    if page + 1 < pages:
        navigation.append(
            button(t.label("matrix", "next"), MatrixView(action="page", page=page + 1))
        )
    if navigation:
        keyboard.append(navigation)
    keyboard.append([button(t.label("matrix", "csv"), MatrixView(action="csv", page=page))])
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


def clip_label(text: str) -> str:
    return text if len(text) <= BSO_BUTTON_MAX else text[: BSO_BUTTON_MAX - 1].rstrip() + "…"


def render_row(
    matrix: Matrix, bso: Bso, t: LocalTexts, page: int
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render one BSO's cells, with a button for each cell that has entries."""
    columns = [Column(id=theme.id, theme=theme) for theme in matrix.themes]
    if matrix.replaced:
        columns.append(Column(id=REPLACED_COLUMN, theme=None))
    lines = [(column.label(t), matrix.cell(bso.id, column.id)) for column in columns]
    text = t(
        "matrix/bso",
        bso=bso,
        lines=lines,
        total=matrix.row_total(bso.id),
        replaced=theme_labels(t, matrix.replaced),
    )
    keyboard = [
        [
            button(
                t.label("matrix", "cell", theme=label, asks=cell.asks, gives=cell.gives),
                MatrixView(action="cell", bso_id=bso.id, theme_id=column.id, page=page),
            )
        ]
        for column, (label, cell) in zip(columns, lines, strict=True)
        if cell.total
    ]
    keyboard.append([button(t.label("matrix", "back"), MatrixView(action="page", page=page))])
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


async def render_cell(
    session: AsyncSession,
    community: Community,
    matrix: Matrix,
    bso: Bso,
    column: Column,
    t: LocalTexts,
    page: int,
    cell_page: int,
) -> tuple[Markup, InlineKeyboardMarkup]:
    """Render a page of one cell's open and in-progress entries, private ones marked."""
    entries = await asks_store.cell_entries(session, community.id, bso.id, column.id)
    pages = max(1, -(-len(entries) // CELL_PAGE_SIZE))
    cell_page = min(cell_page, pages - 1)
    page_entries = entries[cell_page * CELL_PAGE_SIZE : (cell_page + 1) * CELL_PAGE_SIZE]
    filers = await asks_store.filer_names(session, page_entries)
    views = [entry_view(t, entry, community.timezone, filers) for entry in page_entries]
    text = t(
        "matrix/cell",
        bso=bso,
        column=column.label(t),
        replaced_column=column.theme is None,
        items=views,
        cell=matrix.cell(bso.id, column.id),
        page=cell_page,
        pages=pages,
    )

    def data(action: str, **values: int) -> MatrixView:
        return MatrixView(action=action, bso_id=bso.id, theme_id=column.id, page=page, **values)

    keyboard = []
    navigation = []
    if cell_page > 0:
        navigation.append(
            button(t.label("matrix", "previous"), data("cell", cell_page=cell_page - 1))
        )
    if cell_page + 1 < pages:
        navigation.append(button(t.label("matrix", "next"), data("cell", cell_page=cell_page + 1)))
    if navigation:
        keyboard.append(navigation)
    keyboard.append([button(t.label("matrix", "back_to_bso", name=display_name(bso)), data("bso"))])
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


async def show(message: Message, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    try:
        await message.edit_text(text, reply_markup=keyboard)
    except TelegramBadRequest as error:
        # A double tap shows what is already shown, and Telegram rejects the identical edit.
        log.debug("message %s not changed: %s", message.message_id, error.message)


# --- CSV export --------------------------------------------------------------------------------


async def send_csv(
    callback: CallbackQuery,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    matrix: Matrix,
    clock: Clock,
    t: LocalTexts,
) -> None:
    """Send the matrix and the list of every entry as two CSV files.

    A second press on the same message sends nothing while the files would be identical.
    """
    entries = await asks_store.community_entries(session, community.id)
    filers = await asks_store.filer_names(session, entries)
    views = [entry_view(t, entry, community.timezone, filers) for entry in entries]
    matrix_file = matrix_csv(matrix, t)
    entries_file = entries_csv(views, t)
    digest = hashlib.sha256(matrix_file + entries_file).hexdigest()
    sent = (await state.get_data()).get(CSV_SENT_KEY) or {}
    if sent.get("message_id") == message.message_id and sent.get("digest") == digest:
        await callback.answer(t.alert("matrix/csv_unchanged"), show_alert=True)
        return
    await callback.answer()

    today = clock.now().astimezone(zoneinfo.ZoneInfo(community.timezone)).date()
    stamp = f"{community.slug}-{today.isoformat()}"
    await message.answer_document(
        BufferedInputFile(matrix_file, filename=f"asks-gives-matrix-{stamp}.csv"),
        caption=t("matrix/csv_matrix", community=community, today=today),
    )
    await message.answer_document(
        BufferedInputFile(entries_file, filename=f"asks-gives-entries-{stamp}.csv"),
        caption=t("matrix/csv_entries", count=len(entries)),
    )
    await state.update_data({CSV_SENT_KEY: {"message_id": message.message_id, "digest": digest}})
    log.info("matrix CSV of community %s sent to chat %s", community.id, message.chat.id)


def spreadsheet_safe(value: str) -> str:
    """Quote text that a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def encode_csv(rows: Sequence[Sequence[str | int]]) -> bytes:
    """Write rows as CSV in UTF-8 with a byte order mark, so Excel reads Hindi correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) if isinstance(cell, str) else cell for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def matrix_csv(matrix: Matrix, t: LocalTexts) -> bytes:
    """Write one row per BSO, with asks and gives columns per theme and per replaced theme."""
    themes = [
        (label, theme, False)
        for label, theme in zip(theme_labels(t, matrix.themes), matrix.themes, strict=True)
    ]
    themes += [
        (label, theme, True)
        for label, theme in zip(theme_labels(t, matrix.replaced), matrix.replaced, strict=True)
    ]
    header: list[str | int] = [t.label("matrix", "csv_bso"), t.label("matrix", "csv_short_name")]
    for label, _theme, replaced in themes:
        name = t.label("matrix", "csv_replaced", theme=label) if replaced else label
        header += [
            t.label("matrix", "csv_asks", theme=name),
            t.label("matrix", "csv_gives", theme=name),
        ]
    header += [t.label("matrix", "csv_total_asks"), t.label("matrix", "csv_total_gives")]

    rows: list[list[str | int]] = [header]
    for bso in matrix.bsos:
        row: list[str | int] = [bso.name, bso.short_name or ""]
        for _label, theme, _replaced in themes:
            cell = matrix.theme_cell(bso.id, theme.id)
            row += [cell.asks, cell.gives]
        total = matrix.row_total(bso.id)
        rows.append([*row, total.asks, total.gives])

    footer: list[str | int] = [t.label("matrix", "csv_all_bsos"), ""]
    for _label, theme, _replaced in themes:
        cell = matrix.theme_total(theme.id)
        footer += [cell.asks, cell.gives]
    rows.append([*footer, matrix.total.asks, matrix.total.gives])
    return encode_csv(rows)


def entries_csv(views: Sequence[EntryView], t: LocalTexts) -> bytes:
    """Write one row per ask or give of the community, in every status, private ones marked."""
    keys = (
        "bso",
        "kind",
        "theme",
        "title",
        "description",
        "commodities",
        "states",
        "urgency",
        "help",
        "private",
        "status",
        "filed_by",
        "filed_on",
        "changed_on",
    )
    rows: list[list[str | int]] = [[t.label("matrix", f"csv_{key}") for key in keys]]
    yes, no = t.label("forms", "yes"), t.label("forms", "no")
    erased = t.label("matrix", "csv_filer_erased")
    for view in views:
        entry = view.entry
        theme = view.theme
        if not view.theme_active:
            theme = t.label("matrix", "csv_replaced", theme=theme)
        rows.append(
            [
                entry.bso.name,
                view.kind,
                theme,
                entry.title,
                entry.description,
                ", ".join(entry.commodities),
                ", ".join(entry.states),
                view.urgency or "",
                ", ".join(view.help_kinds),
                yes if entry.private else no,
                view.status,
                erased if view.filer_erased else (view.filer or ""),
                view.filed_on.isoformat(),
                # None when it was last changed on the day it was filed.
                (view.changed_on or view.filed_on).isoformat(),
            ]
        )
    return encode_csv(rows)
