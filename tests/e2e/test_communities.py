"""Two communities in one deployment: groups, registrations and registries stay apart."""

from __future__ import annotations

from e2e_helpers import label, render, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from storage import people
from storage.models import Person


async def add_second_community(harness: SandboxHarness) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker.begin() as session:
        community = await people.add_community(
            session, name="Bihar potato CoP", timezone="Asia/Kolkata"
        )
        return community.id


async def test_group_moved_to_second_community(harness: SandboxHarness) -> None:
    second_id = await add_second_community(harness)
    facilitator = harness.facilitator
    group = harness.server.group("Bihar CoP", added_by=facilitator)
    await harness.server.wait_idle()

    await say(harness, facilitator, "/community", group)
    reply = await tap(harness, facilitator, "Bihar potato CoP", group)

    assert "Bihar potato CoP" in reply.text
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        stored = await people.get_group(session, group.id)
    assert stored is not None
    assert stored.community_id == second_id
    assert harness.errors == []


async def test_community_command_facilitators_only(harness: SandboxHarness) -> None:
    ravi = harness.server.user("ravi")
    group = harness.server.group("Bihar CoP", added_by=harness.facilitator)
    await harness.server.wait_idle()

    reply = await say(harness, ravi, "/community", group)

    assert reply.html == render("common/facilitators_only")
    assert reply.buttons == []


async def test_registration_joins_group_community(harness: SandboxHarness) -> None:
    second_id = await add_second_community(harness)
    facilitator = harness.facilitator
    ravi = harness.server.user("ravi")
    group = harness.server.group("Bihar CoP", added_by=facilitator)
    await harness.server.wait_idle()
    await say(harness, facilitator, "/community", group)
    await tap(harness, facilitator, "Bihar potato CoP", group)

    await say(harness, ravi, "/register", group)
    await tap(harness, ravi, label("registration", "continue_private"), group)
    await tap(harness, ravi, label("registration", "agree"))
    await say(harness, ravi, "Ravi Kumar")
    # The second community has no BSOs yet, so Ravi adds his.
    await tap(harness, ravi, label("registration", "bso_not_listed"))
    await say(harness, ravi, "Bihar Rural Livelihoods Trust")
    await say(harness, ravi, "field coordinator")
    await say(harness, ravi, "/skip")
    await say(harness, ravi, "Bihar")
    await say(harness, ravi, "aloo")
    await tap(harness, ravi, label("registration", "english"))
    await tap(harness, ravi, label("forms", "confirm"))

    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        rows = (await session.scalars(select(Person).where(Person.telegram_id == ravi.id))).all()
        registered = [row for row in rows if row.status == "pending"]
        assert len(registered) == 1
        assert registered[0].community_id == second_id
    assert registered[0].bso_id is None
    assert registered[0].proposed_bso_name == "Bihar Rural Livelihoods Trust"

    await tap(harness, facilitator, label("registration", "approve"))

    async with harness.app.sessionmaker() as session:
        approved = await session.get(Person, registered[0].id)
        assert approved is not None
        bso = await people.get_bso(session, second_id, approved.bso_id or 0)
    assert approved.status == "approved"
    assert approved.proposed_bso_name is None
    assert bso is not None
    assert bso.name == "Bihar Rural Livelihoods Trust"
    assert harness.errors == []


async def test_registry_not_shared_between_communities(harness: SandboxHarness) -> None:
    await add_second_community(harness)
    facilitator = harness.facilitator
    group = harness.server.group("Bihar CoP", added_by=facilitator)
    await harness.server.wait_idle()
    await say(harness, facilitator, "/community", group)
    await tap(harness, facilitator, "Bihar potato CoP", group)

    # The demo registry belongs to the first community: 120 buyers, none in the second.
    in_second = await say(harness, facilitator, "/buyers onion", group)
    in_first = await say(harness, facilitator, "/buyers onion")

    assert in_second.buttons == []
    assert "onion" in in_second.text
    assert in_first.buttons != []
