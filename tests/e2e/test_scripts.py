"""Every scripted conversation in docs/scripts/ plays through `python -m bot sandbox --script`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((REPO_ROOT / "docs" / "scripts").glob("*.txt"))


def play(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", str(script)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scripts_exist() -> None:
    names = {script.name for script in SCRIPTS}
    assert {"registration.txt", "group_registration.txt", "import.txt", "lookups.txt"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_script_plays_without_failure(script: Path) -> None:
    result = play(script)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_failing_expectation_exits_nonzero(tmp_path: Path) -> None:
    script = tmp_path / "failing.txt"
    script.write_text(
        "@asha private: /help\n@asha private ? this text is never sent\n", encoding="utf-8"
    )

    result = play(script)

    assert result.returncode != 0
    assert "this text is never sent" in result.stdout
