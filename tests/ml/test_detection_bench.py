"""`bench/detection_learning.py` runs unchanged on any npz in the standard layout: a generated
file with two classes, many small objects per image and images without any goes through the
whole protocol (every arm) with tiny settings and leaves the documented summary, plot and line."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from tests.ml.bench_runner import run_bench
from tests.ml.seg_synthetic import write_synthetic_npz

ARMS = (
    "random,det_uncertainty,det_uncertainty_mixed,det_expected_error,det_flip_disagreement,"
    "det_diversity,cold_start,det_budget_aware"
)


def test_the_benchmark_runs_on_an_npz_with_many_small_objects_and_empty_images(
    tmp_path: Path,
) -> None:
    dataset = write_synthetic_npz(
        tmp_path / "many.npz", classes=2, size=64, sizes=(24, 8, 8), max_objects=8,
        radius=(0.04, 0.08),
    )  # fmt: skip
    out = tmp_path / "out"
    completed = run_bench(
        "detection_learning.py", "--dataset", str(dataset), "--size", "64", "--max-epochs", "1",
        "--samples-per-epoch", "16", "--budgets", "8", "--seeds", "1", "--workers", "1",
        "--arms", ARMS, "--out", str(out),
    )  # fmt: skip
    assert "pool 24 (" in completed.stdout and "without objects" in completed.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["class_names"] == ["kind1", "kind2"]
    assert {"full_data_froc", "target_froc", "total_seconds"} <= set(summary)
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
            "final_froc",
        } <= set(entry)
        assert 0.0 <= entry["final_froc"] <= 1.0
    assert (out / "detection_learning.png").stat().st_size > 0
    last = completed.stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"full_data_froc=[0-9.]+ target_froc=[0-9.]+ random_labels_to_target=\S+ best=\w+ "
        r"best_saving=\S+ best_worst_gap=-?[0-9.]+ total_s=\d+",
        last,
    ), last


def test_train_repeats_average_detectors_trained_on_the_same_labels(tmp_path: Path) -> None:
    dataset = write_synthetic_npz(tmp_path / "few.npz", classes=1, size=64, sizes=(16, 8, 8))
    out = tmp_path / "out"
    run_bench(
        "detection_learning.py", "--dataset", str(dataset), "--size", "64", "--max-epochs", "1",
        "--samples-per-epoch", "8", "--budgets", "8", "--seeds", "1", "--workers", "1",
        "--train-repeats", "2", "--arms", "random,det_uncertainty_mixed", "--out", str(out),
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["train_repeats"] == 2
    # Same labels, same training seeds: both arms start from the same mean of two detectors.
    first = {a: e["froc_per_seed"][0][0] for a, e in summary["strategies"].items()}
    assert first["random"] == first["det_uncertainty_mixed"]


def test_one_detector_per_round_keeps_the_reference_cache_keys_of_earlier_runs() -> None:
    from bench.detection_learning import Settings
    from ml_worker.detection.training import DetTrainConfig

    settings = Settings(64, 300, 60, 150, DetTrainConfig(), None)
    assert "train_repeats" not in settings.to_dict()
    assert replace(settings, train_repeats=3).to_dict()["train_repeats"] == 3


def test_quick_trains_every_round_on_the_products_schedule() -> None:
    """Decision 0431: --quick shrinks images, pool and test set, not the training; the
    8-epoch schedule before it stays behind --short-schedule."""
    from bench.detection_learning import default_settings, parse_args
    from ml_worker.detection.training import DetTrainConfig

    product = DetTrainConfig()
    quick = default_settings(parse_args(["--quick"])).train
    short = default_settings(parse_args(["--quick", "--short-schedule"])).train
    assert (quick.max_epochs, quick.min_samples_per_epoch, quick.patience) == (
        product.max_epochs,
        product.min_samples_per_epoch,
        product.patience,
    )
    assert (short.max_epochs, short.min_samples_per_epoch, short.patience) == (8, 96, 3)
    assert quick.num_threads == short.num_threads == 1
