"""Tests of `python -m bot import`: exit status, stderr and the printed report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.registries.test_importer import PNG_BYTES

ROOT = Path(__file__).resolve().parents[2]


def run_import(registry: str, path: Path, database: Path) -> subprocess.CompletedProcess[str]:
    # Empty values override a developer's .env file, which the command would read otherwise.
    environment = dict(
        os.environ,
        BOT_TOKEN="",
        FACILITATOR_IDS="",
        REDIS_URL="",
        DATABASE_URL=f"sqlite:///{database}",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "import", registry, str(path)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_png_rejected_on_stderr(tmp_path):
    image = tmp_path / "notcsv.png"
    image.write_bytes(PNG_BYTES)
    result = run_import("buyers", image, tmp_path / "cop.sqlite")

    assert result.returncode == 1
    assert result.stdout == ""
    # Log lines go to stderr too, so the message is looked for among its lines.
    assert (
        "notcsv.png: The file is not a CSV or XLSX file: it is a PNG image. Save the registry "
        "as .csv or .xlsx and send it again."
    ) in result.stderr.splitlines()
    assert "Columns found" not in result.stderr


def test_wrong_registry_rejected(tmp_path):
    messy = ROOT / "bot" / "sandbox" / "demo" / "buyers_messy.csv"
    result = run_import("schemes", messy, tmp_path / "cop.sqlite")

    assert result.returncode == 1
    assert "buyers_messy.csv: This looks like a buyer registry" in result.stderr
    assert result.stderr.count("buyers_messy.csv") == 1


def test_missing_file_exit_status(tmp_path):
    result = run_import("buyers", tmp_path / "absent.csv", tmp_path / "cop.sqlite")
    assert result.returncode == 2
    assert "File not found" in result.stderr
    assert result.stdout == ""


def test_one_buyer_report_singular(tmp_path):
    registry = tmp_path / "one.csv"
    registry.write_text("Buyer Name,Commodity\nSona Traders,Onion\nNo Crop Traders,\n")
    result = run_import("buyers", registry, tmp_path / "cop.sqlite")

    assert result.returncode == 0, result.stderr
    assert "1 buyer added, 0 updated, 0 unchanged." in result.stdout
    assert "1 row not imported:" in result.stdout
