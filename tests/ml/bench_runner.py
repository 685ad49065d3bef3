"""Runs a bench/ script as a user would (its own process, one torch thread) for the bench tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_bench(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`python bench/<script> <args>` from the repository root; fails the test with the tail of
    its stderr when it exits non-zero."""
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed
