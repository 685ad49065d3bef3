"""`bench/segmentation_learning.py` runs unchanged on any npz in the standard segmentation layout:
a generated file with three classes, several objects per image and empty images goes through the
whole protocol (every arm) with tiny settings and leaves the documented summary, plot and line."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.ml.bench_runner import run_bench
from tests.ml.seg_synthetic import write_synthetic_npz

ARMS = (
    "random,seg_entropy,seg_disagreement,seg_expected_dice,"
    "seg_diversity,cold_start,seg_budget_aware"
)


def test_the_benchmark_runs_on_another_segmentation_npz(tmp_path: Path) -> None:
    dataset = write_synthetic_npz(tmp_path / "other.npz", classes=3, size=32, sizes=(24, 8, 8))
    out = tmp_path / "out"
    completed = run_bench(
        "segmentation_learning.py", "--dataset", str(dataset), "--size", "32", "--max-epochs",
        "1", "--samples-per-epoch", "16", "--budgets", "8", "--seeds", "1", "--workers", "1",
        "--arms", ARMS, "--out", str(out), timeout=170,
    )  # fmt: skip
    assert "pool 24 (" in completed.stdout and "'kind3'" in completed.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["class_names"] == ["kind1", "kind2", "kind3"]
    assert {"full_data_dice", "target_dice", "total_seconds"} <= set(summary)
    assert summary["budgets"][0] == 8 and summary["budgets"][-1] <= 24
    assert set(summary["strategies"]) == set(ARMS.split(","))
    for entry in summary["strategies"].values():
        assert {
            "labels_to_target",
            "saving_vs_random",
            "labels_to_target_interpolated",
            "saving_interpolated_vs_random",
            "aubc",
            "worst_gap_to_random",
            "final_dice",
            "correction_effort_median",
        } <= set(entry)
        assert len(entry["correction_effort_median"]) == len(summary["budgets"])
        assert 0.0 <= entry["final_dice"] <= 1.0
    assert (out / "segmentation_learning.png").stat().st_size > 0
    # The full-data reference was trained here and kept next to --out for the next run.
    assert summary["full_data_from_cache"] == [False]
    cached = json.loads((tmp_path / "segmentation_learning_reference_cache.json").read_text())
    assert [entry["value"] for entry in cached.values()] == summary["full_data_dice_per_seed"]
    last = completed.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"full_data_dice=[0-9.]+ target_dice=[0-9.]+ random_labels_to_target=\S+ best=\w+ "
        r"best_saving=\S+ best_worst_gap=-?[0-9.]+ total_s=\d+",
        last,
    ), last
