"""Ask-give suggestions for facilitators, and /connect, which introduces two PoCs."""

from __future__ import annotations

from aiogram import Router

router = Router(name="connections")
