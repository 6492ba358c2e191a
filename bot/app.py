"""Application factory: builds the engine, texts, Dispatcher and Bot from Settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.commands import set_command_menus
from bot.config import Settings
from bot.fsm import SqlStorage
from bot.jobs import scheduled_jobs
from bot.middlewares import DbSessionMiddleware, PersonMiddleware, PerUserLockMiddleware
from bot.outbox import OutboxSender, SenderSettings
from bot.ratelimit import SendLimits
from bot.scheduler import JobHost, Scheduler, create_lease
from bot.texts import Texts
from handlers import get_routers, requirements, webinars
from handlers.forms import ExpiredFormCommands
from storage import outbox, people
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import Broadcast
from storage.normalize import load_commodities

log = logging.getLogger(__name__)

ErrorListener = Callable[[BaseException], None]


@dataclass
class Application:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    texts: Texts
    dispatcher: Dispatcher
    clock: Clock
    outbox: OutboxSender
    scheduler: Scheduler
    jobs: JobHost
    # Called with every exception a handler raised; the sandbox uses this to fail a script.
    error_listeners: list[ErrorListener] = field(default_factory=list)

    def create_bot(self) -> Bot:
        if self.settings.bot_token is None:
            raise RuntimeError("BOT_TOKEN is not set")
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.settings.bot_api_url))
        return Bot(
            token=self.settings.bot_token.get_secret_value(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )

    async def prepare_database(self) -> None:
        """Migrate the schema and create the first community from configuration."""
        await upgrade_to_head(self.engine)
        async with self.sessionmaker.begin() as session:
            await people.ensure_community(
                session, name=self.settings.community_name, timezone=self.settings.timezone
            )

    async def on_startup(self, bot: Bot) -> None:
        me = await bot.get_me()
        log.info("bot @%s (id %s) started", me.username, me.id)
        await set_command_menus(bot, self.texts, self.settings.facilitator_ids)
        self.scheduler.bot_username = me.username
        # The lease holder runs the jobs and the outbox sender; other replicas only serve
        # updates, and take over when the holder stops renewing.
        await self.jobs.start(bot)

    async def on_shutdown(self) -> None:
        await self.jobs.stop()

    def use_clock(self, clock: Clock) -> None:
        """Replace the clock everywhere; the sandbox uses one that scripts can move."""
        self.clock = clock
        self.outbox.clock = clock
        self.scheduler.clock = clock
        self.dispatcher.workflow_data["clock"] = clock

    async def close(self) -> None:
        await self.jobs.stop()
        await self.dispatcher.storage.close()
        await self.engine.dispose()


def create_storage(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> BaseStorage:
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return SqlStorage(sessionmaker)


def create_application(settings: Settings) -> Application:
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    texts = Texts(default_locale=settings.default_locale)

    dispatcher = Dispatcher(storage=create_storage(settings, sessionmaker))
    dispatcher.update.outer_middleware(PerUserLockMiddleware())
    dispatcher.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dispatcher.update.outer_middleware(PersonMiddleware(settings, texts))
    dispatcher.message.outer_middleware(ExpiredFormCommands())
    dispatcher.include_routers(*get_routers())

    clock = Clock()

    def render_report(broadcast: Broadcast, counts: outbox.DeliveryCounts) -> str:
        return texts.bind(broadcast.report_locale)(
            "broadcasts/report", broadcast=broadcast, counts=counts
        )

    sender = OutboxSender(
        sessionmaker,
        clock,
        SenderSettings(limits=SendLimits(per_second=settings.outbox_rate)),
        render_report=render_report,
    )
    scheduler = Scheduler(sessionmaker, clock, texts, settings, scheduled_jobs())
    scheduler.add_ticker(webinars.reminder_ticker(texts, scheduler.holder))
    expiry = requirements.ExpiryTicker(texts)
    scheduler.add_ticker(expiry)
    dispatcher.startup.register(expiry.on_startup)
    # The lease reads the scheduler's clock, which the sandbox may replace.
    lease = create_lease(engine, sessionmaker, scheduler.holder, lambda: scheduler.clock.now())
    app = Application(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        texts=texts,
        dispatcher=dispatcher,
        clock=clock,
        outbox=sender,
        scheduler=scheduler,
        jobs=JobHost(scheduler, sender, lease),
    )
    dispatcher.workflow_data.update(
        app=app,
        settings=settings,
        texts=texts,
        sessionmaker=sessionmaker,
        commodities=load_commodities(),
        # The sandbox harness replaces this clock with one that scripts can move.
        clock=clock,
        outbox=sender,
        scheduler=scheduler,
    )
    dispatcher.startup.register(app.on_startup)
    dispatcher.shutdown.register(app.on_shutdown)
    return app
