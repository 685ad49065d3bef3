"""`bench/semi_segmentation.py` (decision 0427) runs on any npz in the standard segmentation
layout: a generated file with two classes goes through both arms with tiny settings, pairs the
seeds and prints the documented rows and last line."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ml.bench_runner import run_bench
from tests.ml.seg_synthetic import write_synthetic_npz


def test_the_semi_supervised_segmentation_bench_runs_on_another_npz(tmp_path: Path) -> None:
    dataset = write_synthetic_npz(tmp_path / "other.npz", classes=2, size=32, sizes=(30, 8, 8))
    completed = run_bench(
        "semi_segmentation.py", "--dataset", str(dataset), "--size", "32", "--labels", "4,8",
        "--seeds", "0,1", "--val-size", "8", "--max-unlabeled", "12", "--max-epochs", "1",
        "--workers", "1", "--min-steps", "0", timeout=170,
    )  # fmt: skip
    rows = re.findall(
        r"^\s+(\d+)\s+(\d)\s+([\d.]+)\s+([\d.]+)\s+([+-][\d.]+)\s+([\d.]+)", completed.stdout, re.M
    )
    assert [(int(r[0]), int(r[1])) for r in rows] == [(4, 0), (4, 1), (8, 0), (8, 1)]
    for _, _, supervised, semi, gain, accepted in rows:
        assert abs(float(semi) - float(supervised) - float(gain)) < 2e-4
        assert 0.0 <= float(accepted) <= 1.0
    last = completed.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"labels=4,8 supervised_dice=[\d.]+ semi_dice=[\d.]+ mean_gain=[+-][\d.]+ "
        r"gain_ci95=[+-][\d.]+\.\.[+-][\d.]+ p=([\d.]+|nan) seeds=2 total_s=\d+",
        last,
    ), last
