"""Supply profiles: /supply records what a BSO's FPOs produce, where, when and how much."""

from __future__ import annotations

from aiogram import Router

router = Router(name="supply")
