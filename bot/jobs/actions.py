"""Daily reminders of follow-up actions, sent in private to the owning BSO's PoCs.

An action that still needs work and is due the day after the run's local date gets a
reminder. One past its due date gets a single overdue note. Both go to each approved
PoC of the BSO who has a private chat open, in their language, with the status buttons
of /actions. The outbox's dedup keys name the action, its due date and the PoC, so a
PoC hears of each due date once, and an action whose due date was moved is reminded
again for the new date.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bot.scheduler import JobContext
from bot.texts import LocalTexts
from handlers.callbacks import ActionStatus
from handlers.themes import theme_labels
from storage import actions as action_store
from storage import outbox
from storage.models import FollowUpAction, Person

log = logging.getLogger(__name__)

# The status buttons of /actions that a reminder carries; the action's own status is left out.
BUTTON_OPS = ("done", "in_progress", "stuck", "drop")


async def action_reminders(context: JobContext) -> int:
    """Queue due reminders and overdue notes for the run's day; return how many were queued."""
    today = dt.date.fromisoformat(context.occurrence.period)
    tomorrow = today + dt.timedelta(days=1)
    queued = 0
    for action in await action_store.open_actions_due(
        context.session, context.community.id, on=tomorrow
    ):
        queued += await remind(context, action, kind="due")
    for action in await action_store.open_actions_due(
        context.session, context.community.id, before=today
    ):
        queued += await remind(context, action, kind="overdue", today=today)
    return queued


async def remind(
    context: JobContext,
    action: FollowUpAction,
    *,
    kind: str,
    today: dt.date | None = None,
) -> int:
    """Queue one `kind` message ("due" or "overdue") per PoC who has not had it; return how many."""
    assert action.due_on is not None
    pocs = await action_store.pocs_to_notify(context.session, action.community_id, action.bso_id)
    queued = 0
    for poc in pocs:
        t = context.texts.bind(poc.locale)
        text = t(
            f"actions/reminder_{kind}",
            action=action,
            bso=action.bso,
            theme=theme_labels(t, [action.theme])[0] if action.theme else None,
            days_late=(today - action.due_on).days if today is not None else 0,
        )
        added = await outbox.add_unique(
            context.session,
            community_id=action.community_id,
            recipient=outbox.Recipient(chat_id=poc.telegram_id, person_id=poc.id),
            payload=outbox.text_payload(text, reply_markup=status_markup(t, action)),
            not_before=context.now,
            dedup_key=dedup_key(action, kind, poc),
            priority=outbox.BULK,
        )
        if added:
            queued += 1
            log.info("action %s: %s reminder queued for person %s", action.id, kind, poc.id)
    return queued


def dedup_key(action: FollowUpAction, kind: str, poc: Person) -> str:
    return f"action:{action.id}:{kind}:{action.due_on}:person:{poc.id}"


def status_markup(t: LocalTexts, action: FollowUpAction) -> dict[str, Any]:
    """Return Bot API JSON of the /actions status buttons for one action.

    The buttons carry the BSO's list as their scope, so after a press the handler
    replaces the reminder with the BSO's fresh /actions list.
    """
    buttons = [
        {
            "text": t.label("actions", op),
            "callback_data": ActionStatus(op=op, action_id=action.id, scope=action.bso_id).pack(),
        }
        for op in BUTTON_OPS
        if op != action.status
    ]
    return {"inline_keyboard": [buttons[index : index + 2] for index in range(0, len(buttons), 2)]}
