"""Demo data for the sandbox: the sample BSOs, buyer registry and scheme registry."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Application
from bot.forms.months import parse_months
from storage import people, registries
from storage import supply as supply_store
from storage.models import Bso

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
        await load_demo_supply(session, community.id)


async def load_demo_supply(session: AsyncSession, community_id: int) -> None:
    """Add the demo supply profiles, so that a demo /requirement finds BSOs that match.

    Two BSOs harvest mango in different months, as in a real CoP's year-round trade.
    A profile that exists already (a restarted demo) is left as it is.
    """
    added = 0
    with (DEMO_DIR / "supply.csv").open(encoding="utf-8") as file:
        for row in csv.DictReader(file):
            bso_id = await session.scalar(
                select(Bso.id).where(Bso.community_id == community_id, Bso.short_name == row["bso"])
            )
            if bso_id is None:
                raise ValueError(f"supply.csv: BSO {row['bso']!r} not found in bsos.csv")
            values = supply_store.SupplyValues(
                commodity=row["commodity"],
                variety=row["variety"] or None,
                states=tuple(_items(row["states"])),
                districts=tuple(_items(row["districts"])),
                harvest_months=parse_months(row["harvest_months"]),
                volume_tonnes=float(row["volume_tonnes"]) if row["volume_tonnes"] else None,
            )
            try:
                await supply_store.add_profile(
                    session, community_id=community_id, bso_id=bso_id, values=values, person_id=None
                )
            except supply_store.DuplicateCommodity:
                continue
            added += 1
    log.info("demo supply profiles loaded: %s added", added)


def _items(cell: str) -> list[str]:
    return [item.strip() for item in cell.split(";") if item.strip()]
