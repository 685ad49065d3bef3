"""`bench/active_learning.py` runs unchanged on any MedMNIST-format npz: a multi-class RGB file
and a multi-label file (ChestMNIST's shape), generated here, go through the whole quick protocol
with the product's code and leave the documented summary, labelled sets and plot."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {
    "labels_to_target",
    "saving_vs_random",
    "aubc",
    "worst_gap_to_random",
    "final_auc",
    "ece_after_calibration",
    "aubc_gain_per_seed",
    "aubc_gain_p_value",
    "aubc_gain_mean",
    "aubc_gain_ci95",
    "aubc_gain_t_p_value",
    "aubc_ci95",
    "aubc_per_seed",
}


def medmnist_like(
    path: Path, classes: int, channels: int, sizes: tuple[int, int, int], multilabel: bool
) -> Path:
    """Blobs whose position depends on the class, with noise; uint8 images as MedMNIST stores
    them ((N, H, W) or (N, H, W, 3)), labels (N, 1) or a (N, K) multi-label matrix."""
    rng = np.random.default_rng(0)
    side = 28
    yy, xx = np.mgrid[0:side, 0:side]
    arrays = {}
    for split, n in zip(("train", "val", "test"), sizes, strict=True):
        if multilabel:
            labels = (rng.random((n, classes)) < 0.15).astype(np.uint8)
            position = labels.argmax(axis=1) * labels.max(axis=1)
        else:
            labels = rng.integers(0, classes, (n, 1)).astype(np.uint8)
            position = labels[:, 0]
        cx = side * (0.2 + 0.6 * position / (classes - 1)) + rng.normal(0, 1.5, n)
        cy = side / 2 + rng.normal(0, 3, n)
        blob = np.exp(-((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2) / 16.0)
        images = np.clip(60 + 150 * blob + rng.normal(0, 25, blob.shape), 0, 255).astype(np.uint8)
        if channels == 3:
            images = np.repeat(images[..., None], 3, axis=-1)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    np.savez_compressed(path, **arrays)
    return path


def start_bench(
    dataset: Path, out: Path, arms: str, *extra: str, seeds: int = 1
) -> subprocess.Popen[bytes]:
    """The bench as a child process, its stdout and stderr in files beside `out` (pipes could
    fill and stall a child while the test waits on another)."""
    out.mkdir(parents=True, exist_ok=True)
    # The semi arm's schedule shortened to the recipe's own (the tests' budget).
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RADLOOP_BENCH_SEMI_MIN_STEPS": "0"}
    with open(out / "stdout.txt", "wb") as stdout, open(out / "stderr.txt", "wb") as stderr:
        return subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "active_learning.py"), "--dataset", str(dataset),
             "--quick", "--seeds", str(seeds), "--workers", "1", "--arms", arms, "--out", str(out),
             *extra],
            stdout=stdout, stderr=stderr, env=env, cwd=REPO,
        )  # fmt: skip


def finish_bench(process: subprocess.Popen[bytes], out: Path, timeout: int = 300) -> str:
    """Wait for a `start_bench` child; its stdout, or a failure showing the end of its stderr."""
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    assert returncode == 0, (out / "stderr.txt").read_text()[-3000:]
    return (out / "stdout.txt").read_text()


def run_bench(
    dataset: Path, out: Path, arms: str, *extra: str, seeds: int = 1, timeout: int = 300
) -> str:
    return finish_bench(start_bench(dataset, out, arms, *extra, seeds=seeds), out, timeout)


# Enough images for the quick schedule's four budgets (20, 50, 150, the pool), few enough that
# its last round stays cheap.
POOL = 240
SINGLE = "random,entropy,bald,diversity,cold_start,budget_aware"
BINARY = "random,entropy,budget_aware"
SEMI = "random,budget_aware,random+semi"
MULTI = "random,ml_entropy,ml_bald,diversity"


@pytest.mark.slow  # a minute or more each: the whole quick protocol
@pytest.mark.parametrize(
    ("classes", "channels", "multilabel", "task", "arms", "extra"),
    [
        (4, 3, False, "4-class", SINGLE, ()),
        (6, 1, True, "multi-label (6 labels)", MULTI, ()),
        # The binary path once more, with the baseline, one informed arm and the default.
        (6, 1, True, "multi-label -> binary any-finding", BINARY, ("--any-finding",)),
    ],
)
def test_the_benchmark_runs_on_another_medmnist_format_file(
    tmp_path: Path,
    classes: int,
    channels: int,
    multilabel: bool,
    task: str,
    arms: str,
    extra: tuple[str, ...],
) -> None:
    dataset = medmnist_like(tmp_path / "other.npz", classes, channels, (POOL, 60, 80), multilabel)
    stdout = run_bench(dataset, tmp_path / "out", arms, *extra)

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["task"] == task
    assert summary["seeds"] == [0]
    budgets = summary["budgets"]
    assert budgets[0] == 20 and budgets == sorted(budgets) and budgets[-1] <= POOL
    assert len(budgets) >= 4 or budgets[-1] == POOL  # MIN_BUDGETS, unless the pool ran out
    # The schedule stops where random reaches 98 % of full data, or at the whole pool.
    random_means = summary["strategies"]["random"]["auc_mean"]
    assert random_means[-1] >= summary["target_auc"] or budgets[-1] == POOL
    assert set(summary["strategies"]) == set(arms.split(","))
    for entry in summary["strategies"].values():
        assert set(entry) >= SUMMARY_KEYS
        assert len(entry["auc_mean"]) == len(budgets)
        assert 0.0 <= entry["ece_after_calibration"] <= 1.0
        assert len(entry["aubc_gain_per_seed"]) == 1
        p = entry["aubc_gain_p_value"]
        assert p is None or 0.0 < p <= 1.0
    assert summary["strategies"]["random"]["aubc_gain_p_value"] is None  # random vs itself
    assert summary["calibration"]["strengths"] == [1.0, 2.0]
    expected_default = "budget_aware" if "budget_aware" in arms.split(",") else None
    assert summary["default_strategy"] == expected_default
    assert summary["inputs"]["dataset_sha256"] == hashlib.sha256(dataset.read_bytes()).hexdigest()
    assert stdout.startswith("inputs {")
    if task.startswith("multi-label ("):
        # One sigmoid per label: each label's test AUC, for full data and every arm.
        names = [f"label {i}" for i in range(classes)]
        assert list(summary["full_data_label_auc"]) == names
        for entry in summary["strategies"].values():
            assert list(entry["final_label_auc"]) == names
        assert "per-label test AUC" in stdout

    sets = np.load(tmp_path / "out" / "labelled_sets.npz")
    assert sorted(sets.files) == sorted(f"{a}_seed0" for a in arms.split(","))
    for name in sets.files:
        chosen = sets[name]
        assert len(chosen) == budgets[-1] == len(np.unique(chosen))
    assert (tmp_path / "out" / "active_learning.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    last = stdout.strip().splitlines()[-1]
    assert re.fullmatch(
        r"full_data_auc=\S+ target_auc=\S+ random_labels_to_target=\S+ best=\S+ "
        r"best_labels_to_target=\S+ best_saving=\S+ best_worst_gap=\S+ best_ece=\S+ total_s=\d+",
        last,
    ), last


def test_the_quick_schedule_is_four_fixed_budgets_and_the_full_one_is_unchanged() -> None:
    """Decision 0424: --quick stops at 400 labels (its CPU time bounded), capped by a smaller
    pool; the full run still grows by ~1.4x up to the whole pool."""
    from bench.active_learning import schedule

    assert schedule(2000, quick=True) == [20, 50, 150, 400]
    assert schedule(360, quick=True) == [20, 50, 150, 360]
    assert schedule(100, quick=True) == [20, 50, 100]
    full = schedule(4708, quick=False)
    assert full[:5] == [20, 30, 45, 65, 100] and full[-2:] == [3140, 4708]
