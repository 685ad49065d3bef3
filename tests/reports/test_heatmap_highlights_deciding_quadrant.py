"""Grad-CAM points at the evidence: on images whose class depends only on the top-left quadrant
(a bright square there means class 1; the other quadrants carry the same mid-grey distractor
patches in both classes), a briefly trained small CNN's heat map for class 1 puts most of its
mass in that quadrant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml_worker.explain import colorise, grad_cam, last_conv_layer, quadrant_mass, resize_map
from ml_worker.models import ModelSpec, build_model
from ml_worker.training import TrainConfig, train_classifier

SIZE = 32
SIDE = 6


def quadrant_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1, 32, 32) noise in [0, 0.3] with a mid-grey 6x6 patch in one random non-deciding
    quadrant (both classes); class 1 also has a bright 6x6 square in the top-left quadrant.
    Patches sit in the outer part of their quadrant, so each belongs to one quadrant only."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0.0, 0.3, (n, 1, SIZE, SIZE)).astype(np.float32)
    labels = (np.arange(n) % 2).astype(np.int64)
    rng.shuffle(labels)
    half = SIZE // 2

    def place(i: int, quadrant: int, value: float) -> None:
        dr, dc = rng.integers(1, 5, 2)
        r = dr if quadrant // 2 == 0 else SIZE - SIDE - dr
        c = dc if quadrant % 2 == 0 else SIZE - SIDE - dc
        assert (r < half) == (quadrant // 2 == 0)
        images[i, 0, r : r + SIDE, c : c + SIDE] = value

    for i in range(n):
        place(i, int(rng.integers(1, 4)), float(rng.uniform(0.4, 0.6)))  # 1 TR, 2 BL, 3 BR
        if labels[i] == 1:
            place(i, 0, float(rng.uniform(0.8, 1.0)))
    return images, labels


@pytest.fixture(scope="module")
def trained_model():  # type: ignore[no-untyped-def]
    train_x, train_y = quadrant_images(160, seed=0)
    spec = ModelSpec(
        input_size=SIZE, input_mean=float(train_x.mean()), input_std=float(train_x.std())
    )
    config = TrainConfig(
        max_epochs=6, batch_size=32, augment=None, seed=0, min_samples_per_epoch=256
    )
    result = train_classifier(build_model(spec, seed=0), train_x, train_y, config=config)
    return result.model


def test_the_model_learned_the_task(trained_model) -> None:  # type: ignore[no-untyped-def]
    test_x, test_y = quadrant_images(40, seed=1)
    with torch.no_grad():
        predicted = trained_model(torch.from_numpy(test_x)).argmax(1).numpy()
    assert (predicted == test_y).mean() >= 0.9


def test_most_heat_map_mass_falls_in_the_deciding_quadrant(trained_model) -> None:  # type: ignore[no-untyped-def]
    test_x, test_y = quadrant_images(40, seed=1)
    shares = []
    for image in test_x[test_y == 1]:
        explanation = grad_cam(trained_model, image, target=1)
        assert explanation.heatmap.shape == (SIZE, SIZE)
        assert explanation.heatmap.min() >= 0.0 and explanation.heatmap.max() <= 1.0
        shares.append(quadrant_mass(explanation.heatmap)["top_left"])
    # A uniform map would give 0.25 per quadrant.
    assert float(np.median(shares)) > 0.5, shares
    assert sum(s > 0.4 for s in shares) >= 0.9 * len(shares), shares


def test_the_hottest_pixel_lies_in_the_deciding_quadrant(trained_model) -> None:  # type: ignore[no-untyped-def]
    test_x, test_y = quadrant_images(40, seed=1)
    hits = 0
    for image in test_x[test_y == 1]:
        heatmap = grad_cam(trained_model, image, target=1).heatmap
        row, col = np.unravel_index(int(heatmap.argmax()), heatmap.shape)
        hits += int(row < SIZE // 2 and col < SIZE // 2)
    assert hits >= 0.9 * int((test_y == 1).sum())


def test_the_map_defaults_to_the_predicted_class_and_reports_probabilities(trained_model) -> None:  # type: ignore[no-untyped-def]
    image = quadrant_images(4, seed=2)[0][0]
    explanation = grad_cam(trained_model, image)
    assert explanation.target == int(explanation.probabilities.argmax())
    assert explanation.probabilities.sum() == pytest.approx(1.0)


def test_a_target_outside_the_classes_is_refused(trained_model) -> None:  # type: ignore[no-untyped-def]
    image = quadrant_images(2, seed=3)[0][0]
    with pytest.raises(ValueError, match="target class 5"):
        grad_cam(trained_model, image, target=5)


def test_maps_resize_to_the_image_grid_and_colour_with_transparency() -> None:
    heatmap = np.zeros((8, 8), np.float32)
    heatmap[:4, :4] = 1.0
    resized = resize_map(heatmap, 20, 30)
    assert resized.shape == (20, 30)
    assert resized[:5, :10].mean() > 0.9 and resized[15:, 20:].max() < 0.05
    rgba = colorise(resized)
    assert rgba.shape == (20, 30, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0].tolist() == [255, 0, 0, 255]  # strongest evidence: opaque red
    assert rgba[19, 29, 3] == 0  # no evidence: fully transparent


def test_grad_cam_reads_the_rectified_output_of_the_last_convolution(trained_model) -> None:  # type: ignore[no-untyped-def]
    layer = last_conv_layer(trained_model)
    convs = [m for m in trained_model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[-1] in list(layer.modules())
    assert isinstance(list(layer.children())[-1], torch.nn.ReLU)
