"""Long-running entry points: polling Telegram, and imports from the command line."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.app import create_application
from bot.config import Settings

log = logging.getLogger(__name__)


async def run_polling(settings: Settings) -> int:
    app = create_application(settings)
    await app.prepare_database()
    bot = app.create_bot()
    log.info("polling %s", settings.bot_api_url)
    try:
        await app.dispatcher.start_polling(bot)
    finally:
        await app.close()
    log.info("stopped")
    return 0


async def import_file(settings: Settings, registry: str, path: Path) -> int:
    from storage import people, registries
    from storage.importer import ImportFileError

    if not path.is_file():
        print(f"File not found: {path}")
        return 2
    app = create_application(settings)
    try:
        await app.prepare_database()
        async with app.sessionmaker.begin() as session:
            community = await people.ensure_community(
                session, name=settings.community_name, timezone=settings.timezone
            )
            importer = (
                registries.import_buyers if registry == "buyers" else registries.import_schemes
            )
            try:
                report = await importer(session, community.id, path.read_bytes(), path.name)
            except ImportFileError as error:
                print(f"{path.name}: {error}")
                return 1
        for line in report.lines():
            print(line)
    finally:
        await app.close()
    return 0
