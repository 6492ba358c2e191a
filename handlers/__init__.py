"""All routers, wired in one place. Order matters: aiogram tries routers in turn."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import common, errors, groups, imports, lookups, registration

    return [
        errors.router,
        # /cancel, /help and /me come first so they work at any step of a form.
        common.router,
        groups.router,
        imports.router,
        lookups.router,
        # Registration last: its catch-all handlers answer anything else sent mid-form.
        registration.router,
    ]
