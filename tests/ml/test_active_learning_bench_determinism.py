"""`bench/active_learning.py` is deterministic: the same tiny configuration run twice gives the
same figures. Its own file (not test_active_learning_bench.py) so that the parallel suite, which
hands out whole files, can run it beside the other bench tests instead of after them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ml.test_active_learning_bench import SEMI, finish_bench, medmnist_like, start_bench

# Every figure of summary.json except the wall-clock ones.
TIMINGS = {"total_seconds", "seconds_per_round", "workers"}


def figures(value: object) -> object:
    if isinstance(value, dict):
        return {k: figures(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [figures(v) for v in value]
    return value


@pytest.mark.slow
def test_two_runs_give_identical_figures_and_name_the_default_arm(tmp_path: Path) -> None:
    """Seeded everything, single-threaded deterministic torch: the same tiny configuration run
    twice (with a semi-supervised arm) gives the same summary.json figures to the last bit."""
    # A 60-image pool: three budgets (20, 50, 60), enough rounds to compare, ~15 % less time
    # than 100 images at the end of the PostgreSQL pass.
    dataset = medmnist_like(tmp_path / "four.npz", 4, 1, (60, 40, 60), False)
    # The two runs at once: when this test is the suite's last, both cores work on it.
    runs = [start_bench(dataset, tmp_path / name, SEMI, seeds=2) for name in ("a", "b")]
    try:
        first = finish_bench(runs[0], tmp_path / "a", timeout=900)
        finish_bench(runs[1], tmp_path / "b", timeout=900)
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert figures(a) == figures(b)
    assert a["default_strategy"] == "budget_aware"
    assert a["inputs"]["seeds"] == [0, 1] and a["inputs"]["modifiers"]["semi"]["min_steps"] == 0
    semi = a["strategies"]["random+semi"]
    assert len(semi["aubc_gain_per_seed"]) == 2
    assert semi["aubc_gain_mean"] == pytest.approx(sum(semi["aubc_gain_per_seed"]) / 2)
    if semi["aubc_gain_ci95"] is not None:
        low, high = semi["aubc_gain_ci95"]
        assert low <= semi["aubc_gain_mean"] <= high
        assert 0.0 < semi["aubc_gain_t_p_value"] <= 1.0
    assert "semi-supervised" in semi["description"]
    assert "default=budget_aware" in first
