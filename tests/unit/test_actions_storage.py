"""Queries and status changes of follow-up actions, on SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import actions
from storage.db import as_utc
from storage.models import Bso, Community, FollowUpAction, Person

NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 1)


async def community_with_bsos(session: AsyncSession, *names: str) -> tuple[Community, list[Bso]]:
    community = Community(name=f"CoP {uuid.uuid4().hex[:6]}", slug=uuid.uuid4().hex[:12])
    session.add(community)
    await session.flush()
    bsos = [Bso(community_id=community.id, name=name, name_key=name.lower()) for name in names]
    session.add_all(bsos)
    await session.flush()
    return community, bsos


async def add(
    session: AsyncSession,
    community: Community,
    bso: Bso,
    title: str,
    due_on: dt.date | None = None,
) -> FollowUpAction:
    return await actions.add_action(
        session,
        community_id=community.id,
        bso_id=bso.id,
        theme_id=None,
        title=title,
        due_on=due_on,
        created_by=42,
    )


def person(community: Community, bso: Bso | None, telegram_id: int, **fields: object) -> Person:
    return Person(
        community_id=community.id,
        telegram_id=telegram_id,
        bso_id=bso.id if bso else None,
        states=[],
        commodities=[],
        **fields,
    )


async def test_add_action_stores_open_action(session: AsyncSession) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")

    action = await add(session, community, bso, "Share buyer list", dt.date(2026, 12, 15))

    assert action.id is not None
    assert action.status == "open"
    assert action.created_by == 42
    assert action.bso.name == "PRADAN"


@pytest.mark.parametrize("title", ["", "   ", "x" * (actions.TITLE_MAX + 1)])
async def test_add_action_rejects_bad_title(session: AsyncSession, title: str) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")

    with pytest.raises(ValueError, match="title"):
        await add(session, community, bso, title)


async def test_open_actions_earliest_due_first(session: AsyncSession) -> None:
    community, (bso, other) = await community_with_bsos(session, "PRADAN", "Vrutti")
    await add(session, community, bso, "undated")
    await add(session, community, bso, "later", dt.date(2026, 12, 20))
    await add(session, community, bso, "earlier", dt.date(2026, 11, 20))
    await add(session, community, other, "other BSO", dt.date(2026, 11, 1))
    done = await add(session, community, bso, "done", dt.date(2026, 11, 1))
    await actions.change_status(session, done, "done", None, now=NOW)

    listed = await actions.open_actions(session, community.id, bso.id)

    assert [action.title for action in listed] == ["earlier", "later", "undated"]


async def test_all_open_actions_grouped_by_bso_name(session: AsyncSession) -> None:
    community, (vrutti, pradan) = await community_with_bsos(session, "Vrutti", "PRADAN")
    await add(session, community, vrutti, "v late", dt.date(2026, 12, 20))
    await add(session, community, pradan, "p undated")
    await add(session, community, vrutti, "v early", dt.date(2026, 11, 1))
    other_community, (stranger,) = await community_with_bsos(session, "Elsewhere")
    await add(session, other_community, stranger, "elsewhere")

    listed = await actions.all_open_actions(session, community.id)

    assert [action.title for action in listed] == ["p undated", "v early", "v late"]


async def test_get_action_hides_other_communities(session: AsyncSession) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")
    other_community, _ = await community_with_bsos(session, "Vrutti")
    action = await add(session, community, bso, "mine")

    assert await actions.get_action(session, community.id, action.id) is action
    assert await actions.get_action(session, other_community.id, action.id) is None
    assert await actions.get_action(session, community.id, action.id + 1000) is None


async def test_change_status_sets_fields(session: AsyncSession) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")
    poc = person(community, bso, 7, status="approved")
    session.add(poc)
    action = await add(session, community, bso, "task")

    stuck = await actions.change_status(session, action, "stuck", poc, now=NOW, reason="no buyer")
    reason_after_stuck = action.stuck_reason
    done = await actions.change_status(session, action, "done", poc, now=NOW, reason="ignored")

    assert stuck is True
    assert reason_after_stuck == "no buyer"
    assert done is True
    assert action.status == "done"
    assert action.stuck_reason is None
    assert action.done_at is not None
    assert as_utc(action.done_at) == NOW
    assert actions.closed_at(action) == NOW
    assert action.updated_by == poc.id


async def test_change_status_rejects_stale_object(session: AsyncSession) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")
    action = await add(session, community, bso, "task")
    # Another update marks it done after this one loaded it.
    await session.execute(
        update(FollowUpAction)
        .where(FollowUpAction.id == action.id)
        .values(status="done")
        .execution_options(synchronize_session=False)
    )

    changed = await actions.change_status(session, action, "dropped", None, now=NOW)

    assert changed is False
    assert action.status == "done"


async def test_change_status_rejects_unknown_status(session: AsyncSession) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")
    action = await add(session, community, bso, "task")

    with pytest.raises(ValueError, match="unknown action status"):
        await actions.change_status(session, action, "finished", None, now=NOW)


@pytest.mark.parametrize(
    ("current", "target", "problem"),
    [
        ("open", "done", None),
        ("open", "open", "same"),
        ("in_progress", "in_progress", "same"),
        ("in_progress", "stuck", None),
        ("stuck", "stuck", None),
        ("stuck", "in_progress", None),
        ("done", "done", "closed"),
        ("done", "in_progress", "closed"),
        ("dropped", "stuck", "closed"),
    ],
)
def test_status_problem(current: str, target: str, problem: str | None) -> None:
    action = FollowUpAction(status=current)

    assert actions.status_problem(action, target) == problem


@pytest.mark.parametrize(
    ("status", "due_on", "overdue"),
    [
        ("open", dt.date(2026, 11, 30), True),
        ("stuck", dt.date(2026, 11, 30), True),
        ("open", TODAY, False),
        ("open", None, False),
        ("done", dt.date(2026, 11, 30), False),
        ("dropped", dt.date(2026, 11, 30), False),
    ],
)
def test_is_overdue(status: str, due_on: dt.date | None, overdue: bool) -> None:
    action = FollowUpAction(status=status, due_on=due_on)

    assert actions.is_overdue(action, TODAY) is overdue


async def test_recently_closed_window_and_limit(session: AsyncSession) -> None:
    community, (bso,) = await community_with_bsos(session, "PRADAN")
    for day in range(1, 5):
        action = await add(session, community, bso, f"closed {day}")
        status = "done" if day % 2 else "dropped"
        await actions.change_status(
            session, action, status, None, now=NOW - dt.timedelta(days=day * 10)
        )
    await add(session, community, bso, "still open")

    closed = await actions.recently_closed(
        session, community.id, bso.id, since=NOW - dt.timedelta(days=30), limit=2
    )

    assert [action.title for action in closed] == ["closed 1", "closed 2"]


async def test_pocs_to_notify_and_unreachable(session: AsyncSession) -> None:
    community, (bso, other) = await community_with_bsos(session, "PRADAN", "Vrutti")
    session.add_all(
        [
            person(community, bso, 1, status="approved", private_chat_open=True),
            person(community, bso, 2, status="approved", private_chat_open=False),
            person(community, bso, 3, status="pending", private_chat_open=True),
            person(community, other, 4, status="approved", private_chat_open=True),
        ]
    )
    await session.flush()

    notified = await actions.pocs_to_notify(session, community.id, bso.id)
    unreachable = await actions.count_unreachable_pocs(session, community.id, bso.id)

    assert [poc.telegram_id for poc in notified] == [1]
    assert unreachable == 1
