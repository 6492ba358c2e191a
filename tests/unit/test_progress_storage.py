"""Progress reports in the database: filing, amendments, concurrent filings and closed months."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import progress
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import (
    Bso,
    Community,
    FollowUpAction,
    Person,
    ProgressChange,
    ProgressReport,
)
from storage.progress import ActionUpdate, MonthClosed

MARCH = dt.date(2026, 3, 1)
NOW = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)
VALUES: dict[str, Any] = {
    "actions_taken": "Trained 3 FPO boards",
    "challenges": None,
    "support_needed": "A buyer for onion",
    "fpos_supported": 12,
    "buyer_linkages": 3,
    "volume_tonnes": 12.0,
    "value_lakh": 3.5,
    "women_reached": 40,
}


@pytest.fixture(params=["sqlite", "postgresql"])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Yield sessions on a fresh migrated database: SQLite, then PostgreSQL when reachable."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'progress.sqlite'}")
        await upgrade_to_head(engine)
        yield create_sessionmaker(engine)
        await engine.dispose()
        return

    server_url = request.getfixturevalue("postgres_url")
    database = f"cop_test_progress_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        await connection.execute(text(f"CREATE DATABASE {database}"))
    engine = create_engine(server_url.rsplit("/", 1)[0] + f"/{database}")
    try:
        await upgrade_to_head(engine)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {database}"))
        await admin.dispose()


@pytest.fixture
async def ids(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Create a community with one BSO, two of its PoCs and an open action; return their ids."""
    async with sessions.begin() as session:
        community = Community(name="CoP", slug="cop", timezone="Asia/Kolkata")
        session.add(community)
        await session.flush()
        bso = Bso(community_id=community.id, name="PRADAN", name_key="pradan")
        session.add(bso)
        await session.flush()
        asha, ravi = (
            Person(
                community_id=community.id,
                telegram_id=telegram_id,
                name=name,
                status="approved",
                bso_id=bso.id,
            )
            for telegram_id, name in ((1, "Asha Patil"), (2, "Ravi Kumar"))
        )
        action = FollowUpAction(community_id=community.id, bso_id=bso.id, title="Train boards")
        session.add_all([asha, ravi, action])
        await session.flush()
        return {
            "community": community.id,
            "bso": bso.id,
            "asha": asha.id,
            "ravi": ravi.id,
            "action": action.id,
        }


async def save(
    session: AsyncSession,
    ids: dict[str, int],
    person: str,
    values: dict[str, Any],
    *,
    base: dict[str, Any] | None = None,
    now: dt.datetime = NOW,
    updates: tuple[ActionUpdate, ...] = (),
) -> progress.Filing:
    found = await session.get(Person, ids[person])
    assert found is not None
    return await progress.save_report(
        session,
        community_id=ids["community"],
        bso_id=ids["bso"],
        month=MARCH,
        values=values,
        base=base,
        person=found,
        now=now,
        action_updates=updates,
    )


async def changes_by(session: AsyncSession, name: str) -> list[tuple[str, Any, Any]]:
    rows = await session.scalars(
        select(ProgressChange).where(ProgressChange.person_name == name).order_by(ProgressChange.id)
    )
    return [(row.field, row.old_value, row.new_value) for row in rows]


async def report_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(ProgressReport.id))) or 0)


# --- Filing and amending --------------------------------------------------------------------


async def test_first_filing_logs_each_value(sessions, ids) -> None:
    async with sessions.begin() as session:
        filing = await save(session, ids, "asha", VALUES)

    assert filing.created
    assert not filing.merged
    async with sessions() as session:
        logged = await changes_by(session, "Asha Patil")
    # The skipped challenges field has no row.
    assert [field for field, _, _ in logged] == [
        name for name in progress.REPORT_FIELDS if VALUES[name] is not None
    ]
    assert all(old is None for _, old, _ in logged)


async def test_amendment_writes_changed_fields_only(sessions, ids) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", VALUES)
    later = NOW + dt.timedelta(days=1)

    async with sessions.begin() as session:
        filing = await save(
            session, ids, "ravi", {**VALUES, "volume_tonnes": 15.0}, base=VALUES, now=later
        )

    assert filing.changed == ["volume_tonnes"]
    async with sessions() as session:
        assert await changes_by(session, "Ravi Kumar") == [("volume_tonnes", 12.0, 15.0)]
        report = await session.scalar(select(ProgressReport))
        assert report is not None
        assert report.volume_tonnes == 15.0
        assert await report_count(session) == 1


async def test_concurrent_amendments_keep_both(sessions, ids) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", VALUES)
    # Both forms started from VALUES; each person changed a different field.
    async with sessions.begin() as session:
        await save(session, ids, "asha", {**VALUES, "women_reached": 55}, base=VALUES)
    async with sessions.begin() as session:
        await save(session, ids, "ravi", {**VALUES, "buyer_linkages": 5}, base=VALUES)

    async with sessions() as session:
        report = await session.scalar(select(ProgressReport))
    assert report is not None
    assert report.women_reached == 55
    assert report.buyer_linkages == 5


async def test_cleared_optional_answer_logged(sessions, ids) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", VALUES)

    async with sessions.begin() as session:
        await save(session, ids, "ravi", {**VALUES, "support_needed": None}, base=VALUES)

    async with sessions() as session:
        assert await changes_by(session, "Ravi Kumar") == [
            ("support_needed", "A buyer for onion", None)
        ]


async def test_late_first_filing_merged(sessions, ids) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", {**VALUES, "challenges": "Late rains"})

    async with sessions.begin() as session:
        filing = await save(session, ids, "ravi", {**VALUES, "buyer_linkages": 5})

    assert filing.merged
    assert not filing.created
    async with sessions() as session:
        report = await session.scalar(select(ProgressReport))
        assert report is not None
        # Ravi skipped the challenges; an empty answer never clears Asha's.
        assert report.challenges == "Late rains"
        assert await changes_by(session, "Ravi Kumar") == [("buyer_linkages", 3, 5)]


async def test_concurrent_first_filings_make_one_report(
    sessions, ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", VALUES)
    # Ravi's save looked before Asha's insert committed: its first lookup finds nothing.
    real_find = progress.find_report
    calls = 0

    async def find_late(*args: Any) -> ProgressReport | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else await real_find(*args)

    monkeypatch.setattr(progress, "find_report", find_late)
    # No `sessions.begin()` block: the save rolls the session back itself, as in a handler.
    async with sessions() as session:
        filing = await save(session, ids, "ravi", {**VALUES, "women_reached": 41})
        await session.commit()

    assert filing.rolled_back
    assert filing.merged
    assert filing.changed == ["women_reached"]
    async with sessions() as session:
        assert await report_count(session) == 1
        assert await changes_by(session, "Ravi Kumar") == [("women_reached", 40, 41)]


async def test_closed_month_rejects_saves(sessions, ids) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", VALUES)
        assert await progress.close_month(session, ids["community"], MARCH, 99, NOW)
        assert not await progress.close_month(session, ids["community"], MARCH, 99, NOW)

    async with sessions() as session:
        with pytest.raises(MonthClosed):
            await save(session, ids, "ravi", {**VALUES, "women_reached": 1}, base=VALUES)
        await session.rollback()

    async with sessions.begin() as session:
        assert await progress.reopen_month(session, ids["community"], MARCH)
        assert not await progress.reopen_month(session, ids["community"], MARCH)
        await save(session, ids, "ravi", {**VALUES, "women_reached": 1}, base=VALUES)


# --- Follow-up actions ----------------------------------------------------------------------


async def test_action_status_logged_on_report(sessions, ids) -> None:
    update = ActionUpdate(ids["action"], "stuck", "No reply from the mandi")
    async with sessions.begin() as session:
        filing = await save(session, ids, "asha", VALUES, updates=(update,))

    assert [action.id for action in filing.actions] == [ids["action"]]
    async with sessions() as session:
        action = await session.get(FollowUpAction, ids["action"])
        logged = await changes_by(session, "Asha Patil")
    assert action is not None
    assert action.status == "stuck"
    assert action.stuck_reason == "No reply from the mandi"
    assert action.updated_by == ids["asha"]
    assert (
        f"action:{ids['action']}",
        {"status": "open", "reason": None},
        {"status": "stuck", "reason": "No reply from the mandi"},
    ) in logged


async def test_closed_action_not_reopened(sessions, ids) -> None:
    async with sessions.begin() as session:
        action = await session.get(FollowUpAction, ids["action"])
        assert action is not None
        action.status = "done"

    update = ActionUpdate(ids["action"], "in_progress")
    async with sessions.begin() as session:
        filing = await save(session, ids, "asha", VALUES, updates=(update,))

    assert [action.id for action in filing.skipped] == [ids["action"]]
    assert filing.actions == []
    async with sessions() as session:
        action = await session.get(FollowUpAction, ids["action"])
    assert action is not None
    assert action.status == "done"


# --- Who filed, totals and months -----------------------------------------------------------


async def test_filing_info_groups_saves(sessions, ids) -> None:
    async with sessions.begin() as session:
        await save(session, ids, "asha", VALUES)
    for days, person in ((1, "ravi"), (2, "asha")):
        async with sessions.begin() as session:
            amended = {**VALUES, "women_reached": 40 + days}
            await save(
                session, ids, person, amended, base=VALUES, now=NOW + dt.timedelta(days=days)
            )

    async with sessions() as session:
        report = await session.scalar(select(ProgressReport))
        assert report is not None
        changes = (await progress.report_changes(session, [report.id]))[report.id]
    info = progress.filing_info(report, changes)
    assert info.filed_by == "Asha Patil"
    assert info.filed_at == NOW
    assert [batch.person_name for batch in info.amendments] == ["Ravi Kumar", "Asha Patil"]
    assert info.amendments[-1].changed_at == NOW + dt.timedelta(days=2)


def test_totals_rounded() -> None:
    reports = [
        ProgressReport(value_lakh=0.1, volume_tonnes=None, fpos_supported=2),
        ProgressReport(value_lakh=0.2, volume_tonnes=1.5, fpos_supported=3),
    ]
    totals = progress.totals(reports)
    assert totals["value_lakh"] == 0.3
    assert totals["volume_tonnes"] == 1.5
    assert totals["fpos_supported"] == 5
    assert totals["women_reached"] == 0


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC), dt.date(2026, 1, 1)),
        (dt.datetime(2025, 12, 31, 18, 0, tzinfo=dt.UTC), dt.date(2025, 12, 1)),
        (dt.datetime(2026, 2, 28, 18, 29, tzinfo=dt.UTC), dt.date(2026, 2, 1)),
        (dt.datetime(2026, 2, 28, 18, 30, tzinfo=dt.UTC), dt.date(2026, 3, 1)),
    ],
)
def test_local_month_in_kolkata(now: dt.datetime, expected: dt.date) -> None:
    assert progress.local_month(now, "Asia/Kolkata") == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (202603, dt.date(2026, 3, 1)),
        (202612, dt.date(2026, 12, 1)),
        (202613, None),
        (202600, None),
        (199912, None),
        (200001, progress.EARLIEST_MONTH),
        (999912, progress.LATEST_MONTH),
        (100, None),
        (0, None),
        (99999999, None),
    ],
)
def test_month_from_key(key: int, expected: dt.date | None) -> None:
    assert progress.month_from_key(key) == expected


def test_add_months_crosses_years() -> None:
    assert progress.add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert progress.add_months(dt.date(2025, 12, 1), 1) == dt.date(2026, 1, 1)
    assert progress.add_months(dt.date(2026, 3, 1), -15) == dt.date(2024, 12, 1)


@pytest.mark.parametrize(
    ("month", "count", "expected"),
    [
        (dt.date(2000, 1, 1), -1, None),
        (dt.date(2000, 2, 1), -1, dt.date(2000, 1, 1)),
        (dt.date(1, 1, 1), -1, None),
        (dt.date(1, 1, 1), 1, None),
        (dt.date(1990, 1, 1), 1, None),
        (dt.date(9999, 12, 1), 1, None),
        (dt.date(9999, 11, 1), 1, dt.date(9999, 12, 1)),
        (dt.date(2026, 3, 1), -100_000, None),
    ],
)
def test_add_months_at_bounds(month: dt.date, count: int, expected: dt.date | None) -> None:
    assert progress.add_months(month, count) == expected


def test_earliest_month_has_key() -> None:
    for month in (progress.EARLIEST_MONTH, progress.LATEST_MONTH):
        assert progress.month_from_key(progress.month_key(month)) == month
