"""/consolidate: open asks grouped into common asks, unique asks and gaps."""

from __future__ import annotations

from aiogram import Router

router = Router(name="consolidate")
