"""SQLAlchemy models. Every row that belongs to a community carries its community_id."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        dt.datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[int]: JSON,
    }


class TimestampMixin:
    # Defaults are callables evaluated per insert, never once at import.
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class Community(TimestampMixin, Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Kolkata")
    # Incremented by every change to the buyer or scheme registry, so a process can tell
    # that its in-memory search index is stale.
    registry_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The Indian state whose public holidays, with the national ones, move scheduled runs;
    # None counts the national holidays only.
    state: Mapped[str | None] = mapped_column(String(64))
    # The facilitators' own heading and closing line of the monthly recognition post, as
    # typed (plain text). The heading may contain "{month}". None uses the wording of
    # prompts/<locale>/recognition/post.html.
    recognition_heading: Mapped[str | None] = mapped_column(Text)
    recognition_closing: Mapped[str | None] = mapped_column(Text)


class Bso(TimestampMixin, Base):
    """A Business Support Organisation of one community."""

    __tablename__ = "bsos"
    __table_args__ = (UniqueConstraint("community_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # Case- and space-folded name, so "Vrutti " and "vrutti" are one BSO.
    name_key: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(64))


class Person(TimestampMixin, Base):
    """Someone who has talked to the bot in one community; a PoC once registered."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("community_id", "telegram_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    # Telegram's display name, refreshed on every update; `name` is what they typed.
    telegram_name: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str | None] = mapped_column(String(200))
    # new (never registered), pending, approved, rejected
    status: Mapped[str] = mapped_column(String(16), default="new")
    bso_id: Mapped[int | None] = mapped_column(ForeignKey("bsos.id", ondelete="SET NULL"))
    # A BSO the person typed because it was not listed. It joins the list only when a
    # facilitator approves the person, so unchecked names never reach other people's menus.
    proposed_bso_name: Mapped[str | None] = mapped_column(String(200))
    bso_role: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    states: Mapped[list[str]] = mapped_column(default=list)
    commodities: Mapped[list[str]] = mapped_column(default=list)
    locale: Mapped[str | None] = mapped_column(String(8))
    consent_at: Mapped[dt.datetime | None]
    # Whether the person has a private chat open with the bot (it cannot start one itself).
    private_chat_open: Mapped[bool] = mapped_column(default=False)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None]
    # Group the person registered from, when they came through a group deep link.
    registered_via_chat_id: Mapped[int | None] = mapped_column(BigInteger)

    bso: Mapped[Bso | None] = relationship(lazy="joined")


class GroupChat(TimestampMixin, Base):
    """A Telegram group or supergroup the bot was added to."""

    __tablename__ = "group_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    telegram_chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    chat_type: Mapped[str] = mapped_column(String(16))
    is_forum: Mapped[bool] = mapped_column(default=False)
    # cop (CoP-wide), bso (one BSO's team), task_force, pod (regional); None until set
    kind: Mapped[str | None] = mapped_column(String(16))
    bso_id: Mapped[int | None] = mapped_column(ForeignKey("bsos.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True)


class Theme(TimestampMixin, Base):
    """A focus theme of a community; asks and gives are filed under one."""

    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("community_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # A default theme has a key (market_access, finance, technology, governance) and is
    # shown by its label in the reader's language. A theme the facilitator typed has none.
    key: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    # Themes replaced later stay as rows, inactive, so what was filed under them keeps its theme.
    active: Mapped[bool] = mapped_column(default=True)


class Buyer(TimestampMixin, Base):
    __tablename__ = "buyers"
    __table_args__ = (UniqueConstraint("community_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255))
    buyer_type: Mapped[str | None] = mapped_column(String(64))
    # Canonical English commodity names from the synonym list.
    commodities: Mapped[list[str]] = mapped_column(default=list)
    city: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(64))
    regions_sourced: Mapped[list[str]] = mapped_column(default=list)
    volume: Mapped[str | None] = mapped_column(String(255))
    quality: Mapped[str | None] = mapped_column(Text)
    payment_terms: Mapped[str | None] = mapped_column(String(255))
    contact_person: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(255))
    verified_by: Mapped[str | None] = mapped_column(String(255))
    verified_on: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)


class Scheme(TimestampMixin, Base):
    __tablename__ = "schemes"
    __table_args__ = (UniqueConstraint("community_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str | None] = mapped_column(String(64))
    # central or state
    level: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(255))
    theme: Mapped[str | None] = mapped_column(String(64))
    benefit: Mapped[str | None] = mapped_column(Text)
    eligibility: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(512))
    last_verified: Mapped[dt.date | None] = mapped_column(Date)


class SearchTerm(Base):
    """One normalised word of a registry entry, for lookups that behave alike on every database.

    Words are case-folded and split in Python, so SQLite and PostgreSQL see identical
    terms and need only an equality index.
    """

    __tablename__ = "search_terms"
    __table_args__ = (
        # Covering index: a lookup reads entity ids and weights without touching the table.
        Index(
            "ix_search_terms_lookup",
            "community_id",
            "kind",
            "term",
            "field",
            "entity_id",
            "weight",
        ),
        Index("ix_search_terms_entity", "kind", "entity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(Integer)
    # buyer or scheme
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    term: Mapped[str] = mapped_column(String(128))
    # Which field the term came from (name, commodity, state, type, text), for ranking.
    field: Mapped[str] = mapped_column(String(16))
    weight: Mapped[int] = mapped_column(Integer, default=1)


class SavedQuery(Base):
    """A lookup's words, so page and detail buttons carry a short id within 64 bytes."""

    __tablename__ = "saved_queries"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # buyers or schemes (/buyers, /schemes), or requirements (the filter of /requirements)
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FsmRecord(Base):
    """aiogram FSM state and data, keyed per bot, chat, thread and user."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Contribution(TimestampMixin, Base):
    """An ask (help a BSO needs) or a give (help a BSO offers), filed under a theme."""

    __tablename__ = "contributions"
    __table_args__ = (Index("ix_contributions_matrix", "community_id", "status", "bso_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    # The PoC who filed it. Deleting their data keeps the row but sets their status to new.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # ask or give
    kind: Mapped[str] = mapped_column(String(8))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Canonical English commodity names and state names, empty when not relevant.
    commodities: Mapped[list[str]] = mapped_column(default=list)
    states: Mapped[list[str]] = mapped_column(default=list)
    # For an ask: low, medium or high. None for a give.
    urgency: Mapped[str | None] = mapped_column(String(8))
    # For an ask, the kinds of help that fit (peer, workshop, webinar, expert); for a give,
    # what the BSO offers (tool, visit, training, buyers, expertise).
    help_kinds: Mapped[list[str]] = mapped_column(default=list)
    # Private entries are shown to facilitators only and never announced in the CoP group.
    private: Mapped[bool] = mapped_column(default=False)
    # open, in_progress, addressed, withdrawn
    status: Mapped[str] = mapped_column(String(16), default="open")
    # The progress report whose "support needed" answer became this ask, if any.
    progress_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("progress_reports.id", ondelete="SET NULL")
    )

    bso: Mapped[Bso] = relationship(lazy="joined")
    theme: Mapped[Theme] = relationship(lazy="joined")


class ProgressReport(TimestampMixin, Base):
    """One BSO's monthly progress update; any PoC of the BSO may amend it until the month closes."""

    __tablename__ = "progress_reports"
    __table_args__ = (UniqueConstraint("community_id", "bso_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    # First day of the reported month.
    month: Mapped[dt.date] = mapped_column(Date)
    actions_taken: Mapped[str | None] = mapped_column(Text)
    challenges: Mapped[str | None] = mapped_column(Text)
    support_needed: Mapped[str | None] = mapped_column(Text)
    fpos_supported: Mapped[int | None]
    buyer_linkages: Mapped[int | None]
    # Tonnes and lakh rupees (1 lakh = 100,000 rupees).
    volume_tonnes: Mapped[float | None]
    value_lakh: Mapped[float | None]
    women_reached: Mapped[int | None]
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    bso: Mapped[Bso] = relationship(lazy="joined")


class ProgressChange(Base):
    """One field of a progress report as a PoC set it: the first filing and every amendment."""

    __tablename__ = "progress_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("progress_reports.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # The person's name at the time, kept when their row is deleted.
    person_name: Mapped[str] = mapped_column(String(200), default="")
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ClosedMonth(Base):
    """A month whose progress reports can no longer be amended."""

    __tablename__ = "closed_months"
    __table_args__ = (UniqueConstraint("community_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    month: Mapped[dt.date] = mapped_column(Date)
    closed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Telegram id of the facilitator who closed it; None when a scheduled job did.
    closed_by: Mapped[int | None] = mapped_column(BigInteger)


class FollowUpAction(TimestampMixin, Base):
    """A follow-up action agreed at a workshop, owned by one BSO."""

    __tablename__ = "follow_up_actions"
    __table_args__ = (Index("ix_follow_up_actions_bso", "community_id", "bso_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    # open, in_progress, done, stuck, dropped
    status: Mapped[str] = mapped_column(String(16), default="open")
    stuck_reason: Mapped[str | None] = mapped_column(Text)
    # Telegram id of the facilitator who recorded it.
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    done_at: Mapped[dt.datetime | None]
    # Who changed the status last, and when.
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    bso: Mapped[Bso] = relationship(lazy="joined")
    theme: Mapped[Theme | None] = relationship(lazy="joined")


class ForumTopic(Base):
    """A topic of a forum supergroup, learnt from its service messages, for broadcasts."""

    __tablename__ = "forum_topics"
    __table_args__ = (UniqueConstraint("group_chat_id", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    group_chat_id: Mapped[int] = mapped_column(ForeignKey("group_chats.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    closed: Mapped[bool] = mapped_column(default=False)


class Broadcast(TimestampMixin, Base):
    """One message sent to many chats through the outbox, with its audience and status."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # broadcast, webinar, webinar_reminder, recording, announcement
    kind: Mapped[str] = mapped_column(String(24), default="broadcast")
    # Telegram id of the facilitator who sent it; None for the bot's own sends.
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    # Private chat that gets the delivery report; None sends no report.
    report_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    report_locale: Mapped[str | None] = mapped_column(String(8))
    # A short label for lists: the start of the text or caption.
    title: Mapped[str] = mapped_column(String(200), default="")
    # The audience as chosen (see storage.audience.AudienceSpec), kept for the record.
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When the rows become due; the creation time for "send now".
    send_at: Mapped[dt.datetime]
    # scheduled, sending, done, cancelled, stopped
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    recipients: Mapped[int] = mapped_column(default=0)
    # PoCs of the audience the bot could not write to when the broadcast was made.
    unreachable: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # Telegram id of the facilitator who cancelled or stopped it.
    stopped_by: Mapped[int | None] = mapped_column(BigInteger)


class OutboxMessage(Base):
    """One message to one chat, written before it is sent so that no send is lost or repeated.

    status: pending (due at not_before), sending (claimed by a sender; the request may be
    on its way), sent, failed (final, with a reason in `error`), cancelled (its broadcast
    was cancelled or stopped), unconfirmed (claimed, then the sender died or the network
    broke after the request left, so whether Telegram delivered it is unknown).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
        # One copy of a broadcast per chat and topic, however the audience overlapped.
        UniqueConstraint("broadcast_id", "chat_id", "thread_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE")
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # Forum topic; 0 for the chat itself (0 rather than NULL so the unique key holds).
    thread_id: Mapped[int] = mapped_column(Integer, default=0)
    is_group: Mapped[bool] = mapped_column(default=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # What to send: {"method": "copy", "from_chat_id", "message_id", "caption"?} or
    # {"method": "text", "text"}; either may carry "reply_markup" as Bot API JSON.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set for messages that must exist once per purpose (a reminder per person, a report
    # per broadcast); a second insert with the same key is ignored.
    dedup_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    # Higher goes first: single notices and reports overtake a long broadcast.
    priority: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[dt.datetime]
    # Claims so far, and how many of them Telegram answered with 429 (those do not use
    # up the tries a row has for 5xx replies and refused connections).
    attempts: Mapped[int] = mapped_column(default=0)
    floods: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    # Telegram's id of the sent message.
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Reason of the final failure: blocked, removed, chat_not_found, bad_request, network,
    # server, flood, unconfirmed, inactive.
    error: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Webinar(TimestampMixin, Base):
    """A webinar announced to an audience, with RSVPs, reminders and a recording."""

    __tablename__ = "webinars"
    __table_args__ = (Index("ix_webinars_start", "community_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime]
    link: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )
    # When each reminder was queued; set in the transaction that queues it, so it runs once.
    reminded_day_at: Mapped[dt.datetime | None]
    reminded_hour_at: Mapped[dt.datetime | None]
    recording_broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="SET NULL")
    )


class WebinarRsvp(Base):
    """One person's answer to a webinar invitation; a second press changes it."""

    __tablename__ = "webinar_rsvps"
    __table_args__ = (UniqueConstraint("webinar_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinars.id", ondelete="CASCADE"))
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # yes or no
    answer: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Resource(TimestampMixin, Base):
    """A link or file in the community's resource list, such as a webinar recording."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # link or file
    kind: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(String(2048))
    # The other links of a link resource, in the order of the message that brought them.
    extra_urls: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    # A file is kept as the message that carried it, and copied to whoever asks.
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(255))
    webinar_id: Mapped[int | None] = mapped_column(ForeignKey("webinars.id", ondelete="SET NULL"))
    added_by: Mapped[int | None] = mapped_column(BigInteger)


class JobRun(Base):
    """One run of a scheduled job for one community and period.

    The unique key makes a run happen once per period, however many processes try.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "community_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # The period the run covers, such as "2026-12", "2026-W49" or "webinar:12:day".
    period: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime]
    # When the schedule made the run due; None for runs that no schedule times.
    due_at: Mapped[dt.datetime | None]
    # For a check-in: when its round closes, as the check-in announced it; None when the
    # close was off. A later change of the close's rule leaves this round's close here.
    closes_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # running, done, skipped or failed
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    detail: Mapped[str | None] = mapped_column(String(255))
    # The process that claimed the run, as it named itself.
    holder: Mapped[str] = mapped_column(String(64))


class Lease(Base):
    """A named lease that lets one process at a time run jobs and the outbox sender."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    # Another process may take the lease once this moment has passed without a renewal.
    expires_at: Mapped[dt.datetime]
    renewed_at: Mapped[dt.datetime]


class Schedule(TimestampMixin, Base):
    """When one scheduled job of a community runs; `storage.schedules` lists the jobs.

    `rule` is the canonical text of the run time: a rule of `bot.schedule_rules` ("first
    monday 10:00", "off"), a number of days after the check-in for reminders and the
    close, or a time of day for action reminders. Pausing keeps the rule.
    """

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("community_id", "job"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    paused: Mapped[bool] = mapped_column(default=False)
    # Telegram id of the facilitator who changed it last; None for the default.
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


class RecognitionPost(TimestampMixin, Base):
    """The monthly recognition post of a community: its draft, the facilitator's decision, the post."""

    __tablename__ = "recognition_posts"
    __table_args__ = (UniqueConstraint("community_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # First day of the month the post recognises.
    month: Mapped[dt.date] = mapped_column(Date)
    # The HTML text to post, as built from the month's data or as the facilitator edited it.
    text: Mapped[str] = mapped_column(Text)
    # draft, edited, approved, skipped, posted
    status: Mapped[str] = mapped_column(String(16), default="draft")
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[dt.datetime | None]
    posted_at: Mapped[dt.datetime | None]


class SupplyProfile(TimestampMixin, Base):
    """One commodity that one BSO's FPOs produce: where, in which months and how much."""

    __tablename__ = "supply_profiles"
    __table_args__ = (Index("ix_supply_profiles_commodity", "community_id", "commodity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    # Canonical English commodity name from the synonym list.
    commodity: Mapped[str] = mapped_column(String(64))
    variety: Mapped[str | None] = mapped_column(String(200))
    states: Mapped[list[str]] = mapped_column(default=list)
    districts: Mapped[list[str]] = mapped_column(default=list)
    # Month numbers 1-12 in which the FPOs harvest, in calendar order.
    harvest_months: Mapped[list[int]] = mapped_column(default=list)
    # Typical volume per season, in tonnes. None when the PoC gave no volume.
    volume_tonnes: Mapped[float | None]
    # The PoC who changed it last.
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    bso: Mapped[Bso] = relationship(lazy="joined")


class Requirement(TimestampMixin, Base):
    """A buyer's requirement posted by a task-force member, open to offers from BSOs."""

    __tablename__ = "requirements"
    __table_args__ = (Index("ix_requirements_status", "community_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # The person who posted it; only they (and facilitators) accept offers and close it.
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # Canonical English commodity name, and the words the poster typed for it.
    commodity: Mapped[str] = mapped_column(String(64))
    commodity_text: Mapped[str] = mapped_column(String(200), default="")
    variety: Mapped[str | None] = mapped_column(String(200))
    # The quantity as typed with its unit, and the same in tonnes for matching.
    quantity: Mapped[float]
    unit: Mapped[str] = mapped_column(String(16))
    quantity_tonnes: Mapped[float]
    # one_off, weekly or seasonal; a weekly quantity is per week.
    frequency: Mapped[str] = mapped_column(String(16))
    quality: Mapped[str | None] = mapped_column(Text)
    delivery_place: Mapped[str] = mapped_column(String(200))
    # The state of the delivery place, when it names one, for ranking suppliers by nearness.
    delivery_state: Mapped[str | None] = mapped_column(String(64))
    # First and last day of the delivery window.
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    price: Mapped[str | None] = mapped_column(String(200))
    # A buyer of the registry, or the name of a new one (then proposed for the registry).
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id", ondelete="SET NULL"))
    buyer_name: Mapped[str] = mapped_column(String(255))
    contact: Mapped[str] = mapped_column(String(255))
    # open, offers (offers received), matched, closed, expired
    status: Mapped[str] = mapped_column(String(16), default="open")
    # On closing: supplied, partly or not_supplied, and the tonnes supplied.
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_tonnes: Mapped[float | None]
    closed_at: Mapped[dt.datetime | None]

    buyer: Mapped[Buyer | None] = relationship(lazy="joined")


class RequirementCard(Base):
    """A requirement's card posted in one task-force group, edited when its status changes."""

    __tablename__ = "requirement_cards"
    __table_args__ = (UniqueConstraint("requirement_id", "chat_id", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    requirement_id: Mapped[int] = mapped_column(ForeignKey("requirements.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # Forum topic; 0 for the chat itself (0 rather than NULL so the unique key holds).
    thread_id: Mapped[int] = mapped_column(Integer, default=0)
    message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BuyerProposal(TimestampMixin, Base):
    """A buyer named in a requirement but not in the registry, for a facilitator to add."""

    __tablename__ = "buyer_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    requirement_id: Mapped[int | None] = mapped_column(
        ForeignKey("requirements.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255))
    commodities: Mapped[list[str]] = mapped_column(default=list)
    city: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(64))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # pending, added (to the registry as buyer_id), dismissed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("buyers.id", ondelete="SET NULL"))


class RequirementCandidate(Base):
    """A BSO the matcher found for a requirement, and when its PoCs were notified."""

    __tablename__ = "requirement_candidates"
    __table_args__ = (UniqueConstraint("requirement_id", "bso_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("requirements.id", ondelete="CASCADE"), index=True
    )
    bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    rank: Mapped[int]
    score: Mapped[float]
    # Reason codes of bot.matching.SupplierMatch, such as "same_state" or "whole_window".
    reasons: Mapped[list[str]] = mapped_column(default=list)
    # The months and tonnes this BSO would supply when it is part of a combination.
    months: Mapped[list[int]] = mapped_column(default=list)
    tonnes: Mapped[float | None]
    in_combination: Mapped[bool] = mapped_column(default=False)
    notified_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    bso: Mapped[Bso] = relationship(lazy="joined")


class Offer(TimestampMixin, Base):
    """A BSO's offer to supply (part of) a requirement."""

    __tablename__ = "offers"
    __table_args__ = (UniqueConstraint("requirement_id", "bso_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("requirements.id", ondelete="CASCADE"), index=True
    )
    bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    # The PoC who made or last changed the offer.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    quantity_tonnes: Mapped[float]
    # Which FPOs would supply, and from where, as the PoC typed it.
    fpos_place: Mapped[str] = mapped_column(Text)
    months: Mapped[list[int]] = mapped_column(default=list)
    price: Mapped[str | None] = mapped_column(String(200))
    # pending, accepted, declined, withdrawn
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # 1 when made, one more on each change. Accept and Decline buttons carry it, so a
    # button on the message of an older version is refused.
    revision: Mapped[int] = mapped_column(default=1)
    accepted_at: Mapped[dt.datetime | None]
    # Telegram id of who accepted it: the poster or a facilitator.
    accepted_by: Mapped[int | None] = mapped_column(BigInteger)

    bso: Mapped[Bso] = relationship(lazy="joined")


class Connection(TimestampMixin, Base):
    """Two BSOs introduced to each other over an ask and a give."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("ask_id", "give_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    ask_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="SET NULL"))
    give_id: Mapped[int | None] = mapped_column(ForeignKey("contributions.id", ondelete="SET NULL"))
    ask_bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    give_bso_id: Mapped[int] = mapped_column(ForeignKey("bsos.id", ondelete="CASCADE"))
    # The matcher's score (0-1) and reason codes when it came from a suggestion.
    score: Mapped[float | None]
    reasons: Mapped[list[str]] = mapped_column(default=list)
    # introduced, talking, done, no_outcome
    status: Mapped[str] = mapped_column(String(16), default="introduced")
    # Telegram id of the facilitator who introduced them.
    introduced_by: Mapped[int | None] = mapped_column(BigInteger)
    introduced_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[dt.datetime | None]

    ask: Mapped[Contribution | None] = relationship(foreign_keys=[ask_id], lazy="joined")
    give: Mapped[Contribution | None] = relationship(foreign_keys=[give_id], lazy="joined")


class AskCluster(TimestampMixin, Base):
    """A group of similar open asks that the facilitator consolidates into one answer."""

    __tablename__ = "ask_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="SET NULL"))
    # open or addressed
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Set once a facilitator merged or split it, so regrouping never undoes their choice.
    pinned: Mapped[bool] = mapped_column(default=False)
    addressed_by: Mapped[int | None] = mapped_column(BigInteger)
    addressed_at: Mapped[dt.datetime | None]


class AskClusterMember(Base):
    """One ask in one cluster; an ask belongs to one cluster at a time."""

    __tablename__ = "ask_cluster_members"
    __table_args__ = (UniqueConstraint("ask_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("ask_clusters.id", ondelete="CASCADE"), index=True
    )
    ask_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
