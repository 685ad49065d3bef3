"""`bench/scale.py --quick` runs end to end on PostgreSQL (its own database, created and
dropped): it seeds, measures every kind of request through the real stack, scores the pool in
a child process and ends with the documented line of positive figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"qido_p95_ms=(?P<qido>[0-9.]+) next_p95_ms=(?P<next>[0-9.]+) "
    r"dashboard_p95_ms=(?P<dashboard>[0-9.]+) score_100k_s=(?P<score>[0-9.]+) "
    r"score_peak_rss_mb=(?P<rss>[0-9]+)"
)


@pytest.mark.slow
@pytest.mark.postgres
def test_quick_run_seeds_measures_scores_and_prints_the_line(shared_data: Path) -> None:
    db = connection.settings_dict
    admin_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    dicom = shared_data / "dicom" / "mr_brain_t1_mprage_philips_ingenia"
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "scale.py"), "--quick", "--admin-url", admin_url,
         "--dicom-dir", str(dicom)],
        capture_output=True, text=True, timeout=900, cwd=REPO, check=False,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    assert "--quick: CI size" in out
    assert "seeded 4,000 instances (1,000 series, 400 studies, 250 patients" in out
    assert "errors 0 []" in out  # every next, save and submit of the 50 doctors succeeded
    assert "scoring: 500 items" in out
    last = out.strip().splitlines()[-1]
    match = LAST_LINE.fullmatch(last)
    assert match, last
    assert all(float(value) > 0 for value in match.groupdict().values()), last
