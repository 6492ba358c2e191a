"""Logging set-up: one line per event, noisy libraries quieted, secrets masked."""

from __future__ import annotations

import logging
import re

# Bot tokens appear in request URLs; phone numbers and e-mail addresses in user data.
SECRET_PATTERNS = (
    (re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}"), "<token>"),
    # Only numbers written as phones (a + prefix or a 5-5 split), so that Telegram user and
    # chat ids, which are bare digits, stay readable in log lines.
    (re.compile(r"\(\+?\d{2}\)[\s-]*\d[\d\s-]{8,}\d"), "<phone>"),
    (re.compile(r"\+\d[\d\s-]{8,}\d"), "<phone>"),
    (re.compile(r"\b0\d{5}[\s-]?\d{5}\b"), "<phone>"),
    (re.compile(r"\b\d{5}[\s-]\d{5}\b"), "<phone>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
)


def mask_secrets(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretMaskingFilter(logging.Filter):
    """Rewrite each record's final message so no token, phone or e-mail reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class SecretMaskingFormatter(logging.Formatter):
    """Mask the whole formatted record, tracebacks included: an exception's text can quote
    user input, and a database error its SQL parameters."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(SecretMaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretMaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiogram.event", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
