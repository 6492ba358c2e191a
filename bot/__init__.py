"""Telegram assistant for Communities of Practice of Business Support Organisations."""
