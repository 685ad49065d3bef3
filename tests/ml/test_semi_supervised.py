"""Semi-supervised training (decision 0420): on a toy problem whose unlabelled images reveal the
class structure (two moons drawn as a bright spot on a 16-pixel image), three labels per class
and the unlabelled pool beat the same three labels alone by a wide margin, fixed seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_worker.augment import strong_augment_batch
from ml_worker.inference import predict
from ml_worker.models import ModelSpec, build_model
from ml_worker.training import (
    DistributionAlignment,
    SemiConfig,
    TrainConfig,
    _semi_bn_images,
    labelled_prior,
    train_classifier,
)

SIDE = 16


def moons_images(n: int, seed: int, noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half-circles (scikit-learn's two moons), each point drawn as a Gaussian
    spot at its position: no straight line separates the classes, the moons' shape does."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    y = rng.integers(0, 2, n)
    px = np.where(y == 0, np.cos(t), 1 - np.cos(t)) + rng.normal(0, noise, n)
    py = np.where(y == 0, np.sin(t), 0.5 - np.sin(t)) + rng.normal(0, noise, n)
    cx = (px + 1.2) / 3.4 * (SIDE - 1)
    cy = (py + 0.8) / 2.1 * (SIDE - 1)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    spots = np.exp(-((xx - cx[:, None, None]) ** 2 + (yy - cy[:, None, None]) ** 2) / 2.0)
    return spots[:, None].astype(np.float32), y.astype(np.int64)


def accuracy(semi: SemiConfig | None) -> tuple[float, float | None, list[float] | None]:
    x, y = moons_images(800, seed=0)
    test_x, test_y = moons_images(400, seed=1)
    labelled = np.concatenate([np.flatnonzero(y == c)[:3] for c in (0, 1)])
    unlabelled = np.setdiff1d(np.arange(len(y)), labelled)
    config = TrainConfig(
        max_epochs=6, min_steps=180, augment=None, num_threads=1, seed=0, semi=semi
    )
    result = train_classifier(
        build_model(ModelSpec(input_size=SIDE), seed=0),
        x[labelled],
        y[labelled],
        None,
        None,
        config,
        unlabeled_images=x[unlabelled] if semi is not None else None,
    )
    probabilities = predict(result.model, test_x, with_embeddings=False).probabilities
    return (
        float((probabilities.argmax(axis=1) == test_y).mean()),
        result.unlabeled_accepted,
        result.pseudo_label_shares,
    )


def test_unlabelled_images_lift_accuracy_on_two_moons() -> None:
    supervised, none_used, no_shares = accuracy(None)
    semi, accepted, shares = accuracy(SemiConfig(method="fixmatch", threshold=0.9))
    assert none_used is None and no_shares is None
    assert accepted is not None and 0.0 < accepted <= 1.0
    # The run reports its accepted pseudo-labels' class shares (decision 0425): both moons.
    assert shares is not None and len(shares) == 2 and abs(sum(shares) - 1.0) < 1e-9
    assert min(shares) > 0.2, shares
    assert semi >= supervised + 0.05, (supervised, semi)
    assert semi >= 0.9, semi


def test_semi_settings_are_validated() -> None:
    for bad in (
        {"method": "mean_teacher"},
        {"threshold": 1.0},
        {"ratio": 0},
        {"weight": -1.0},
        {"warmup": 1.0},
        {"max_unlabeled": 0},
        {"alignment_window": 0},
    ):
        with pytest.raises(ValueError):
            SemiConfig(**bad)  # type: ignore[arg-type]


def test_multi_label_runs_refuse_semi_supervision() -> None:
    x, _ = moons_images(20, seed=0)
    targets = np.zeros((20, 3), dtype=np.float32)
    targets[:, 0] = 1
    with pytest.raises(ValueError, match="single-label"):
        train_classifier(
            build_model(ModelSpec(input_size=SIDE, num_classes=3), seed=0),
            x,
            targets,
            None,
            None,
            TrainConfig(max_epochs=1, num_threads=1, semi=SemiConfig()),
            unlabeled_images=x,
        )


def test_strong_view_changes_images_and_stays_in_range() -> None:
    x, _ = moons_images(8, seed=0)
    images = torch.from_numpy(x)
    gen = torch.Generator().manual_seed(0)
    strong = strong_augment_batch(images, gen)
    again = strong_augment_batch(images, torch.Generator().manual_seed(0))
    assert strong.shape == images.shape
    assert float(strong.min()) >= 0.0 and float(strong.max()) <= 1.0
    assert not torch.allclose(strong, images)
    assert torch.equal(strong, again)  # seeded: the same generator gives the same views


def test_labelled_prior_is_smoothed() -> None:
    prior = labelled_prior(np.array([0, 0, 0, 1]), 3)
    # (3 + 1, 1 + 1, 0 + 1) / (4 + 3): a class without labels keeps a share.
    assert torch.allclose(prior, torch.tensor([4 / 7, 2 / 7, 1 / 7]))


def test_alignment_moves_pseudo_labels_towards_the_labelled_prior() -> None:
    """A model drifted to the majority class: on a pool whose minority share is 30 % (the
    labelled prior), it gives the minority class a mean probability of about 11 % and only the
    majority class passes the 0.95 gate. Aligned, the targets' mean moves towards the prior and
    minority pseudo-labels pass the gate again (decision 0425). The renormalisation per image
    makes the aligned mean approach the prior, not equal it; and the accepted pseudo-labels'
    minority share rises (0.1 % to 3 % here) but stays far below the prior: alignment acts on
    the mean probability, not on what passes the gate (the limit recorded in decision 0425)."""
    rng = np.random.default_rng(0)
    minority = rng.random(2000) < 0.3
    # Drifted logit of the minority class: minority images near the boundary, majority far.
    logit = np.where(minority, rng.normal(-1.0, 1.5, 2000), rng.normal(-4.0, 1.0, 2000))
    p_minority = torch.tensor(1 / (1 + np.exp(-logit)), dtype=torch.float32)
    probabilities = torch.stack([1 - p_minority, p_minority], dim=1)
    prior = labelled_prior(np.array([0] * 70 + [1] * 30), 2)
    alignment = DistributionAlignment(prior, window=128)
    aligned = torch.cat([alignment(chunk) for chunk in probabilities.split(200)])

    def minority_share(p: torch.Tensor) -> float:
        confidence, target = p.max(dim=1)
        return float(target[confidence >= 0.95].float().mean())

    before = float(probabilities[:, 1].mean())
    assert before < 0.15
    assert abs(float(aligned[:, 1].mean()) - float(prior[1])) < abs(before - float(prior[1])) / 2
    assert minority_share(probabilities) < 0.05
    assert minority_share(aligned) > max(0.02, 10 * minority_share(probabilities))
    assert torch.allclose(aligned.sum(dim=1), torch.ones(len(aligned)))


def test_semi_runs_recompute_batchnorm_on_the_training_batches_mix() -> None:
    """Decision 0426: precise batch-norm statistics of a FixMatch run come from labelled images,
    weak and strong unlabelled views in the training batches' 1 : ratio : ratio mix, shuffled so
    every recomputation batch is mixed (not from the labelled images alone)."""
    labelled = torch.full((50, 1, SIDE, SIDE), 0.2)
    unlabelled = torch.full((300, 1, SIDE, SIDE), 0.8)
    config = TrainConfig(augment=None, precise_bn_samples=500)
    images = _semi_bn_images(
        labelled, unlabelled, config, SemiConfig(ratio=2), torch.Generator().manual_seed(0)
    )
    flat = images.flatten(1)
    is_labelled = (flat == 0.2).all(dim=1)
    is_weak = (flat == 0.8).all(dim=1)  # no augmentation: the weak view is the image
    assert len(images) == 250  # 500 // 5 = 100 labelled wanted, 50 exist: 50 + 100 + 100
    assert int(is_labelled.sum()) == 50 and int(is_weak.sum()) == 100
    assert int((~is_labelled & ~is_weak).sum()) == 100  # strong views (noise, cutout)
    assert 0 < int(is_labelled[:64].sum()) < 64  # the first batch is already mixed
    pseudo = _semi_bn_images(
        labelled,
        unlabelled,
        config,
        SemiConfig(method="pseudo_label", ratio=2),
        torch.Generator().manual_seed(0),
    )
    assert len(pseudo) == 50 + 100  # one weak view per unlabelled draw, no strong view
