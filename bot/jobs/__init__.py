"""The scheduled jobs: what each one sends when its schedule comes due (see bot.scheduler)."""

from __future__ import annotations

from bot.scheduler import Job


def scheduled_jobs() -> dict[str, Job]:
    from bot.jobs import actions, checkins, digest, recognition

    return {
        "checkin": checkins.checkin,
        "reminder_1": checkins.reminder,
        "reminder_2": checkins.reminder,
        "close": checkins.close,
        "recognition_preview": recognition.preview,
        "recognition": recognition.post,
        "digest": digest.digest,
        "action_due": actions.action_reminders,
    }
