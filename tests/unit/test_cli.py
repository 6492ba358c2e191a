import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # Empty values override a developer's .env file, which the command would read otherwise.
    environment = dict(os.environ, BOT_TOKEN="", FACILITATOR_IDS="", REDIS_URL="")
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_run_without_token_explains_botfather() -> None:
    result = run_cli("run")
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr
    assert "@BotFather" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_invalid_variable_stops_startup() -> None:
    result = run_cli("run", env={"TIMEZONE": "Nowhere/Atlantis"})
    assert result.returncode == 2
    assert "Invalid TIMEZONE" in result.stderr


def test_migrate_creates_schema(tmp_path: Path) -> None:
    database = tmp_path / "cop.sqlite"
    result = run_cli("migrate", env={"DATABASE_URL": f"sqlite:///{database}"})
    assert result.returncode == 0, result.stderr
    assert database.is_file()


def test_import_messy_buyers_prints_report(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cop.sqlite'}"}
    first = run_cli("import", "buyers", "bot/sandbox/demo/buyers_messy.csv", env=env)
    second = run_cli("import", "buyers", "bot/sandbox/demo/buyers_messy.csv", env=env)
    assert first.returncode == 0, first.stderr
    assert "3 buyers added, 0 updated, 0 unchanged." in first.stdout
    assert "Row 7" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "0 buyers added, 0 updated, 3 unchanged." in second.stdout


def test_import_missing_file_is_reported(tmp_path: Path) -> None:
    result = run_cli(
        "import",
        "schemes",
        "no-such-file.csv",
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'cop.sqlite'}"},
    )
    assert result.returncode == 2
    assert "File not found: no-such-file.csv" in result.stderr
