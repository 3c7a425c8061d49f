"""The code's own checks, run with the tests so CI enforces them: ruff, and mypy
(strict) on the engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def check(*command: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_finds_nothing() -> None:
    check(str(BIN / "ruff"), "check", ".")
    check(str(BIN / "ruff"), "format", "--check", ".")


def test_the_engine_type_checks_strictly() -> None:
    check(sys.executable, "-m", "mypy")  # files and strictness: pyproject.toml
