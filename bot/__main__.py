"""Command line: python -m bot [run|sandbox|migrate|import]."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from bot.logs import setup_logging

NO_TOKEN = (
    "BOT_TOKEN is not set: create a bot with @BotFather in Telegram, then put "
    "BOT_TOKEN=<token> in .env (or try the offline sandbox: python -m bot sandbox)."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Telegram assistant for a Community of Practice. Without a command it "
        "runs the bot when BOT_TOKEN is set and the offline sandbox otherwise.",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="poll Telegram (or BOT_API_URL) with BOT_TOKEN")
    sandbox = commands.add_parser("sandbox", help="chat with the bot offline in this terminal")
    sandbox.add_argument("--empty", action="store_true", help="start without the demo data")
    sandbox.add_argument(
        "--script", type=Path, metavar="FILE", help="play a scripted conversation and exit"
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    community = commands.add_parser("community", help="list the communities or add one")
    community_commands = community.add_subparsers(dest="action", required=True)
    community_commands.add_parser("list", help="list the communities of this deployment")
    adder = community_commands.add_parser("add", help="add a community")
    adder.add_argument("name")
    adder.add_argument("--timezone", help="IANA time zone (default: TIMEZONE)")
    importer = commands.add_parser("import", help="import a registry from a CSV or XLSX file")
    importer.add_argument("registry", choices=["buyers", "schemes"])
    importer.add_argument("file", type=Path)
    importer.add_argument(
        "--community", type=int, metavar="ID", help="community id (default: the first one)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    setup_logging()

    command = args.command
    if command is None:
        command = "run" if settings.bot_token else "sandbox"
        if command == "sandbox":
            print(NO_TOKEN.split(":")[0] + ": starting the offline sandbox instead.")
            args.empty, args.script = False, None

    if command == "run":
        if settings.bot_token is None:
            print(NO_TOKEN, file=sys.stderr)
            return 2
        from bot.runner import run_polling

        return asyncio.run(run_polling(settings))
    if command == "sandbox":
        from bot.sandbox.cli import run_sandbox

        return asyncio.run(run_sandbox(settings, empty=args.empty, script=args.script))
    if command == "migrate":
        return asyncio.run(migrate(settings))
    if command == "community":
        from bot.runner import manage_communities

        return asyncio.run(manage_communities(settings, args.action, args))
    if command == "import":
        from bot.runner import import_file

        return asyncio.run(import_file(settings, args.registry, args.file, args.community))
    raise AssertionError(command)


async def migrate(settings: Settings) -> int:
    from storage.db import create_engine
    from storage.migrate import upgrade_to_head

    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    print("The database schema is up to date.")
    return 0


if __name__ == "__main__":
    logging.captureWarnings(True)
    sys.exit(main())
