"""Long-running entry points: polling Telegram, and imports from the command line."""

from __future__ import annotations

import logging
import sys
from argparse import Namespace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


async def import_file(
    settings: Settings, registry: str, path: Path, community_id: int | None = None
) -> int:
    """Import a registry file and print the report; return the exit status.

    Errors go to stderr: status 2 when the file is missing, 1 when it cannot be read
    as a registry (not a spreadsheet, wrong registry, no name column).
    """
    from storage import people, registries
    from storage.importer import ImportFileError

    if not path.is_file():
        print(f"File not found: {path}", file=sys.stderr)
        return 2
    app = create_application(settings)
    try:
        await app.prepare_database()
        async with app.sessionmaker.begin() as session:
            community = await people.ensure_community(
                session, name=settings.community_name, timezone=settings.timezone
            )
            if community_id is not None:
                chosen = await people.get_community(session, community_id)
                if chosen is None:
                    print(
                        f"Community {community_id} not found; see python -m bot community list",
                        file=sys.stderr,
                    )
                    return 2
                community = chosen
            importer = (
                registries.import_buyers if registry == "buyers" else registries.import_schemes
            )
            try:
                report = await importer(session, community.id, path.read_bytes(), path.name)
            except ImportFileError as error:
                print(f"{path.name}: {error}", file=sys.stderr)
                return 1
        for line in report.lines():
            print(line)
    finally:
        await app.close()
    return 0


async def manage_communities(settings: Settings, action: str, args: Namespace) -> int:
    from storage import people

    app = create_application(settings)
    try:
        await app.prepare_database()
        async with app.sessionmaker.begin() as session:
            if action == "add":
                timezone = args.timezone or settings.timezone
                try:
                    ZoneInfo(timezone)
                    community = await people.add_community(
                        session, name=args.name, timezone=timezone
                    )
                except ZoneInfoNotFoundError:
                    print(
                        f"Community not added: unknown time zone {timezone!r}; use an IANA name such as Asia/Kolkata.",
                        file=sys.stderr,
                    )
                    return 1
                except ValueError as error:
                    print(f"Community not added: {error}.", file=sys.stderr)
                    return 1
                print(f"Added community {community.id}: {community.name} ({community.timezone}).")
                print("In a group of that community, a facilitator sends /community to attach it.")
                return 0
            for community in await people.list_communities(session):
                print(f"{community.id}\t{community.name}\t{community.timezone}")
    finally:
        await app.close()
    return 0
