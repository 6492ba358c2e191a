"""Shared fixtures: a PostgreSQL database URL when the server on this machine is reachable."""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("TEST_POSTGRES_PORT", "5432"))


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> str:
    """URL of the `test` database; the test is skipped when PostgreSQL is not running."""
    if not postgres_reachable():
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}")
    return f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"
