"""The facilitator's /consolidate through the sandbox: kinds and suggestions, edits that
persist, the CSV file, and who may use it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from asks_steps import alert, approved_poc, button_data, cop_group, load_entry, load_theme, press
from e2e_helpers import TEXTS, Answers, label, say, tap
from sqlalchemy import select

from bot.sandbox.harness import SandboxHarness
from bot.sandbox.models import SandboxUser
from bot.texts import MESSAGE_LIMIT, clip, utf16_length
from handlers.callbacks import ConsolidateView
from handlers.consolidate import (
    ASKS_IN_OVERVIEW,
    ASKS_IN_VIEW,
    BSO_NAME_MAX,
    BSOS_MAX,
    CLUSTERS_PER_PAGE,
    GIVE_TITLE_MAX,
    OVERVIEW_TITLE_MAX,
    PICK_LABEL_MAX,
    VIEW_TITLE_MAX,
)
from storage.models import AskCluster, AskClusterMember, Contribution, Person

LOAN = "Working capital loan for onion aggregation"
LOAN_AGAIN = "Working capital loan for onion aggregation before rabi"
AUDIT = "Statutory audit and ROC compliance filing"
AUDIT_HELP = "Statutory audit and ROC compliance help"
DRONES = "Drone spraying service for pulses"
INSURANCE = "Crop insurance claims for member farmers"
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Cop:
    """A small CoP: PRADAN and Vrutti ask alike (common), Vrutti asks what PRADAN gives
    (unique), and PRADAN asks what nobody gives (gap). Values are ask ids."""

    asha: SandboxUser
    ravi: SandboxUser
    loan: int
    loan_again: int
    audit: int
    drones: int


async def store(
    harness: SandboxHarness,
    user: SandboxUser,
    title: str,
    *,
    kind: str = "ask",
    theme_key: str = "finance",
) -> int:
    """Store an open ask or give of the user's BSO directly in the database; return its id."""
    assert harness.app is not None
    theme = await load_theme(harness, theme_key)
    async with harness.app.sessionmaker.begin() as session:
        person = await session.scalar(select(Person).where(Person.telegram_id == user.id))
        assert person is not None and person.bso_id is not None
        entry = Contribution(
            community_id=person.community_id,
            bso_id=person.bso_id,
            person_id=person.id,
            kind=kind,
            theme_id=theme.id,
            title=title,
            description="",
            urgency="low" if kind == "ask" else None,
        )
        session.add(entry)
        await session.flush()
        return entry.id


async def small_cop(harness: SandboxHarness) -> Cop:
    asha = await approved_poc(harness, "asha")
    ravi = await approved_poc(harness, "ravi", Answers(name="Ravi Kumar", bso="Vrutti"))
    loan = await store(harness, asha, LOAN)
    loan_again = await store(harness, ravi, LOAN_AGAIN)
    audit = await store(harness, ravi, AUDIT, theme_key="governance")
    await store(harness, asha, AUDIT_HELP, kind="give", theme_key="governance")
    drones = await store(harness, asha, DRONES, theme_key="technology")
    return Cop(asha, ravi, loan, loan_again, audit, drones)


async def cluster_of(harness: SandboxHarness, ask_id: int) -> AskCluster:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        cluster = await session.scalar(
            select(AskCluster)
            .join(AskClusterMember, AskClusterMember.cluster_id == AskCluster.id)
            .where(AskClusterMember.ask_id == ask_id)
        )
    assert cluster is not None, f"ask {ask_id} is in no cluster"
    return cluster


def theme(key: str) -> str:
    return label("themes", key)


def open_label(number: int, kind: str, theme_key: str, *, addressed: bool = False) -> str:
    return TEXTS.label(
        "en",
        "consolidate",
        "open",
        number=number,
        kind=label("consolidate", f"kind_{kind}"),
        theme=theme(theme_key),
        addressed=addressed,
    )


def suggestion(kind: str, **values: object) -> str:
    return TEXTS.label("en", "consolidate", f"suggest_{kind}", **values)


COMMON = suggestion("common", count=2)
UNIQUE = suggestion("unique", bso="Vrutti", give_bso="PRADAN", give=AUDIT_HELP)
GAP = suggestion("gap", urgent=False)


async def test_consolidate_shows_three_kinds(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)

    shown = await say(harness, harness.facilitator, "/consolidate")

    common = await cluster_of(harness, cop.loan)
    unique = await cluster_of(harness, cop.audit)
    gap = await cluster_of(harness, cop.drones)
    assert (await cluster_of(harness, cop.loan_again)).id == common.id
    assert len({common.id, unique.id, gap.id}) == 3
    # Open clusters by number, whatever their theme and kind.
    expected = sorted(
        [(common.id, "common", "finance"), (gap.id, "gap", "technology")]
        + [(unique.id, "unique", "governance")]
    )
    assert shown.button_texts() == [
        *(open_label(*cluster) for cluster in expected),
        label("consolidate", "csv"),
    ]
    positions = [shown.text.index(f"#{number} ") for number, _, _ in expected]
    assert positions == sorted(positions)
    text = shown.text
    assert f"{theme('finance')}: 1 common, 0 unique, 0 gaps" in text
    assert f"{theme('technology')}: 0 common, 0 unique, 1 gap" in text
    assert f"{theme('governance')}: 0 common, 1 unique, 0 gaps" in text
    assert f"{theme('market_access')}: 0 common, 0 unique, 0 gaps" in text
    for expected in (COMMON, UNIQUE, GAP):
        assert f"→ {expected}" in text
    assert f"PRADAN: {LOAN}" in text
    assert f"Vrutti: {LOAN_AGAIN}" in text
    assert f"Vrutti: {AUDIT}" in text
    assert f"PRADAN: {DRONES}" in text
    assert AUDIT_HELP in UNIQUE
    assert harness.errors == []


async def test_consolidate_lists_by_number(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    await say(harness, harness.facilitator, "/consolidate")
    # A later ask of the first theme in theme order gets the highest number.
    late = await store(harness, cop.asha, "Cold storage for tomato", theme_key="market_access")

    shown = await say(harness, harness.facilitator, "/consolidate")

    numbers = [
        (await cluster_of(harness, ask)).id for ask in (cop.loan, cop.audit, cop.drones, late)
    ]
    assert numbers[-1] == max(numbers)
    positions = [shown.text.index(f"#{number} ") for number in sorted(numbers)]
    assert positions == sorted(positions)
    assert harness.errors == []


async def connect(harness: SandboxHarness, ask_id: int, give_id: int, status: str = "") -> None:
    """Connect the pair as the facilitator, then set its status from the list."""
    await say(harness, harness.facilitator, f"/connect {ask_id} {give_id}")
    if status:
        await say(harness, harness.facilitator, "/connect list")
        await tap(harness, harness.facilitator, "1")
        await tap(harness, harness.facilitator, label("connections", f"set_{status}"))


async def test_consolidate_shows_connected_ask(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    give = await give_id(harness, AUDIT_HELP)
    await connect(harness, cop.audit, give, "talking")

    shown = await say(harness, harness.facilitator, "/consolidate")

    connected = TEXTS.label(
        "en",
        "consolidate",
        "suggest_connected",
        count=1,
        connected=1,
        give_bso="PRADAN",
        give=AUDIT_HELP,
        status=label("connections", "status_talking"),
    )
    assert f"→ {connected}" in shown.text
    assert UNIQUE not in shown.text
    assert COMMON in shown.text

    # A connection that came to nothing is suggested again.
    await tap(harness, harness.facilitator, label("connections", "set_no_outcome"))
    again = await say(harness, harness.facilitator, "/consolidate")
    assert f"→ {UNIQUE}" in again.text
    assert harness.errors == []


async def test_consolidate_all_asks_connected(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    give = await store(harness, cop.asha, "Working capital loans for onion FPOs", kind="give")
    other = await store(harness, cop.asha, "Bank linkage for onion aggregation", kind="give")
    await connect(harness, cop.loan_again, give)
    await connect(harness, cop.loan_again, other)
    advice = await store(harness, cop.ravi, "Working capital advice for onion FPOs", kind="give")
    await connect(harness, cop.loan, advice)

    shown = await say(harness, harness.facilitator, "/consolidate")

    connected = TEXTS.label(
        "en",
        "consolidate",
        "suggest_connected",
        count=2,
        connected=2,
        give_bso="Vrutti",
        status=label("connections", "status_introduced"),
    )
    assert f"→ {connected}" in shown.text
    assert COMMON not in shown.text
    assert harness.errors == []


async def give_id(harness: SandboxHarness, title: str) -> int:
    assert harness.app is not None
    async with harness.app.sessionmaker() as session:
        found = await session.scalar(select(Contribution.id).where(Contribution.title == title))
    assert found is not None
    return found


async def test_consolidate_cluster_view(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    await say(harness, harness.facilitator, "/consolidate")
    unique = await cluster_of(harness, cop.audit)

    view = await tap(harness, harness.facilitator, open_label(unique.id, "unique", "governance"))

    assert f"#{unique.id} {label('consolidate', 'kind_unique')}" in view.text
    assert f"→ {UNIQUE}" in view.text
    # One ask: nothing to split, and no other governance cluster to merge with.
    assert view.button_texts() == [label("consolidate", "address"), label("consolidate", "back")]
    overview = await tap(harness, harness.facilitator, label("consolidate", "back"))
    assert overview.message_id == view.message_id
    assert label("consolidate", "csv") in overview.button_texts()


async def test_consolidate_merge_and_split_persist(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    insurance = await store(harness, cop.asha, INSURANCE)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/consolidate")
    loan_cluster = (await cluster_of(harness, cop.loan)).id
    insurance_cluster = (await cluster_of(harness, insurance)).id
    assert insurance_cluster != loan_cluster

    await tap(harness, facilitator, open_label(loan_cluster, "common", "finance"))
    picker = await tap(harness, facilitator, label("consolidate", "merge"))
    option = clip(
        TEXTS.label(
            "en",
            "consolidate",
            "merge_option",
            number=insurance_cluster,
            bso="PRADAN",
            title=INSURANCE,
        ),
        PICK_LABEL_MAX,
    )
    assert picker.button_texts() == [option, label("consolidate", "back_to_cluster")]
    merged = await tap(harness, facilitator, option)

    assert f"Cluster #{insurance_cluster} was merged into this one" in merged.text
    assert INSURANCE in merged.text
    await say(harness, facilitator, "/consolidate")
    assert (await cluster_of(harness, insurance)).id == loan_cluster
    assert (await cluster_of(harness, cop.loan)).pinned

    await tap(harness, facilitator, open_label(loan_cluster, "common", "finance"))
    await tap(harness, facilitator, label("consolidate", "split"))
    split = await tap(
        harness,
        facilitator,
        clip(
            TEXTS.label("en", "consolidate", "split_option", bso="PRADAN", title=INSURANCE),
            PICK_LABEL_MAX,
        ),
    )

    alone = await cluster_of(harness, insurance)
    assert alone.id != loan_cluster
    assert f"The ask is now cluster #{alone.id}" in split.text
    assert INSURANCE not in split.text.split("\n\n", 1)[1]
    shown = await say(harness, facilitator, "/consolidate")
    assert (await cluster_of(harness, insurance)).id == alone.id
    assert (await cluster_of(harness, cop.loan_again)).id == loan_cluster
    assert open_label(alone.id, "gap", "finance") in shown.button_texts()
    assert harness.errors == []


async def test_consolidate_address_and_reopen(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/consolidate")
    number = (await cluster_of(harness, cop.loan)).id
    await tap(harness, facilitator, open_label(number, "common", "finance"))

    confirm = await tap(harness, facilitator, label("consolidate", "address"))
    assert "Its 2 open or in-progress asks will be marked addressed" in confirm.text
    done = await tap(harness, facilitator, label("consolidate", "address_yes"))

    assert "Marked addressed: 2 asks are now addressed" in done.text
    assert done.button_texts() == [label("consolidate", "reopen"), label("consolidate", "back")]
    for ask_id in (cop.loan, cop.loan_again):
        assert (await load_entry(harness, ask_id)).status == "addressed"
    cluster = await cluster_of(harness, cop.loan)
    assert cluster.status == "addressed"
    assert cluster.addressed_by == facilitator.id
    assert cluster.addressed_at is not None
    shown = await say(harness, facilitator, "/consolidate")
    assert f"{theme('finance')}: 0 common, 0 unique, 0 gaps" in shown.text
    # Addressed clusters come after the open ones.
    assert shown.button_texts()[2] == open_label(number, "common", "finance", addressed=True)

    await tap(harness, facilitator, open_label(number, "common", "finance", addressed=True))
    reopened = await tap(harness, facilitator, label("consolidate", "reopen"))

    assert "Reopened: 2 asks are open again" in reopened.text
    for ask_id in (cop.loan, cop.loan_again):
        assert (await load_entry(harness, ask_id)).status == "open"
    shown = await say(harness, facilitator, "/consolidate")
    assert f"{theme('finance')}: 1 common, 0 unique, 0 gaps" in shown.text
    assert (await cluster_of(harness, cop.loan)).id == number
    assert harness.errors == []


async def test_consolidate_address_double_tap(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/consolidate")
    number = (await cluster_of(harness, cop.loan)).id
    await tap(harness, facilitator, open_label(number, "common", "finance"))
    confirm = await tap(harness, facilitator, label("consolidate", "address"))
    data = button_data(confirm, label("consolidate", "address_yes"))

    await press(harness, facilitator, confirm, data)
    second = await press(harness, facilitator, confirm, data)

    assert second is not None
    assert second["text"] == alert("consolidate/already_addressed")


async def test_consolidate_csv(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    facilitator = harness.facilitator
    await say(harness, facilitator, "/consolidate")

    sent = await tap(harness, facilitator, label("consolidate", "csv"))

    assert sent.kind == "document"
    assert sent.document_name is not None
    assert sent.document_name.startswith("consolidated-asks-")
    assert harness.app is not None
    bot = harness.app.create_bot()
    try:
        assert sent.file_id is not None
        downloaded = await bot.download(sent.file_id)
    finally:
        await bot.session.close()
    assert downloaded is not None
    content = downloaded.read()
    assert content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    keys = (
        "cluster",
        "kind",
        "theme",
        "bso",
        "title",
        "suggestion",
        "cluster_status",
        "ask_status",
    )
    assert rows[0] == [label("consolidate", f"csv_{key}") for key in keys]
    common = (await cluster_of(harness, cop.loan)).id
    unique = (await cluster_of(harness, cop.audit)).id
    gap = (await cluster_of(harness, cop.drones)).id
    opened, ask_open = label("consolidate", "cluster_open"), label("asks", "status_open")
    pradan = "Professional Assistance for Development Action"
    vrutti = next(row[3] for row in rows[1:] if row[4] == LOAN_AGAIN)
    # Clusters in the overview's order, by number.
    assert rows[1:] == sorted([
        [str(common), label("consolidate", "kind_common"), theme("finance"), pradan, LOAN,
         COMMON, opened, ask_open],
        [str(common), label("consolidate", "kind_common"), theme("finance"), vrutti, LOAN_AGAIN,
         COMMON, opened, ask_open],
        [str(gap), label("consolidate", "kind_gap"), theme("technology"), pradan, DRONES, GAP,
         opened, ask_open],
        [str(unique), label("consolidate", "kind_unique"), theme("governance"), vrutti, AUDIT,
         UNIQUE, opened, ask_open],
    ], key=lambda row: int(row[0]))  # fmt: skip
    assert "Vrutti" in vrutti


async def test_consolidate_csv_neutralises_formulas(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await store(harness, asha, '=HYPERLINK("http://127.0.0.1")')
    facilitator = harness.facilitator
    await say(harness, facilitator, "/consolidate")

    sent = await tap(harness, facilitator, label("consolidate", "csv"))

    assert harness.app is not None
    bot = harness.app.create_bot()
    try:
        assert sent.file_id is not None
        downloaded = await bot.download(sent.file_id)
    finally:
        await bot.session.close()
    assert downloaded is not None
    rows = list(csv.reader(io.StringIO(downloaded.read().decode("utf-8-sig"))))
    assert rows[1][4] == '\'=HYPERLINK("http://127.0.0.1")'


async def test_consolidate_nothing_open(harness: SandboxHarness) -> None:
    shown = await say(harness, harness.facilitator, "/consolidate")

    assert shown.text == alert("consolidate/nothing")
    assert shown.buttons == []


async def test_consolidate_escapes_titles(harness: SandboxHarness) -> None:
    asha = await approved_poc(harness, "asha")
    await store(harness, asha, "<b>Loans</b> & <a href='x'>grants</a>")

    shown = await say(harness, harness.facilitator, "/consolidate")

    assert "PRADAN: <b>Loans</b> & <a href='x'>grants</a>" in shown.text
    assert shown.html is not None
    assert "&lt;b&gt;Loans&lt;/b&gt; &amp; &lt;a href=&#39;x&#39;&gt;" in shown.html


async def test_consolidate_rejects_poc(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    await say(harness, harness.facilitator, "/consolidate")
    number = (await cluster_of(harness, cop.loan)).id

    refused = await say(harness, cop.asha, "/consolidate")

    assert refused.text == alert("common/facilitators_only")
    for action in ("open", "merge", "split", "address_yes", "reopen", "csv", "page"):
        forged = ConsolidateView(action=action, cluster_id=number, other_id=cop.loan).pack()
        answer = await press(harness, cop.asha, refused, forged)
        assert answer is not None
        assert answer["text"] == alert("common/facilitators_only"), action
    assert (await load_entry(harness, cop.loan)).status == "open"
    assert (await cluster_of(harness, cop.loan)).status == "open"


async def test_consolidate_rejects_forged_data(harness: SandboxHarness) -> None:
    await small_cop(harness)
    facilitator = harness.facilitator
    shown = await say(harness, facilitator, "/consolidate")

    unknown = await press(harness, facilitator, shown, "cl1:drop:1:0:0:0")
    too_large = await press(harness, facilitator, shown, f"cl1:open:{2**40}:0:0:0")
    missing = await press(
        harness, facilitator, shown, ConsolidateView(action="open", cluster_id=99999).pack()
    )

    assert unknown is not None
    assert too_large is not None
    assert missing is not None
    assert unknown["text"] == alert("common/button_unknown")
    assert too_large["text"] == alert("common/button_unknown")
    assert missing["text"] == alert("consolidate/gone")
    assert harness.errors == []


async def test_consolidate_old_button_after_merge(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    insurance = await store(harness, cop.asha, INSURANCE)
    facilitator = harness.facilitator
    overview = await say(harness, facilitator, "/consolidate")
    loan_cluster = (await cluster_of(harness, cop.loan)).id
    insurance_cluster = (await cluster_of(harness, insurance)).id
    stale = ConsolidateView(action="open", cluster_id=insurance_cluster).pack()
    merge = ConsolidateView(action="merge_yes", cluster_id=loan_cluster, other_id=insurance_cluster)
    await press(harness, facilitator, overview, merge.pack())

    answer = await press(harness, facilitator, overview, stale)
    again = await press(harness, facilitator, overview, merge.pack())

    assert answer is not None
    assert again is not None
    assert answer["text"] == alert("consolidate/gone")
    assert again["text"] == alert("consolidate/gone")
    assert (await cluster_of(harness, insurance)).id == loan_cluster
    assert harness.errors == []


async def test_consolidate_rejects_cross_theme_merge(harness: SandboxHarness) -> None:
    cop = await small_cop(harness)
    facilitator = harness.facilitator
    overview = await say(harness, facilitator, "/consolidate")
    loan_cluster = (await cluster_of(harness, cop.loan)).id
    gap_cluster = (await cluster_of(harness, cop.drones)).id
    merge = ConsolidateView(action="merge_yes", cluster_id=loan_cluster, other_id=gap_cluster)

    answer = await press(harness, facilitator, overview, merge.pack())

    assert answer is not None
    assert answer["text"] == alert("consolidate/cannot_merge")
    assert (await cluster_of(harness, cop.drones)).id == gap_cluster


async def test_consolidate_in_group_refused(harness: SandboxHarness) -> None:
    group = await cop_group(harness)

    reply = await say(harness, harness.facilitator, "/consolidate", chat=group)

    assert reply.text == alert("consolidate/private_only")


def longest_cluster(locale: str, asks: int, title_max: int) -> dict[str, object]:
    """A cluster as long as the templates can get: Devanagari everywhere, every text clipped."""
    ask = {
        "bso": "क" * BSO_NAME_MAX,
        "title": "ख" * title_max,
        "status": "in progress",
        "private": True,
    }
    advice = TEXTS.label(
        locale,
        "consolidate",
        "suggest_common",
        count=99,
        give_bso="च" * BSO_NAME_MAX,
        give="छ" * GIVE_TITLE_MAX,
    )
    return {
        "number": 2**31 - 1,
        "kind_label": label("consolidate", "kind_unique", locale),
        "theme": "ग" * 40,
        "addressed": True,
        "addressed_on": None,
        "asks": [ask] * asks,
        "more": 999,
        "bsos": "घ" * BSOS_MAX,
        "suggestion": advice,
    }


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_consolidate_overview_fits_one_message(locale: str) -> None:
    counts = [{"theme": "ग" * 40, "common": 999, "unique": 999, "gap": 999}] * 5
    cluster = longest_cluster(locale, ASKS_IN_OVERVIEW, OVERVIEW_TITLE_MAX)

    text = TEXTS.render(
        locale,
        "consolidate/overview",
        counts=counts,
        clusters=[cluster] * CLUSTERS_PER_PAGE,
        open_count=1,
        addressed_count=1,
        page=98,
        pages=99,
    )

    assert utf16_length(text) <= MESSAGE_LIMIT


@pytest.mark.parametrize("locale", ["en", "hi"])
def test_consolidate_cluster_fits_one_message(locale: str) -> None:
    cluster = longest_cluster(locale, ASKS_IN_VIEW, VIEW_TITLE_MAX)

    text = TEXTS.render(
        locale,
        "consolidate/cluster",
        cluster=cluster,
        addressed_by="न" * 60,
        note="split",
        created=2**31 - 1,
    )

    assert utf16_length(text) <= MESSAGE_LIMIT
