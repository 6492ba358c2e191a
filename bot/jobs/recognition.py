"""The monthly recognition post: a preview for the facilitators, then the post in the CoP groups.

`preview` runs PREVIEW_LEAD before the post. It builds the post from the month's data
(`storage.recognition`), stores it as a draft and sends each facilitator the draft with
the buttons of `handlers.recognition`. When there is nothing to recognise it stores no
draft and sends the facilitators a short note saying so, so they know the job ran.

`post` sends the draft, as built or as a facilitator edited it, to every active CoP-wide
group and marks it posted. It sends nothing for a skipped or already posted month. When
no preview ran (its run was stale, or the schedule changed after its time) it builds
the post itself.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from bot.schedule_plan import LOOKBACK
from bot.scheduler import JobContext
from bot.texts import MESSAGE_LIMIT, LocalTexts, utf16_length
from handlers.broadcasts import local_time
from handlers.progress_views import month_label
from handlers.recognition import review_messages
from storage import outbox as outbox_store
from storage import recognition as store
from storage.models import Community, Person, RecognitionPost
from storage.progress import add_months

log = logging.getLogger(__name__)

# Entries listed per section of the post, tried in turn until the post fits a message.
LIST_LIMITS = (15, 10, 5, 3, 1)


def report_month(context: JobContext) -> dt.date:
    """Return the month of the progress reports that the post reads.

    It is the month the latest check-in up to now asked about, when that is the
    recognised month or the one before. A check-in in the first half of a month asks
    about the month before, so with the default schedule the reports of the recognised
    month are not filed yet when it is posted. Without such a check-in (the schedule is
    off) it is the recognised month, which /checkin files by default.
    """
    month = context.occurrence.month
    assert month is not None, "recognition runs always have a month"
    latest = None
    for checkin in context.plan.occurrences("checkin", context.now - LOOKBACK, context.now):
        latest = checkin
    previous = add_months(month, -1)
    if latest is not None and latest.month is not None and latest.month in (month, previous):
        return latest.month
    return month


def render_post(t: LocalTexts, community: Community, recognition: store.MonthRecognition) -> str:
    """Render the post with as many entries per section as fit one message.

    The community's own heading and closing line, when set, replace the template's.
    The HTML is measured, which is at least as long as the text Telegram counts.
    """
    text = ""
    for limit in LIST_LIMITS:
        text = t(
            "recognition/post",
            community_name=community.name,
            month=month_label(recognition.month, t.locale),
            report_month=month_label(recognition.report_month, t.locale),
            r=recognition,
            limit=limit,
            heading=community.recognition_heading,
            closing=community.recognition_closing,
        )
        if utf16_length(text) <= MESSAGE_LIMIT:
            break
    return text


async def build_draft(context: JobContext) -> RecognitionPost | None:
    """Store the month's post as a draft built from its data; None when there is nothing to recognise."""
    month = context.occurrence.month
    assert month is not None
    community = context.community
    recognition = await store.collect(
        context.session,
        community.id,
        month=month,
        report_month=report_month(context),
        timezone=community.timezone,
    )
    if recognition.empty:
        return None
    # The post is for the groups, so it is in the community's default language.
    text = render_post(context.texts.bind(None), community, recognition)
    post = RecognitionPost(
        community_id=community.id,
        month=month,
        text=text,
        status="draft",
        created_at=context.now,
        updated_at=context.now,
    )
    context.session.add(post)
    await context.session.flush()
    log.info("community %s: recognition draft %s for %s stored", community.id, post.id, month)
    return post


async def facilitator_texts(context: JobContext) -> list[tuple[int, LocalTexts]]:
    """Return each facilitator's Telegram id with the texts in their language."""
    ids = list(context.settings.facilitator_ids)
    if not ids:
        return []
    rows = await context.session.execute(
        select(Person.telegram_id, Person.locale).where(
            Person.community_id == context.community.id, Person.telegram_id.in_(ids)
        )
    )
    locales = {key: value for key, value in rows}
    return [(user_id, context.texts.bind(locales.get(user_id))) for user_id in ids]


async def preview(context: JobContext) -> int:
    """Store the month's draft, unless one exists, and send it to each facilitator to decide on."""
    month = context.occurrence.month
    assert month is not None
    session, community = context.session, context.community
    post = await store.find_post(session, community.id, month)
    if post is None:
        post = await build_draft(context)
    elif post.status not in store.OPEN_STATUSES:
        log.info("community %s: recognition for %s is %s already", community.id, month, post.status)
        return 0

    queued = 0
    groups = len(await store.cop_group_recipients(session, community.id))
    for user_id, t in await facilitator_texts(context):
        recipient = outbox_store.Recipient(user_id)
        if post is None:
            messages: list[tuple[str, dict | None]] = [
                (t("recognition/nothing", month=month_label(month, t.locale)), None)
            ]
        else:
            # The preview's run is useless from the post's time on, which is its stale_at.
            when, zone = local_time(community, context.occurrence.stale_at, t.locale)
            note = t(
                "recognition/preview_note",
                month=month_label(month, t.locale),
                edited=False,
                when=when,
                zone=zone,
                groups=groups,
            )
            messages = review_messages(t, post, note)
        for text, markup in messages:
            queued += outbox_store.add_rows(
                session,
                community_id=community.id,
                recipients=[recipient],
                payload=outbox_store.text_payload(text, reply_markup=markup),
                not_before=context.now,
                priority=outbox_store.NOTICE,
            )
    return queued


async def post(context: JobContext) -> int:
    """Post the month's draft to every active CoP-wide group, unless it was skipped or posted."""
    month = context.occurrence.month
    assert month is not None
    session, community = context.session, context.community
    draft = await store.find_post(session, community.id, month)
    if draft is None:
        if await store.preview_ran(session, community.id, context.occurrence.period):
            log.info("community %s: nothing to recognise for %s", community.id, month)
            return 0
        draft = await build_draft(context)
        if draft is None:
            log.info("community %s: nothing to recognise for %s", community.id, month)
            return 0
    if draft.status not in store.OPEN_STATUSES:
        log.info(
            "community %s: recognition post %s is %s, not posted",
            community.id,
            draft.id,
            draft.status,
        )
        return 0
    recipients = await store.cop_group_recipients(session, community.id)
    if not recipients:
        log.warning(
            "community %s: recognition post %s not posted: no active CoP-wide group",
            community.id,
            draft.id,
        )
        return 0
    return await store.post_to_groups(session, draft, recipients, by=None, now=context.now)
