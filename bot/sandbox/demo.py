"""Demo data for the sandbox: the sample BSOs, buyer registry and scheme registry."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from bot.app import Application
from storage import people, registries

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "demo"


async def load_demo_data(app: Application) -> None:
    async with app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=app.settings.community_name, timezone=app.settings.timezone
        )
        with (DEMO_DIR / "bsos.csv").open(encoding="utf-8") as file:
            for row in csv.DictReader(file):
                await people.ensure_bso(session, community.id, row["name"], row["short_name"])
        for registry, importer in (
            ("buyers", registries.import_buyers),
            ("schemes", registries.import_schemes),
        ):
            path = DEMO_DIR / f"{registry}.csv"
            report = await importer(session, community.id, path.read_bytes(), path.name)
            log.info("demo %s loaded: %s added", registry, report.added)
