"""Buyer requirements: /requirement posts one, offers answer it, the poster accepts and closes."""

from __future__ import annotations

from aiogram import Router

router = Router(name="requirements")
