"""/consolidate: open asks grouped into common asks, unique asks and gaps.

Facilitators only, and only in private chat, because clusters show private asks and
gives. The command and every button first regroup the asks (`storage.consolidation`),
so each view shows the asks as they are now. Each view replaces the previous one in the
same message. A button naming a cluster that a merge or the regrouping removed gets an
alert, not an error.

Merging joins clusters of one theme only, because the overview counts common asks,
unique asks and gaps per theme. An ask filed under the wrong theme moves when its BSO
changes the theme in /mine, and joins a cluster of the new theme on the next regroup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.texts import LocalTexts, clip
from handlers.asks import local_date
from handlers.callbacks import ConsolidateView
from handlers.keyboards import button, facilitator_press
from handlers.matrix import display_name, encode_csv, show
from handlers.themes import theme_labels
from storage import consolidation, people
from storage import themes as theme_store
from storage.consolidation import ClusterView, StoredCluster
from storage.models import Bso, Community, Contribution, Theme

log = logging.getLogger(__name__)
router = Router(name="consolidate")

# Clusters per overview page. A cluster there shows at most about 750 characters (three
# asks with titles clipped to 70, BSO names to 24, the BSO list to 150 and a suggestion of
# about 200), so four, the counts of four themes and the legend fit in Telegram's 4096.
CLUSTERS_PER_PAGE = 4
ASKS_IN_OVERVIEW = 3
OVERVIEW_TITLE_MAX = 70
# Asks listed in a cluster's own view, about 160 characters each with titles clipped to
# 100; the CSV lists them all.
ASKS_IN_VIEW = 15
VIEW_TITLE_MAX = 100
# Buttons per page of the merge and split pickers, and the length of their labels.
PICKS_PER_PAGE = 8
PICK_LABEL_MAX = 60
BSO_NAME_MAX = 24
BSOS_MAX = 150
GIVE_TITLE_MAX = 80
ACTIONS = (
    "page",
    "open",
    "merge",
    "merge_yes",
    "split",
    "split_yes",
    "address",
    "address_yes",
    "reopen",
    "csv",
)
# FSM data key of the CSV file last sent, so a double tap does not send it twice.
CSV_SENT_KEY = "consolidate_csv_sent"


@dataclass(frozen=True)
class Snapshot:
    """The community's clusters after regrouping, classified and in overview order."""

    clusters: dict[int, StoredCluster]
    views: list[ClusterView]
    themes: Sequence[Theme]
    gives: Sequence[Contribution]
    # The active connections of the clustered asks, by ask id.
    connections: dict[int, list[consolidation.AskConnection]]


async def load(session: AsyncSession, community: Community) -> Snapshot:
    """Regroup the community's asks and classify the clusters. Reading the themes creates
    the defaults on first use, so the caller commits."""
    result = await consolidation.regroup(session, community.id)
    if result.placed or result.left or result.removed:
        log.info(
            "asks of community %s regrouped: %s placed, %s left a cluster, "
            "%s clusters created, %s removed",
            community.id,
            result.placed,
            result.left,
            result.created,
            result.removed,
        )
    themes = await theme_store.active_themes(session, community.id)
    stored = await consolidation.load_clusters(session, community.id)
    gives = await consolidation.open_entries(session, community.id, "give")
    connections = await consolidation.ask_connections(
        session, community.id, [ask.id for item in stored for ask in item.asks]
    )
    views = consolidation.overview_order(consolidation.classify(stored, gives, connections))
    return Snapshot(
        clusters={item.cluster.id: item for item in stored},
        views=views,
        themes=themes,
        gives=gives,
        connections=connections,
    )


@router.message(Command("consolidate"), StateFilter(None))
async def show_consolidation(
    message: Message,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    t: LocalTexts,
) -> None:
    if not is_facilitator:
        await message.answer(t("common/facilitators_only"))
        return
    if message.chat.type != "private":
        await message.reply(t("consolidate/private_only"))
        return

    snapshot = await load(session, community)
    await session.commit()
    if not snapshot.views:
        await message.answer(t("consolidate/nothing"))
        return
    text, keyboard = render_overview(snapshot, community, t, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ConsolidateView.filter())
async def consolidate_button(
    callback: CallbackQuery,
    callback_data: ConsolidateView,
    state: FSMContext,
    session: AsyncSession,
    community: Community,
    is_facilitator: bool,
    clock: Clock,
    t: LocalTexts,
) -> None:
    message = await facilitator_press(
        callback,
        known=callback_data.action in ACTIONS,
        is_facilitator=is_facilitator,
        t=t,
        private_alert="consolidate/private_only",
        subject="/consolidate",
    )
    if message is None:
        return

    snapshot = await load(session, community)
    await session.commit()
    action = callback_data.action
    if action == "page":
        await callback.answer()
        await show(message, *render_overview(snapshot, community, t, callback_data.page))
        return
    if action == "csv":
        await send_csv(callback, message, state, community, snapshot, clock, t)
        return

    item = snapshot.clusters.get(callback_data.cluster_id)
    if item is None:
        log.info(
            "/consolidate button names cluster %s, gone from community %s",
            callback_data.cluster_id,
            community.id,
        )
        await callback.answer(t.alert("consolidate/gone"), show_alert=True)
        return
    press = Press(callback, callback_data, message, session, community, snapshot, item, t)
    if action == "open":
        await press.view()
    elif action in ("merge", "merge_yes"):
        await press.merge(confirmed=action == "merge_yes")
    elif action in ("split", "split_yes"):
        await press.split(confirmed=action == "split_yes")
    elif action in ("address", "address_yes"):
        await press.address(clock, confirmed=action == "address_yes")
    else:
        await press.reopen()


@dataclass
class Press:
    """A facilitator's press on a button of one cluster, already checked and regrouped."""

    callback: CallbackQuery
    data: ConsolidateView
    message: Message
    session: AsyncSession
    community: Community
    snapshot: Snapshot
    item: StoredCluster
    t: LocalTexts

    async def view(self, note: str | None = None, **values: int) -> None:
        await self.callback.answer()
        # Classified with every cluster, as in the overview, because words weigh by rarity.
        views = consolidation.classify(
            list(self.snapshot.clusters.values()), self.snapshot.gives, self.snapshot.connections
        )
        [classified] = [view for view in views if view.cluster.id == self.item.cluster.id]
        addressed_by = None
        if classified.cluster.addressed_by is not None:
            addressed_by = await facilitator_name(
                self.session, self.community.id, classified.cluster.addressed_by
            )
        candidates = consolidation.merge_candidates(
            self.item, list(self.snapshot.clusters.values())
        )
        text = self.t(
            "consolidate/cluster",
            cluster=describe(classified, self.community, self.t, ASKS_IN_VIEW, VIEW_TITLE_MAX),
            addressed_by=addressed_by,
            note=note,
            **values,
        )
        keyboard = cluster_keyboard(classified, self.t, self.data.page, bool(candidates))
        await show(self.message, text, keyboard)

    async def merge(self, *, confirmed: bool) -> None:
        clusters = list(self.snapshot.clusters.values())
        if not confirmed:
            candidates = consolidation.merge_candidates(self.item, clusters)
            if not candidates:
                await self.callback.answer(
                    self.t.alert("consolidate/cannot_merge"), show_alert=True
                )
                return
            await self.callback.answer()
            await show(self.message, *self.merge_picker(candidates))
            return

        other = self.snapshot.clusters.get(self.data.other_id)
        if other is None:
            await self.callback.answer(self.t.alert("consolidate/gone"), show_alert=True)
            return
        if not consolidation.can_merge(self.item, other):
            log.info(
                "/consolidate merge of cluster %s into %s rejected",
                other.cluster.id,
                self.item.cluster.id,
            )
            await self.callback.answer(self.t.alert("consolidate/cannot_merge"), show_alert=True)
            return
        merged = other.cluster.id
        await consolidation.merge(self.session, self.item, other)
        await self.session.commit()
        del self.snapshot.clusters[merged]
        log.info(
            "cluster %s merged into %s by user %s",
            merged,
            self.item.cluster.id,
            self.callback.from_user.id,
        )
        await self.view("merged", merged=merged)

    def merge_picker(
        self, candidates: Sequence[StoredCluster]
    ) -> tuple[Markup, InlineKeyboardMarkup]:
        t = self.t
        options = [
            (
                t.label(
                    "consolidate",
                    "merge_option",
                    number=candidate.cluster.id,
                    bso=display_name(candidate.asks[0].bso),
                    title=candidate.asks[0].title,
                    more=len(candidate.asks) - 1,
                ),
                candidate.cluster.id,
            )
            for candidate in candidates
        ]
        text = t(
            "consolidate/merge_pick",
            number=self.item.cluster.id,
            theme=theme_labels(t, [self.item.asks[0].theme])[0],
            count=len(candidates),
        )
        return text, self.picker(options, "merge", "merge_yes")

    async def split(self, *, confirmed: bool) -> None:
        if not confirmed:
            if self.item.cluster.status != consolidation.OPEN or len(self.item.asks) < 2:
                await self.callback.answer(
                    self.t.alert("consolidate/cannot_split"), show_alert=True
                )
                return
            options = [
                (
                    self.t.label(
                        "consolidate", "split_option", bso=display_name(ask.bso), title=ask.title
                    ),
                    ask.id,
                )
                for ask in self.item.asks
            ]
            text = self.t("consolidate/split_pick", number=self.item.cluster.id)
            await self.callback.answer()
            await show(self.message, text, self.picker(options, "split", "split_yes"))
            return

        if not consolidation.can_split(self.item, self.data.other_id):
            log.info(
                "/consolidate split of ask %s from cluster %s rejected",
                self.data.other_id,
                self.item.cluster.id,
            )
            await self.callback.answer(self.t.alert("consolidate/cannot_split"), show_alert=True)
            return
        taken = [ask for ask in self.item.asks if ask.id == self.data.other_id]
        created = await consolidation.split(self.session, self.item, self.data.other_id)
        await self.session.commit()
        self.snapshot.clusters[created.id] = StoredCluster(created, taken)
        log.info(
            "ask %s split from cluster %s into cluster %s by user %s",
            self.data.other_id,
            self.item.cluster.id,
            created.id,
            self.callback.from_user.id,
        )
        await self.view("split", created=created.id)

    async def address(self, clock: Clock, *, confirmed: bool) -> None:
        if self.item.cluster.status != consolidation.OPEN:
            await self.callback.answer(
                self.t.alert("consolidate/already_addressed"), show_alert=True
            )
            return
        if not confirmed:
            await self.callback.answer()
            text = self.t(
                "consolidate/address_confirm",
                number=self.item.cluster.id,
                count=sum(ask.status != "addressed" for ask in self.item.asks),
            )
            await show(self.message, text, self.confirm_keyboard())
            return

        changed = consolidation.mark_addressed(
            self.item, by=self.callback.from_user.id, at=clock.now()
        )
        await self.session.commit()
        log.info(
            "cluster %s and %s asks marked addressed by user %s",
            self.item.cluster.id,
            len(changed),
            self.callback.from_user.id,
        )
        await self.view("addressed", changed=len(changed))

    async def reopen(self) -> None:
        if self.item.cluster.status != consolidation.ADDRESSED:
            await self.callback.answer(self.t.alert("consolidate/already_open"), show_alert=True)
            return
        changed = consolidation.reopen(self.item)
        await self.session.commit()
        log.info(
            "cluster %s and %s asks reopened by user %s",
            self.item.cluster.id,
            len(changed),
            self.callback.from_user.id,
        )
        await self.view("reopened", changed=len(changed))

    def picker(
        self, options: Sequence[tuple[str, int]], action: str, chosen: str
    ) -> InlineKeyboardMarkup:
        """Lay out one page of choices, each a button that runs `chosen` on its id."""
        t, data = self.t, self.data
        pages = max(1, -(-len(options) // PICKS_PER_PAGE))
        pick_page = min(data.pick_page, pages - 1)
        shown = options[pick_page * PICKS_PER_PAGE : (pick_page + 1) * PICKS_PER_PAGE]

        def view_data(name: str, **values: int) -> ConsolidateView:
            return ConsolidateView(
                action=name, cluster_id=self.item.cluster.id, page=data.page, **values
            )

        keyboard = [
            [button(clip(text, PICK_LABEL_MAX), view_data(chosen, other_id=value))]
            for text, value in shown
        ]
        navigation = []
        if pick_page > 0:
            navigation.append(
                button(
                    t.label("consolidate", "previous"), view_data(action, pick_page=pick_page - 1)
                )
            )
        if pick_page + 1 < pages:
            navigation.append(
                button(t.label("consolidate", "next"), view_data(action, pick_page=pick_page + 1))
            )
        if navigation:
            keyboard.append(navigation)
        keyboard.append([button(t.label("consolidate", "back_to_cluster"), view_data("open"))])
        return InlineKeyboardMarkup(inline_keyboard=keyboard)

    def confirm_keyboard(self) -> InlineKeyboardMarkup:
        def view_data(name: str) -> ConsolidateView:
            return ConsolidateView(
                action=name, cluster_id=self.item.cluster.id, page=self.data.page
            )

        return InlineKeyboardMarkup(
            inline_keyboard=[
                [button(self.t.label("consolidate", "address_yes"), view_data("address_yes"))],
                [button(self.t.label("consolidate", "address_keep"), view_data("open"))],
            ]
        )


async def facilitator_name(
    session: AsyncSession, community_id: int, telegram_id: int
) -> str | None:
    """Return the name of the facilitator who addressed a cluster, or None when unknown or erased."""
    person = await people.get_person(session, community_id, telegram_id)
    if person is None or person.status == "new":
        return None
    return person.name or person.telegram_name or None


# --- What the templates show ---------------------------------------------------------------


@dataclass(frozen=True)
class ShownAsk:
    bso: str
    title: str
    status: str
    private: bool


@dataclass(frozen=True)
class ShownCluster:
    """A cluster prepared for a template or a CSV row, its texts in the reader's language."""

    number: int
    # common, unique or gap, and its label
    kind: str
    kind_label: str
    theme: str
    addressed: bool
    addressed_on: dt.date | None
    asks: list[ShownAsk]
    # How many asks are not listed.
    more: int
    # The BSOs' names, comma-separated and clipped.
    bsos: str
    suggestion: str


def theme_label(t: LocalTexts, theme: Theme) -> str:
    label = theme_labels(t, [theme])[0]
    return label if theme.active else t.label("consolidate", "replaced", theme=label)


def suggestion(view: ClusterView, t: LocalTexts) -> str:
    """Word the next step for a cluster: a workshop, a peer connection, or an expert or webinar.

    A cluster whose asks all have an active connection, and a unique ask whose matching
    gives are all connected to it, show their latest connection instead of a new step.
    """
    give = view.give
    connected = view.connected_asks
    if view.connections and (connected == len(view.asks) or (view.kind == "unique" and not give)):
        latest = view.connections[0]
        return t.label(
            "consolidate",
            "suggest_connected",
            count=len(view.asks),
            connected=connected,
            give_bso=bso_name(latest.give_bso),
            give=clip(latest.connection.give.title, GIVE_TITLE_MAX)
            if latest.connection.give is not None
            else "",
            status=t.label("connections", f"status_{latest.connection.status}"),
        )
    return t.label(
        "consolidate",
        f"suggest_{view.kind}",
        count=len(view.bsos),
        bso=bso_name(view.bsos[0]),
        give_bso=bso_name(give.bso) if give is not None else "",
        give=clip(give.title, GIVE_TITLE_MAX) if give is not None else "",
        urgent=view.urgent,
        connected=connected,
    )


def bso_name(bso: Bso) -> str:
    return clip(display_name(bso), BSO_NAME_MAX)


def describe(
    view: ClusterView, community: Community, t: LocalTexts, limit: int, title_max: int
) -> ShownCluster:
    """Prepare a cluster for a template: its first `limit` asks, titles clipped to `title_max`."""
    addressed_at = view.cluster.addressed_at
    return ShownCluster(
        number=view.number,
        kind=view.kind,
        kind_label=t.label("consolidate", f"kind_{view.kind}"),
        theme=theme_label(t, view.theme),
        addressed=view.cluster.status == consolidation.ADDRESSED,
        addressed_on=local_date(addressed_at, community.timezone) if addressed_at else None,
        asks=[
            ShownAsk(
                bso=bso_name(ask.bso),
                title=clip(ask.title, title_max),
                status=t.label("asks", f"status_{ask.status}"),
                private=ask.private,
            )
            for ask in view.asks[:limit]
        ],
        more=max(0, len(view.asks) - limit),
        bsos=clip(", ".join(bso_name(bso) for bso in view.bsos), BSOS_MAX),
        suggestion=suggestion(view, t),
    )


@dataclass(frozen=True)
class ThemeCount:
    theme: str
    common: int
    unique: int
    gap: int


def theme_counts(snapshot: Snapshot, t: LocalTexts) -> list[ThemeCount]:
    """Count open clusters by kind for every active theme, and for replaced themes that have some."""
    themes = list(snapshot.themes)
    opened = [view for view in snapshot.views if view.cluster.status == consolidation.OPEN]
    for view in opened:
        if view.theme not in themes:
            themes.append(view.theme)
    counts = []
    for theme in themes:
        kinds = [view.kind for view in opened if view.theme.id == theme.id]
        counts.append(
            ThemeCount(
                theme=theme_label(t, theme),
                common=kinds.count("common"),
                unique=kinds.count("unique"),
                gap=kinds.count("gap"),
            )
        )
    return counts


def render_overview(
    snapshot: Snapshot, community: Community, t: LocalTexts, page: int
) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """Render one page of clusters under the counts per theme, with a button per cluster."""
    views = snapshot.views
    pages = max(1, -(-len(views) // CLUSTERS_PER_PAGE))
    page = min(page, pages - 1)
    page_views = views[page * CLUSTERS_PER_PAGE : (page + 1) * CLUSTERS_PER_PAGE]
    shown = [
        describe(view, community, t, ASKS_IN_OVERVIEW, OVERVIEW_TITLE_MAX) for view in page_views
    ]
    open_count = sum(view.cluster.status == consolidation.OPEN for view in views)
    text = t(
        "consolidate/overview",
        counts=theme_counts(snapshot, t),
        clusters=shown,
        open_count=open_count,
        addressed_count=len(views) - open_count,
        page=page,
        pages=pages,
    )
    if not views:
        return text, None

    keyboard = [
        [
            button(
                t.label(
                    "consolidate",
                    "open",
                    number=cluster.number,
                    kind=cluster.kind_label,
                    theme=cluster.theme,
                    addressed=cluster.addressed,
                ),
                ConsolidateView(action="open", cluster_id=cluster.number, page=page),
            )
        ]
        for cluster in shown
    ]
    navigation = []
    if page > 0:
        navigation.append(
            button(
                t.label("consolidate", "previous"), ConsolidateView(action="page", page=page - 1)
            )
        )
    if page + 1 < pages:
        navigation.append(
            button(t.label("consolidate", "next"), ConsolidateView(action="page", page=page + 1))
        )
    if navigation:
        keyboard.append(navigation)
    keyboard.append(
        [button(t.label("consolidate", "csv"), ConsolidateView(action="csv", page=page))]
    )
    return text, InlineKeyboardMarkup(inline_keyboard=keyboard)


def cluster_keyboard(
    view: ClusterView, t: LocalTexts, page: int, can_merge: bool
) -> InlineKeyboardMarkup:
    def view_data(action: str) -> ConsolidateView:
        return ConsolidateView(action=action, cluster_id=view.number, page=page)

    keyboard = []
    if view.cluster.status == consolidation.OPEN:
        if can_merge:
            keyboard.append([button(t.label("consolidate", "merge"), view_data("merge"))])
        if len(view.asks) >= 2:
            keyboard.append([button(t.label("consolidate", "split"), view_data("split"))])
        keyboard.append([button(t.label("consolidate", "address"), view_data("address"))])
    else:
        keyboard.append([button(t.label("consolidate", "reopen"), view_data("reopen"))])
    keyboard.append([button(t.label("consolidate", "back"), view_data("page"))])
    return InlineKeyboardMarkup(inline_keyboard=keyboard)


# --- CSV export ----------------------------------------------------------------------------------


async def send_csv(
    callback: CallbackQuery,
    message: Message,
    state: FSMContext,
    community: Community,
    snapshot: Snapshot,
    clock: Clock,
    t: LocalTexts,
) -> None:
    """Send every clustered ask as one CSV file.

    A second press on the same message sends nothing while the file would be identical.
    """
    content = clusters_csv(snapshot, community, t)
    digest = hashlib.sha256(content).hexdigest()
    sent = (await state.get_data()).get(CSV_SENT_KEY) or {}
    if sent.get("message_id") == message.message_id and sent.get("digest") == digest:
        await callback.answer(t.alert("consolidate/csv_unchanged"), show_alert=True)
        return
    await callback.answer()

    today = clock.now().astimezone(zoneinfo.ZoneInfo(community.timezone)).date()
    await message.answer_document(
        BufferedInputFile(
            content, filename=f"consolidated-asks-{community.slug}-{today.isoformat()}.csv"
        ),
        caption=t("consolidate/csv", community=community, today=today),
    )
    await state.update_data({CSV_SENT_KEY: {"message_id": message.message_id, "digest": digest}})
    log.info("consolidation CSV of community %s sent to chat %s", community.id, message.chat.id)


def clusters_csv(snapshot: Snapshot, community: Community, t: LocalTexts) -> bytes:
    """Write one row per ask: its cluster's number, kind, theme, suggestion and status, and the ask."""
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
    rows: list[list[str | int]] = [[t.label("consolidate", f"csv_{key}") for key in keys]]
    for view in snapshot.views:
        kind = t.label("consolidate", f"kind_{view.kind}")
        theme = theme_label(t, view.theme)
        advice = suggestion(view, t)
        status = t.label("consolidate", f"cluster_{view.cluster.status}")
        for ask in view.asks:
            ask_status = t.label("asks", f"status_{ask.status}")
            rows.append(
                [view.number, kind, theme, ask.bso.name, ask.title, advice, status, ask_status]
            )
    return encode_csv(rows)
