"""Fixtures that start a sandbox server and a real aiogram Bot and Dispatcher against it."""

from __future__ import annotations

import asyncio
import html
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

# The project is not installed into the virtualenv, and the pytest configuration does
# not put the repository root on sys.path, so the tests add it themselves.
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sandbox_constants import BOT_TOKEN, BOT_USERNAME  # noqa: E402

from bot.sandbox import SandboxServer  # noqa: E402


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    sandbox = SandboxServer(bot_username=BOT_USERNAME)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    telegram_bot = Bot(BOT_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield telegram_bot
    # AiohttpSession.close() sleeps 250 ms so that TLS connections can close. The
    # sandbox uses plain HTTP, so closing the client session is enough and saves seconds.
    client = session._session
    if client is not None and not client.closed:
        await client.close()


def build_echo_router() -> Router:
    """Build handlers that echo text, reply to commands and show buttons."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        payload = command.args or "none"
        await message.answer(f"Welcome, payload={payload}")

    @router.message(Command("menu"))
    async def menu(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Join", callback_data="join")],
                [InlineKeyboardButton(text=" Leave ", callback_data="leave")],
                [
                    InlineKeyboardButton(
                        text="Open in private",
                        url=f"https://t.me/{BOT_USERNAME}?start=from_group",
                    )
                ],
            ]
        )
        await message.answer("Choose:", reply_markup=keyboard)

    @router.callback_query(F.data)
    async def pressed(query: CallbackQuery) -> None:
        await query.answer(f"got {query.data}")
        assert query.message is not None
        await query.message.answer(f"pressed {query.data}")

    @router.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        data = await bot.download(message.document.file_id)
        assert data is not None
        await message.answer(f"received {message.document.file_name} {len(data.read())} bytes")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {html.escape(message.text or '')}")

    return router


@pytest.fixture
async def running_bot(server: SandboxServer, bot: Bot) -> AsyncIterator[Bot]:
    """Poll the sandbox with the echo router until the test ends."""
    dispatcher = Dispatcher()
    dispatcher.include_router(build_echo_router())
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot,
            handle_signals=False,
            handle_as_tasks=False,
            close_bot_session=False,
            polling_timeout=5,
        )
    )
    yield bot
    await dispatcher.stop_polling()
    await asyncio.wait_for(task, timeout=5)
