"""Segmentation strategies on hand-made probability maps rank images as expected."""

from __future__ import annotations

import numpy as np
import pytest

from ml_worker.strategies import PoolData, get_strategy, ranking, strategy_names
from ml_worker.strategies.segmentation import interleave
from ml_worker.task_types import task_type

SIZE = 32


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def maps(foreground: list[np.ndarray]) -> np.ndarray:
    """(N, 2, H, W) probabilities from per-image foreground probability maps."""
    fg = np.stack(foreground).astype(np.float32)
    return np.stack([1 - fg, fg], axis=1)


def blob(p_inside: float, radius: int = 5, background: float = 0.01) -> np.ndarray:
    m = np.full((SIZE, SIZE), background, dtype=np.float32)
    m[16 - radius : 16 + radius, 16 - radius : 16 + radius] = p_inside
    return m


def test_every_segmentation_strategy_is_registered_and_listed_for_the_task() -> None:
    for name in task_type("segmentation").strategies:
        assert name in strategy_names()
    assert set(task_type("classification").strategies) <= set(strategy_names())


def test_entropy_ranks_an_unsure_lesion_before_a_sure_one_and_an_empty_image_last() -> None:
    sure = blob(0.98)
    unsure = blob(0.55)
    empty = np.full((SIZE, SIZE), 0.01, dtype=np.float32)
    pool = PoolData(pixel_probabilities=maps([sure, empty, unsure]))
    scores = get_strategy("seg_entropy").score(pool, np.random.default_rng(0))
    assert list(ranking(scores)) == [2, 0, 1]


def test_a_lesion_the_model_half_sees_but_does_not_draw_comes_first() -> None:
    # Image 0: a faint blob (0.2, below the 0.3 drawing threshold): the model misses a lesion it
    # half sees, the doctor must outline all of it. Image 1: a confident lesion with a slightly
    # unsure rim. Image 2: confidently empty. The faint blob's half-maximum region is unsure.
    faint = blob(0.2)
    sure = blob(0.97, background=0.02)
    empty = np.full((SIZE, SIZE), 0.01, dtype=np.float32)
    probabilities = maps([faint, sure, empty])
    for name in ("seg_entropy", "seg_disagreement"):
        pool = PoolData(
            pixel_probabilities=probabilities,
            pixel_samples=np.stack(
                [probabilities, maps([blob(0.05), blob(0.9, background=0.02), empty * 2])]
            ),
        )
        assert list(ranking(get_strategy(name).score(pool, rng(0)))) == [0, 1, 2], name


def test_a_large_easy_background_does_not_dominate() -> None:
    # Image 0: a confident lesion on a large, slightly unsure background (lots of total entropy).
    # Image 1: an unsure lesion on a crisp background: the one a doctor's outline teaches most.
    sure_lesion = blob(0.99, background=0.03)
    unsure_lesion = blob(0.6, background=0.001)
    probabilities = maps([sure_lesion, unsure_lesion])
    p = np.clip(probabilities.astype(np.float64), 1e-6, 1)
    whole_image = -(p * np.log(p)).sum(axis=1).mean(axis=(1, 2))
    assert whole_image[0] > whole_image[1]  # the naive image mean would pick image 0
    scores = get_strategy("seg_entropy").score(
        PoolData(pixel_probabilities=probabilities), np.random.default_rng(0)
    )
    assert scores[1] > scores[0]


def test_boundary_band_counts_an_uncertain_rim() -> None:
    crisp = blob(0.99)
    rim = blob(0.99)
    rim[10:22, 10:22] = np.maximum(rim[10:22, 10:22], 0.45)  # a 1-px unsure ring around the lesion
    rim[11:21, 11:21] = 0.99
    scores = get_strategy("seg_entropy", boundary=2).score(
        PoolData(pixel_probabilities=maps([crisp, rim])), np.random.default_rng(0)
    )
    assert scores[1] > scores[0]


def test_disagreement_ranks_where_the_samples_draw_different_outlines() -> None:
    agree = blob(0.9)
    left, right = blob(0.01), blob(0.01)
    left[11:21, 8:18] = 0.9
    right[11:21, 14:24] = 0.9  # the flipped pass puts the lesion 6 px further right
    # Both samples of image 0 are the same confident map; image 1's samples disagree.
    samples = np.stack([maps([agree, left]), maps([agree, right])])
    scores = get_strategy("seg_disagreement").score(
        PoolData(pixel_samples=samples.astype(np.float16)), np.random.default_rng(0)
    )
    assert scores[1] > scores[0] and scores[0] == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match=">= 2 pixel samples"):
        get_strategy("seg_disagreement").score(
            PoolData(pixel_samples=samples[:1]), np.random.default_rng(0)
        )


def test_diversity_spreads_a_batch_over_clusters() -> None:
    # Six unsure images in two tight embedding clusters (three near-duplicates each): the first
    # two served must come from different clusters even though cluster A is a bit more unsure.
    probs = maps([blob(0.5)] * 3 + [blob(0.6)] * 3 + [blob(0.99)] * 4)
    emb = np.concatenate(
        [np.zeros((3, 4)), np.ones((3, 4)) * 10, np.full((4, 4), 5.0)]
    ) + np.random.default_rng(0).normal(0, 0.01, (10, 4))
    pool = PoolData(pixel_probabilities=probs, embeddings=emb)
    order = ranking(
        get_strategy("seg_diversity", batch_size=2, candidates_factor=3).score(
            pool, np.random.default_rng(0)
        )
    )
    assert {int(order[0]) // 3, int(order[1]) // 3} == {0, 1}
    entropy_order = ranking(get_strategy("seg_entropy").score(pool, np.random.default_rng(0)))
    assert set(entropy_order[:2].tolist()) <= {0, 1, 2}  # plain top-k takes two duplicates


def test_budget_aware_is_random_until_each_class_has_enough_labelled_images() -> None:
    probs = maps([blob(p) for p in np.linspace(0.5, 0.99, 12)])
    strategy = get_strategy("seg_budget_aware", min_per_class=5, batch_size=3, base="seg_entropy")
    early = PoolData(pixel_probabilities=probs, labeled_counts=np.array([2]))
    later = PoolData(
        pixel_probabilities=probs,
        labeled_counts=np.array([5]),
        embeddings=np.random.default_rng(1).normal(size=(12, 3)),
    )
    assert strategy.phase(early) == "early" and strategy.phase(later) == "uncertainty"
    assert strategy.phase(PoolData(embeddings=np.zeros((12, 2)))) == "early"
    random_scores = get_strategy("random").score(early, np.random.default_rng(7))
    assert np.array_equal(strategy.score(early, np.random.default_rng(7)), random_scores)
    top = ranking(strategy.score(later, np.random.default_rng(0)))[:3]
    assert 0 in top.tolist()  # the most unsure image is served in the first batch


def test_strategies_refuse_a_pool_without_what_they_need() -> None:
    for name in ("seg_entropy", "seg_expected_dice"):
        with pytest.raises(ValueError, match="pixel probabilities"):
            get_strategy(name).score(PoolData(embeddings=np.zeros((3, 2))), rng(0))


def test_budget_aware_mixes_random_picks_into_each_batch_after_the_switch() -> None:
    probs = maps([blob(p) for p in np.linspace(0.5, 0.99, 40)])
    later = PoolData(
        pixel_probabilities=probs,
        labeled_counts=np.array([30]),
        embeddings=np.random.default_rng(1).normal(size=(40, 3)),
    )
    informed = ranking(get_strategy("seg_diversity", batch_size=4).score(later, rng(0)))
    random_order = ranking(get_strategy("random").score(later, rng(0)))
    mixed = get_strategy("seg_budget_aware", batch_size=4, explore=0.5, base="seg_entropy")
    order = ranking(mixed.score(later, rng(0))).tolist()
    assert sorted(order) == list(range(40))  # every image once
    # Alternating: the most informative image first, then random's first pick (unless taken).
    assert order[0] == 0 and order[1] == next(k for k in random_order if k != order[0])
    first_batch = set(order[:4])
    assert first_batch & set(random_order[:3].tolist())
    assert first_batch != set(informed[:4].tolist())
    pure = get_strategy("seg_budget_aware", batch_size=4, explore=0.0, base="seg_entropy")
    assert np.array_equal(ranking(pure.score(later, rng(0)))[:4], informed[:4])


def test_budget_aware_ranks_its_informed_half_by_expected_dice_by_default() -> None:
    """Decision 0429: after the switch the default's informed picks are seg_expected_dice's,
    spread over clusters, not seg_entropy's."""
    probs = maps([blob(p) for p in np.linspace(0.3, 0.99, 40)])
    later = PoolData(
        pixel_probabilities=probs,
        labeled_counts=np.array([30]),
        embeddings=np.random.default_rng(1).normal(size=(40, 3)),
    )
    by_dice = get_strategy("seg_diversity", base="seg_expected_dice", batch_size=4)
    by_entropy = get_strategy("seg_diversity", batch_size=4)
    default = get_strategy("seg_budget_aware", batch_size=4, explore=0.0)
    picks = ranking(default.score(later, rng(0)))[:4]
    assert np.array_equal(picks, ranking(by_dice.score(later, rng(0)))[:4])
    assert not np.array_equal(picks, ranking(by_entropy.score(later, rng(0)))[:4])


def test_interleave_takes_the_share_from_the_second_ranking() -> None:
    informed = np.array([0, 1, 2, 3, 4, 5])
    explore = np.array([5, 0, 4, 1, 3, 2])
    assert interleave(informed, explore, 0.5).tolist() == [0, 5, 1, 4, 2, 3]
    assert interleave(informed, explore, 0.0).tolist() == informed.tolist()
    assert interleave(informed, explore, 1.0).tolist() == explore.tolist()
    assert interleave(informed, explore, 1 / 3).tolist() == [0, 1, 5, 2, 3, 4]


def test_expected_dice_puts_a_missed_lesion_and_a_ragged_mask_before_a_clean_one() -> None:
    """Decision 0429: 1 - the Dice the model expects of its own mask. A lesion it half sees but
    does not draw and a mask whose inside is barely over the line both expect a poor mask; a
    confident lesion and a confidently empty image expect a good one."""
    faint = blob(0.3)  # nothing drawn; 0.3 chance there is a lesion
    ragged = blob(0.55)  # drawn, but every drawn pixel is a coin toss
    sure = blob(0.98)
    empty = np.full((SIZE, SIZE), 0.001, dtype=np.float32)
    pool = PoolData(pixel_probabilities=maps([sure, faint, empty, ragged]))
    scores = get_strategy("seg_expected_dice").score(pool, rng(0))
    assert list(ranking(scores)) == [3, 1, 0, 2]
    # The figures the docstring states: E = q * soft Dice where drawn, 1 - q where not.
    from ml_worker.strategies.segmentation import expected_dice

    e = expected_dice(maps([faint, empty]))
    assert e == pytest.approx([0.7, 0.999], abs=1e-6)


def test_expected_dice_averages_over_classes_and_is_chunk_independent() -> None:
    # Two foreground classes; class 2 confidently absent everywhere: the class-1 ranking holds.
    def three(fg1: np.ndarray) -> np.ndarray:
        fg2 = np.full_like(fg1, 0.001)
        return np.stack([1 - fg1 - fg2, fg1, fg2])

    images = [blob(0.98, background=0.005), blob(0.2, background=0.005), blob(0.6)]
    pool = PoolData(pixel_probabilities=np.stack([three(m) for m in images]))
    scores = get_strategy("seg_expected_dice").score(pool, rng(0))
    assert list(ranking(scores)) == [2, 1, 0]
    many = PoolData(pixel_probabilities=np.concatenate([pool.pixel_probabilities] * 50))
    assert np.allclose(get_strategy("seg_expected_dice").score(many, rng(0)), np.tile(scores, 50))
