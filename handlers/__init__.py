"""All routers, wired in one place. Order matters: aiogram tries routers in turn."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import (
        actions,
        approvals,
        asks,
        broadcasts,
        common,
        connections,
        consolidate,
        errors,
        fallback,
        forms,
        groups,
        imports,
        lookups,
        matrix,
        mine,
        offers,
        progress,
        recognition,
        recordings,
        registration,
        requirements,
        resources,
        schedules,
        supply,
        themes,
        webinars,
    )

    routers = [
        errors.router,
        # /cancel, /help and /me come first so they work at any step of a form.
        common.router,
        # Forms next: mid-form, every message and command of that person in that chat is theirs.
        forms.router,
        groups.router,
        approvals.router,
        themes.router,
        asks.router,
        progress.router,
        mine.router,
        matrix.router,
        actions.router,
        imports.router,
        broadcasts.router,
        webinars.router,
        recordings.router,
        resources.router,
        schedules.router,
        recognition.router,
        requirements.router,
        # Offers right after requirements, as when both were one router. No requirements
        # handler matches an offer button or the "rqo" start link, so routing is unchanged.
        offers.router,
        supply.router,
        connections.router,
        consolidate.router,
        lookups.router,
        # Registration last: at its consent step it replies to whatever the routers above left.
        registration.router,
        fallback.router,
    ]
    for router in routers:
        detach(router)
    return routers


def detach(router: Router) -> None:
    """Release a module-level router from the Dispatcher of an earlier application.

    aiogram lets a router have one parent, and the routers are built at import, so a
    process that creates a second application (tests, a bot restarted in place) takes
    them over. NOTE: the earlier Dispatcher stops routing to them, so two applications
    cannot serve updates in one process at the same time.
    """
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
