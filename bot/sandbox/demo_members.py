"""Demo members for the interactive sandbox: two approved PoCs with asks, gives and actions.

They let a newcomer try /ask, /mine, /checkin and /actions at once, and give /matrix and
/progress something to show. Tests start from the plain demo data and never load these.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from bot.sandbox.harness import SandboxHarness
from storage import people
from storage.models import Contribution, FollowUpAction, Person, ProgressReport
from storage.themes import active_themes

DEMO_GROUP = "CoP-wide group"


@dataclass(frozen=True)
class DemoMember:
    user_name: str
    first_name: str
    last_name: str
    bso_short_name: str
    locale: str
    states: tuple[str, ...]
    commodities: tuple[str, ...]


MEMBERS = (
    DemoMember("ravi", "Ravi", "Kulkarni", "PRADAN", "en", ("Maharashtra",), ("onion", "soybean")),
    DemoMember("meena", "Meena", "Yadav", "BAIF", "hi", ("Madhya Pradesh",), ("wheat", "soybean")),
)

# (member, kind, theme key, title, description, commodities, states, urgency, help kinds)
ENTRIES: tuple[tuple[Any, ...], ...] = (
    (
        "ravi",
        "ask",
        "finance",
        "Working capital for onion aggregation",
        "Our 6 FPOs need about 20 lakh rupees before the rabi harvest to buy onion from members.",
        ["onion"],
        ["Maharashtra"],
        "high",
        ["peer", "expert"],
    ),
    (
        "ravi",
        "give",
        "market_access",
        "Onion buyer contacts in Nashik",
        "We work with 4 traders and 2 processors in Nashik and can introduce FPOs to them.",
        ["onion"],
        ["Maharashtra"],
        None,
        ["buyers"],
    ),
    (
        "meena",
        "ask",
        "technology",
        "सोलर ड्रायर चलाने का प्रशिक्षण",
        "हमारे दो FPO के पास सोलर ड्रायर हैं, पर उन्हें चलाने का प्रशिक्षण चाहिए।",
        [],
        ["Madhya Pradesh"],
        "medium",
        ["workshop", "peer"],
    ),
    (
        "meena",
        "give",
        "governance",
        "FPO board training module",
        "A two-day module for FPO board members on roles, meetings and accounts.",
        [],
        [],
        None,
        ["training", "tool"],
    ),
)


async def load_demo_members(harness: SandboxHarness) -> None:
    """Create the demo PoCs as approved members, their entries, and the CoP-wide group."""
    app = harness.app
    assert app is not None
    server = harness.server
    now = harness.clock.now()
    zone = zoneinfo.ZoneInfo(app.settings.timezone)
    today = now.astimezone(zone).date()

    group = server.group(DEMO_GROUP, added_by=harness.facilitator)
    await server.wait_idle()

    async with app.sessionmaker.begin() as session:
        community = await people.ensure_community(
            session, name=app.settings.community_name, timezone=app.settings.timezone
        )
        stored_group = await people.get_group(session, group.id)
        if stored_group is not None:
            stored_group.kind = "cop"

        themes = {theme.key: theme for theme in await active_themes(session, community.id)}
        persons: dict[str, Person] = {}
        for member in MEMBERS:
            user = server.user(
                member.user_name, first_name=member.first_name, last_name=member.last_name
            )
            user.started = True
            bso = await people.find_bso_by_name(session, community.id, member.bso_short_name)
            assert bso is not None, f"demo BSO {member.bso_short_name} is missing"
            person = await people.touch_person(
                session,
                community_id=community.id,
                telegram_id=user.id,
                telegram_name=f"{member.first_name} {member.last_name}",
                username=None,
                in_private_chat=True,
            )
            person.name = f"{member.first_name} {member.last_name}"
            person.bso_id = bso.id
            person.bso_role = "Programme manager"
            person.states = list(member.states)
            person.commodities = list(member.commodities)
            person.locale = member.locale
            person.status = "approved"
            person.consent_at = now
            person.decided_at = now
            persons[member.user_name] = person
        await session.flush()

        for name, kind, theme_key, title, text, commodities, states, urgency, kinds in ENTRIES:
            person = persons[name]
            assert person.bso_id is not None
            session.add(
                Contribution(
                    community_id=community.id,
                    bso_id=person.bso_id,
                    person_id=person.id,
                    kind=kind,
                    theme_id=themes[theme_key].id,
                    title=title,
                    description=text,
                    commodities=commodities,
                    states=states,
                    urgency=urgency,
                    help_kinds=kinds,
                )
            )

        ravi, meena = persons["ravi"], persons["meena"]
        assert ravi.bso_id is not None and meena.bso_id is not None
        session.add_all(
            [
                FollowUpAction(
                    community_id=community.id,
                    bso_id=ravi.bso_id,
                    theme_id=themes["market_access"].id,
                    title="Share the FPO business plan template with BAIF",
                    due_on=today - dt.timedelta(days=5),
                ),
                FollowUpAction(
                    community_id=community.id,
                    bso_id=ravi.bso_id,
                    theme_id=themes["finance"].id,
                    title="Apply for the NABKISAN working capital loan",
                    due_on=today + dt.timedelta(days=12),
                ),
            ]
        )
        last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        session.add(
            ProgressReport(
                community_id=community.id,
                bso_id=meena.bso_id,
                month=last_month,
                actions_taken="दो FPO के बोर्ड सदस्यों का प्रशिक्षण किया।",
                fpos_supported=6,
                buyer_linkages=2,
                volume_tonnes=40.0,
                value_lakh=12.5,
                women_reached=85,
                filed_by=meena.id,
            )
        )
