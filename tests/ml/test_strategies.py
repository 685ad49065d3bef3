"""Each selection strategy ranks hand-made pools the way its definition says."""

from __future__ import annotations

import numpy as np
import pytest

from ml_worker.strategies import PoolData, get_strategy, ranking, select, strategy_names

RNG_SEED = 7


def rank_of(name: str, pool: PoolData, **options: object) -> list[int]:
    strategy = get_strategy(name, **options)
    return ranking(strategy.score(pool, np.random.default_rng(RNG_SEED))).tolist()


def test_all_strategies_are_registered_by_name() -> None:
    assert strategy_names() == [
        "bald",
        "budget_aware",
        "cold_start",
        "det_budget_aware",
        "det_diversity",
        "det_expected_error",
        "det_flip_disagreement",
        "det_uncertainty",
        "det_uncertainty_mixed",
        "diversity",
        "entropy",
        "least_confidence",
        "margin",
        "ml_bald",
        "ml_entropy",
        "random",
        "seg_budget_aware",
        "seg_disagreement",
        "seg_diversity",
        "seg_entropy",
        "seg_expected_dice",
        "typiclust",
    ]
    with pytest.raises(ValueError, match="unknown strategy"):
        get_strategy("magic")


def test_every_registered_strategy_has_a_line_for_the_settings_page() -> None:
    from learning.strategy_names import STRATEGY_DESCRIPTIONS, STRATEGY_NAMES

    # The settings page lists each with its description; a name without one was a 500 there.
    assert set(STRATEGY_NAMES) == set(strategy_names())
    assert sorted(set(STRATEGY_NAMES) - set(STRATEGY_DESCRIPTIONS)) == []


def test_random_is_a_seeded_permutation_independent_of_predictions() -> None:
    pool = PoolData(probabilities=np.full((50, 2), 0.5))
    first, again = rank_of("random", pool), rank_of("random", pool)
    assert first == again
    assert sorted(first) == list(range(50))
    assert first != list(range(50))


def test_uncertainty_strategies_serve_the_most_uncertain_binary_item_first() -> None:
    p1 = np.array([0.99, 0.5, 0.7, 0.1, 0.45])
    pool = PoolData(probabilities=np.stack([1 - p1, p1], axis=1))
    expected = [1, 4, 2, 3, 0]  # by |p - 0.5|
    for name in ("least_confidence", "margin", "entropy"):
        assert rank_of(name, pool) == expected, name


def test_three_class_pools_separate_least_confidence_margin_and_entropy() -> None:
    probabilities = np.array(
        [
            [0.50, 0.49, 0.01],  # tiny margin, moderate top probability
            [0.40, 0.30, 0.30],  # lowest top probability, spread over three classes
            [0.90, 0.05, 0.05],  # confident
        ]
    )
    pool = PoolData(probabilities=probabilities)
    assert rank_of("least_confidence", pool) == [1, 0, 2]
    assert rank_of("margin", pool) == [0, 1, 2]
    assert rank_of("entropy", pool) == [1, 0, 2]


def test_bald_prefers_disagreeing_dropout_samples_over_agreeing_uncertain_ones() -> None:
    # item 0: every sample says 50/50 (aleatoric); item 1: samples flip between confident answers
    # (epistemic); item 2: every sample confident and agreeing.
    samples = np.array(
        [
            [[0.5, 0.5], [0.99, 0.01], [0.98, 0.02]],
            [[0.5, 0.5], [0.01, 0.99], [0.97, 0.03]],
            [[0.5, 0.5], [0.99, 0.01], [0.99, 0.01]],
            [[0.5, 0.5], [0.01, 0.99], [0.98, 0.02]],
        ]
    )
    pool = PoolData(probabilities=samples.mean(axis=0), mc_probabilities=samples)
    assert rank_of("bald", pool) == [1, 2, 0]
    assert rank_of("entropy", pool)[0] == 0  # entropy alone cannot tell the two apart


def test_bald_refuses_to_run_without_mc_samples() -> None:
    with pytest.raises(ValueError, match="MC-dropout"):
        rank_of("bald", PoolData(probabilities=np.full((3, 2), 0.5)))


def near_duplicate_pool() -> PoolData:
    """Five groups of near-identical images; the most uncertain items all sit in group 0."""
    rng = np.random.default_rng(0)
    centers = np.eye(5) * 10
    embeddings = np.repeat(centers, 8, axis=0) + rng.normal(0, 0.01, (40, 5))
    p1 = np.repeat([0.5, 0.6, 0.65, 0.7, 0.75], 8) + rng.uniform(0, 0.01, 40)
    return PoolData(probabilities=np.stack([1 - p1, p1], axis=1), embeddings=embeddings)


def group_of(index: int) -> int:
    return index // 8


def test_top_k_entropy_hands_out_near_duplicates() -> None:
    batch = select(get_strategy("entropy"), near_duplicate_pool(), 5)
    assert {group_of(i) for i in batch} == {0}


@pytest.mark.parametrize("method", ["kmeans", "coreset"])
def test_diversity_batches_contain_no_near_duplicates(method: str) -> None:
    strategy = get_strategy("diversity", batch_size=5, candidates_factor=8, method=method)
    batch = select(strategy, near_duplicate_pool(), 5)
    assert sorted(group_of(i) for i in batch) == [0, 1, 2, 3, 4]


def test_diversity_keeps_the_most_uncertain_item_of_each_group_first() -> None:
    pool = near_duplicate_pool()
    assert pool.probabilities is not None
    batch = select(get_strategy("diversity", batch_size=5, candidates_factor=8), pool, 5)
    p1 = pool.probabilities[:, 1]
    for i in batch:
        members = [j for j in range(40) if group_of(j) == group_of(i)]
        assert i == min(members, key=lambda j: abs(p1[j] - 0.5))


def test_cold_start_picks_one_typical_item_per_cluster_without_any_model() -> None:
    rng = np.random.default_rng(1)
    blobs = [rng.normal(c, 1.0, (30, 2)) for c in ((0, 0), (20, 0), (0, 20))]
    outliers = np.array([[10.0, 10.0], [-15.0, -15.0]])
    embeddings = np.concatenate([*blobs, outliers])
    batch = select(get_strategy("cold_start", batch_size=3), PoolData(embeddings=embeddings), 3)
    assert sorted(int(i) // 30 for i in batch) == [0, 1, 2]  # one per blob, never an outlier
    for i in batch:
        blob_center = embeddings[(i // 30) * 30 : (i // 30) * 30 + 30].mean(axis=0)
        assert np.linalg.norm(embeddings[i] - blob_center) < 1.0  # typical: near the centre


def test_cold_start_without_embeddings_falls_back_to_random() -> None:
    pool = PoolData(probabilities=np.full((20, 2), 0.5))
    assert rank_of("cold_start", pool) == rank_of("random", pool)


def test_pca_embeddings_let_cold_start_cover_both_kinds_of_image() -> None:
    from ml_worker.embeddings import pca_embeddings

    from .conftest import bright_square_images

    images, labels = bright_square_images(60, seed=4)
    embeddings = pca_embeddings(images, dim=8)
    assert embeddings.shape == (60, 8) and embeddings.dtype == np.float32
    batch = select(get_strategy("cold_start", batch_size=4), PoolData(embeddings=embeddings), 4)
    assert len(set(batch.tolist())) == 4 and set(labels[batch].tolist()) == {0, 1}
