"""Training learns a tiny synthetic task, reports progress and honours cancellation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ml_worker.inference import predict
from ml_worker.models import ModelSpec, build_model
from ml_worker.training import (
    EpochReport,
    TrainConfig,
    TrainingCancelled,
    class_weights,
    recompute_batchnorm,
    select_device,
    train_classifier,
)

TINY = ModelSpec(input_size=16, width=8, input_mean=0.3, input_std=0.25)
FAST = TrainConfig(max_epochs=4, batch_size=32, min_samples_per_epoch=192, patience=4, seed=0)


def test_training_on_a_tiny_synthetic_set_learns(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, test_x, test_y = squares
    reports: list[EpochReport] = []
    result = train_classifier(
        build_model(TINY), train_x, train_y, test_x, test_y, FAST, on_epoch=reports.append
    )
    accuracy = (predict(result.model, test_x).probabilities.argmax(1) == test_y).mean()
    assert accuracy > 0.8  # chance is 0.5
    assert [r.epoch for r in reports] == list(range(1, len(reports) + 1))
    assert reports[-1].epochs == 4 and reports[-1].val_auc is not None
    assert reports[0].eta_s >= reports[-1].eta_s == 0 or result.stopped_early
    # Whatever device the trainer picks by itself (CUDA where present): the same code path.
    assert result.device == str(select_device())


def test_same_seed_gives_the_same_model(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, test_x, _ = squares
    cfg = TrainConfig(max_epochs=1, batch_size=32, min_samples_per_epoch=64, seed=3)
    a = train_classifier(build_model(TINY, seed=3), train_x, train_y, config=cfg).model
    b = train_classifier(build_model(TINY, seed=3), train_x, train_y, config=cfg).model
    np.testing.assert_allclose(predict(a, test_x).logits, predict(b, test_x).logits, atol=1e-5)


def test_should_stop_cancels_within_the_first_batches(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, test_x, test_y = squares
    calls: list[int] = []

    def stop_after_first_poll() -> bool:
        calls.append(1)
        return True

    cfg = TrainConfig(max_epochs=50, batch_size=8, min_samples_per_epoch=96, stop_check_every=2)
    with pytest.raises(TrainingCancelled) as cancelled:
        train_classifier(
            build_model(TINY),
            train_x,
            train_y,
            test_x,
            test_y,
            cfg,
            should_stop=stop_after_first_poll,
        )
    assert cancelled.value.epoch == 1 and len(calls) == 1


def test_class_weights_balance_an_imbalanced_label_set() -> None:
    weights = class_weights(np.array([0, 1, 1, 1]), 3)
    assert torch.allclose(weights, torch.tensor([4 / 3, 4 / 9, 1.0]))


def test_bad_inputs_are_rejected_before_any_work() -> None:
    with pytest.raises(ValueError, match="same length"):
        train_classifier(build_model(TINY), np.zeros((3, 1, 16, 16), np.float32), np.zeros(2))


def test_no_epoch_of_the_first_half_is_restored_or_stops_the_run(squares) -> None:  # type: ignore[no-untyped-def]
    # Validation labels inverted: the better the model learns, the worse its validation loss, so
    # plain early stopping would keep epoch 1 and stop at once (what collapsed tiny label sets).
    train_x, train_y, test_x, test_y = squares
    cfg = TrainConfig(
        max_epochs=6, batch_size=32, min_samples_per_epoch=96, patience=1, early_stop_from=0.5
    )
    result = train_classifier(build_model(TINY, seed=0), train_x, train_y, test_x, 1 - test_y, cfg)
    assert result.best_epoch >= 3 and len(result.history) >= 4
    first_half = [r.val_loss for r in result.history[:2]]
    assert min(first_half) < result.history[result.best_epoch - 1].val_loss  # type: ignore[operator]


def test_min_steps_lengthens_the_schedule_of_a_tiny_set(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, _, _ = squares
    steps: list[int] = []
    cfg = TrainConfig(max_epochs=2, batch_size=8, min_samples_per_epoch=0, min_steps=40)
    train_classifier(
        build_model(TINY, seed=0),
        train_x[:16],
        train_y[:16],
        config=cfg,
        should_stop=lambda: steps.append(1) and False,  # polled every 10 batches and per epoch
    )
    assert len(steps) == 40 // 10 + 2  # 20 batches per epoch, not 16 / 8 = 2


def test_the_returned_model_is_the_weight_average(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, test_x, test_y = squares
    plain = replace(FAST, ema_decay=0.0)
    averaged = replace(plain, ema_decay=0.9)
    a = train_classifier(build_model(TINY, seed=1), train_x, train_y, config=plain).model
    b = train_classifier(build_model(TINY, seed=1), train_x, train_y, config=averaged).model
    # Same optimisation trajectory; only what is kept differs, and both have learned the task.
    assert not np.allclose(predict(a, test_x).logits, predict(b, test_x).logits, atol=1e-4)
    for model in (a, b):
        assert (predict(model, test_x).probabilities.argmax(1) == test_y).mean() > 0.8


def test_bad_schedule_options_are_rejected(squares) -> None:  # type: ignore[no-untyped-def]
    train_x, train_y, _, _ = squares
    for bad in ({"early_stop_from": 1.5}, {"ema_decay": 1.0}, {"min_steps": -1}):
        with pytest.raises(ValueError):
            train_classifier(
                build_model(TINY),
                train_x,
                train_y,
                config=TrainConfig(**bad),  # type: ignore[arg-type]
            )


def test_early_stopping_by_patience_restores_the_best_weights() -> None:
    """Noise images with random labels: the network can only memorise them, so the validation
    loss (other noise, other random labels) rises once it does. The run must stop `patience`
    epochs after the best one and hand back that epoch's weights, not the last."""
    rng = np.random.default_rng(0)
    train_x = rng.uniform(0, 1, (64, 1, 16, 16)).astype(np.float32)
    train_y = rng.integers(0, 2, 64)
    val_x = rng.uniform(0, 1, (64, 1, 16, 16)).astype(np.float32)
    val_y = rng.integers(0, 2, 64)
    config = TrainConfig(
        max_epochs=40,
        batch_size=16,
        min_samples_per_epoch=64,
        learning_rate=1e-2,
        patience=3,
        early_stop_from=0.0,
        ema_decay=0.0,
        augment=None,
        seed=0,
    )
    reports: list[EpochReport] = []
    result = train_classifier(
        build_model(TINY, seed=0), train_x, train_y, val_x, val_y, config, on_epoch=reports.append
    )
    losses = [r.val_loss for r in reports]
    assert result.stopped_early and len(reports) < 40
    assert len(reports) == result.best_epoch + config.patience
    best = losses[result.best_epoch - 1]
    assert best == min(losses) and losses[-1] > best  # it rose, and the best was kept
    logits = predict(result.model, val_x, with_embeddings=False).logits
    restored = float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(val_y)))
    assert restored == pytest.approx(best, abs=1e-4)


def test_precise_batchnorm_gives_the_statistics_the_current_weights_produce(squares) -> None:  # type: ignore[no-untyped-def]
    """Stale running statistics (what a fast-moving small-set run leaves) are replaced by the
    exact mean and variance of each batch-norm layer's input over the training images; a frozen
    layer keeps its own."""
    train_x, _, _, _ = squares
    model = build_model(TINY, seed=0).eval()
    first_conv, first_bn = model.backbone[0][0], model.backbone[0][1]
    second_bn = model.backbone[1][1]
    for bn in (first_bn, second_bn):
        bn.running_mean.fill_(5.0)
        bn.running_var.fill_(9.0)
    images = torch.from_numpy(train_x)
    frozen = frozenset({"backbone.1.1.running_mean"})  # the second block's BN, as if frozen
    recompute_batchnorm(model, images, torch.device("cpu"), 96, 1024, torch.Generator(), frozen)
    with torch.no_grad():
        activations = first_conv(model.norm(images))
    expected = activations.mean(dim=(0, 2, 3))
    torch.testing.assert_close(first_bn.running_mean, expected, rtol=1e-4, atol=1e-5)
    assert torch.all(second_bn.running_mean == 5.0)  # frozen: untouched
    assert not model.training  # the model is handed back in the mode it came in
