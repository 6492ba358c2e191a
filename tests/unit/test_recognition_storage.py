"""What a month's recognition collects from asks, gives and progress reports, on a real SQLite database."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.texts import Texts
from storage import recognition
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_to_head
from storage.models import Bso, Community, Contribution, ProgressReport, Scheme, Theme

APRIL = dt.date(2031, 4, 1)
MARCH = dt.date(2031, 3, 1)
ZONE = "Asia/Kolkata"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = create_engine(f"sqlite:///{tmp_path / 'recognition.sqlite'}")
    await upgrade_to_head(engine)
    async with create_sessionmaker(engine)() as opened:
        yield opened
    await engine.dispose()


async def community_with_bsos(session: AsyncSession) -> tuple[Community, Theme, list[Bso]]:
    community = Community(name="CoP", slug="cop", timezone=ZONE)
    session.add(community)
    await session.flush()
    theme = Theme(community_id=community.id, key="finance", name="Finance", name_key="finance")
    bsos = [
        Bso(community_id=community.id, name=name, name_key=name.lower(), short_name=None)
        for name in ("Alpha", "Beta", "Gamma")
    ]
    session.add_all([theme, *bsos])
    await session.flush()
    return community, theme, bsos


def entry(
    community: Community, theme: Theme, bso: Bso, kind: str, at: dt.datetime, **values: object
) -> Contribution:
    updated = values.pop("updated", at)
    return Contribution(
        community_id=community.id,
        bso_id=bso.id,
        kind=kind,
        theme_id=theme.id,
        title=f"{kind} of {bso.name}",
        created_at=at.astimezone(dt.UTC),
        updated_at=updated.astimezone(dt.UTC),  # type: ignore[attr-defined]
        **values,
    )


def report(community: Community, bso: Bso, month: dt.date, **values: object) -> ProgressReport:
    return ProgressReport(community_id=community.id, bso_id=bso.id, month=month, **values)


async def test_gives_counted_in_local_month(session: AsyncSession) -> None:
    community, theme, (alpha, beta, gamma) = await community_with_bsos(session)
    session.add_all(
        [
            # 1 April 00:30 in India is still 31 March in UTC.
            entry(community, theme, alpha, "give", dt.datetime(2031, 4, 1, 0, 30, tzinfo=IST)),
            entry(community, theme, alpha, "give", dt.datetime(2031, 4, 15, tzinfo=IST)),
            entry(
                community, theme, beta, "give", dt.datetime(2031, 4, 2, tzinfo=IST), private=True
            ),
            entry(
                community,
                theme,
                gamma,
                "give",
                dt.datetime(2031, 4, 2, tzinfo=IST),
                status="withdrawn",
            ),
            entry(community, theme, gamma, "give", dt.datetime(2031, 5, 1, 0, 10, tzinfo=IST)),
            entry(community, theme, gamma, "ask", dt.datetime(2031, 4, 3, tzinfo=IST)),
        ]
    )
    await session.flush()

    found = await recognition.gives_added(session, community.id, APRIL, ZONE)

    assert [(credit.bso.name, credit.count) for credit in found] == [("Alpha", 2)]


async def test_asks_addressed_in_month(session: AsyncSession) -> None:
    community, theme, (alpha, beta, gamma) = await community_with_bsos(session)
    march = dt.datetime(2031, 3, 3, tzinfo=IST)
    april = dt.datetime(2031, 4, 20, tzinfo=IST)
    session.add_all(
        [
            entry(community, theme, alpha, "ask", march, status="addressed", updated=april),
            entry(community, theme, beta, "ask", march, status="addressed", updated=march),
            entry(community, theme, gamma, "ask", march, status="open", updated=april),
            entry(
                community,
                theme,
                gamma,
                "ask",
                march,
                status="addressed",
                updated=april,
                private=True,
            ),
        ]
    )
    await session.flush()

    found = await recognition.asks_addressed(session, community.id, APRIL, ZONE)

    assert [(item.bso.name, item.title) for item in found] == [("Alpha", "ask of Alpha")]


async def test_streak_needs_consecutive_months(session: AsyncSession) -> None:
    community, _theme, (alpha, beta, gamma) = await community_with_bsos(session)
    for month in (dt.date(2030, 12, 1), dt.date(2031, 1, 1), dt.date(2031, 2, 1), MARCH):
        session.add(report(community, alpha, month))
    for month in (dt.date(2031, 1, 1), MARCH):
        session.add(report(community, beta, month))
    for month in (dt.date(2031, 1, 1), dt.date(2031, 2, 1)):
        session.add(report(community, gamma, month))
    await session.flush()

    found = await recognition.checkin_streaks(session, community.id, MARCH)

    assert [(streak.bso.name, streak.months) for streak in found] == [("Alpha", 4)]


async def test_first_buyer_linkage_only_once(session: AsyncSession) -> None:
    community, _theme, (alpha, beta, gamma) = await community_with_bsos(session)
    session.add_all(
        [
            report(community, alpha, dt.date(2031, 2, 1), buyer_linkages=0),
            report(community, alpha, MARCH, buyer_linkages=2),
            report(community, beta, dt.date(2031, 1, 1), buyer_linkages=1),
            report(community, beta, MARCH, buyer_linkages=3),
            report(community, gamma, MARCH, buyer_linkages=None),
        ]
    )
    await session.flush()

    found = await recognition.first_buyer_linkages(session, community.id, MARCH)

    assert [bso.name for bso in found] == ["Alpha"]


async def test_new_scheme_matched_without_case_or_spaces(session: AsyncSession) -> None:
    community, _theme, (alpha, beta, gamma) = await community_with_bsos(session)
    session.add_all(
        [
            Scheme(
                community_id=community.id,
                name="Agriculture Infrastructure Fund",
                name_key="agriculture infrastructure fund",
                short_name="AIF",
            ),
            Scheme(community_id=community.id, name="e-NAM", name_key="e nam", short_name=None),
            report(community, alpha, MARCH, actions_taken="Two FPOs applied under aif"),
            report(community, beta, dt.date(2031, 1, 1), challenges="Slow AIF sanction"),
            report(community, beta, MARCH, actions_taken="AIF loan sanctioned; listed on ENAM"),
            # "naif" contains "aif" but is another word.
            report(community, gamma, MARCH, actions_taken="A naif  plan"),
        ]
    )
    await session.flush()

    found = await recognition.new_schemes(session, community.id, MARCH)

    assert [(item.bso.name, item.schemes) for item in found] == [
        ("Alpha", ("AIF",)),
        ("Beta", ("e-NAM",)),
    ]


def test_mentions_respects_word_boundaries() -> None:
    text = recognition.compact_words("Registered on E NAM and the 10K-FPO scheme")

    assert recognition.mentions(text, "e-NAM")
    assert recognition.mentions(text, "10K FPO")
    assert not recognition.mentions(text, "NAM and th")
    assert not recognition.mentions(text, "ON")


async def test_collect_empty_month(session: AsyncSession) -> None:
    community, _theme, _bsos = await community_with_bsos(session)

    found = await recognition.collect(
        session, community.id, month=APRIL, report_month=MARCH, timezone=ZONE
    )

    assert found.empty


@pytest.mark.parametrize("locale", ["en", "hi"])
@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("recognition/already", {"status": "पोस्ट हो चुकी"}),
        ("recognition/gone", {}),
        ("recognition/no_groups", {}),
        ("recognition/private_only", {}),
        ("common/facilitators_only", {}),
    ],
)
def test_recognition_alerts_fit_telegram(locale: str, template: str, context: dict) -> None:
    # answerCallbackQuery accepts at most 200 characters.
    text = Texts().bind(locale).alert(template, **context)

    assert len(text) <= 200
