"""Registry import by a facilitator sending a CSV or XLSX file in private chat."""

from __future__ import annotations

import io
import logging
from pathlib import PurePath

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import MESSAGE_LIMIT, TAG, LocalTexts, utf16_length
from handlers.callbacks import ImportChoice
from storage import registries
from storage.importer import ImportFileError, ImportReport
from storage.models import Community

log = logging.getLogger(__name__)
router = Router(name="imports")
router.message.filter(F.chat.type == "private", StateFilter(None))

# The Bot API lets bots download files of up to 20 MB.
MAX_FILE_BYTES = 20 * 1024 * 1024
EXTENSIONS = (".csv", ".xlsx")
REGISTRIES = ("buyers", "schemes")
# Rows of errors listed in the chat; the whole report follows as a file beyond this.
ERRORS_SHOWN = 15


@router.message(Command("import"))
async def explain_import(message: Message, is_facilitator: bool, t: LocalTexts) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    await message.answer(t("imports/how"))


@router.message(F.document)
async def file_received(
    message: Message, state: FSMContext, is_facilitator: bool, t: LocalTexts
) -> None:
    if not is_facilitator:
        await message.answer(t("imports/facilitators_only"))
        return
    document = message.document
    assert document is not None
    name = document.file_name or "file"
    suffix = PurePath(name).suffix.lower()
    if suffix not in EXTENSIONS:
        await message.answer(t("imports/wrong_type", name=name, old_excel=suffix == ".xls"))
        return
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await message.answer(
            t("imports/too_big", name=name, megabytes=MAX_FILE_BYTES // (1024 * 1024))
        )
        return

    await state.update_data(import_file_id=document.file_id, import_file_name=name)
    keyboard = InlineKeyboardBuilder()
    for registry in REGISTRIES:
        keyboard.button(
            text=t.label("imports", registry), callback_data=ImportChoice(registry=registry)
        )
    await message.answer(t("imports/which", name=name), reply_markup=keyboard.as_markup())


@router.callback_query(ImportChoice.filter())
async def registry_chosen(
    callback: CallbackQuery,
    callback_data: ImportChoice,
    state: FSMContext,
    bot: Bot,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await callback.answer(t.alert("common/facilitators_only"), show_alert=True)
        return
    data = await state.get_data()
    file_id, name = data.get("import_file_id"), data.get("import_file_name", "file")
    message = callback.message
    if callback_data.registry not in REGISTRIES or not file_id or not isinstance(message, Message):
        await callback.answer(t.alert("imports/expired"), show_alert=True)
        return
    await callback.answer()
    await state.update_data(import_file_id=None, import_file_name=None)
    await message.edit_reply_markup(reply_markup=None)

    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    importer = (
        registries.import_buyers
        if callback_data.registry == "buyers"
        else registries.import_schemes
    )
    try:
        report = await importer(session, community.id, buffer.getvalue(), name)
    except ImportFileError as error:
        await session.rollback()
        await message.answer(t("imports/unreadable", name=name, reason=str(error)))
        return
    await session.commit()
    log.info(
        "import of %s into community %s: %s added, %s updated, %s rejected",
        callback_data.registry,
        community.id,
        report.added,
        report.updated,
        len(report.errors),
    )
    await send_report(message, report, t)


async def send_report(message: Message, report: ImportReport, t: LocalTexts) -> None:
    # List fewer rows until the report fits one message; the file below has them all.
    shown = ERRORS_SHOWN
    text = t("imports/report", report=report, shown=shown)
    while shown > 0 and utf16_length(TAG.sub("", text)) > MESSAGE_LIMIT:
        shown -= 1
        text = t("imports/report", report=report, shown=shown)
    await message.answer(text)
    if len(report.errors) > shown or len(report.merged) > shown:
        content = "\n".join(report.lines()).encode("utf-8")
        filename = f"{PurePath(report.filename).stem}-import-report.txt"
        await message.answer_document(BufferedInputFile(content, filename=filename))
