"""One entry per task type: what differs between classification and segmentation, behind one seam
(design.md, "One loop, several tasks"). The jobs look the project's task type up here instead of
branching on it; a new task (detection) adds an entry.

An entry names, for its task:
- `kinds`: the annotation kinds its targets are made from;
- `targets(shapes, class_names, rows, cols, frame)`: one item's doctors' shapes -> its training
  target (a class index, or an (H, W) label map; None when the item carries no usable label);
- `build_network(spec_dict, seed)` and `spec_from_dict`: the network factory;
- `train(model, x, y, val_x, val_y, config, on_epoch=, should_stop=)` and `default_config()`;
- `loss`: the training loss's name (recorded with the version);
- `evaluate(model, val_x, val_y, test_x, test_y, class_names) -> (temperature, metrics)`;
- `promotion_metric`: the key of those metrics the promotion rule compares by default;
- `strategies`: the registered strategy names that apply (ml_worker.strategies);
- `suggestion_kind`: the payload kind a suggestion is stored as.

Importing this module is cheap (no torch): the functions import their ML modules when called, so
the web side may read `task_type(name).strategies` to validate a project's settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_worker.segmentation.rasterize import Shape


@dataclass(frozen=True)
class TaskType:
    name: str
    kinds: frozenset[str]
    targets: Callable[[Sequence[Shape], Sequence[str], int, int, int], Any]
    build_network: Callable[[Mapping[str, Any], int | None], Any]
    train: Callable[..., Any]
    default_config: Callable[[], Any]
    loss: str
    evaluate: Callable[..., tuple[float, dict[str, Any]]]
    promotion_metric: str
    strategies: tuple[str, ...]
    default_strategy: str
    suggestion_kind: str


_TASKS: dict[str, TaskType] = {}


def register_task(entry: TaskType) -> TaskType:
    if entry.name in _TASKS:
        raise ValueError(f"task type {entry.name!r} is already registered")
    _TASKS[entry.name] = entry
    return entry


def task_type(name: str) -> TaskType:
    try:
        return _TASKS[name]
    except KeyError:
        raise ValueError(
            f"no learning loop for task type {name!r}; known: {sorted(_TASKS)}"
        ) from None


def task_names() -> list[str]:
    return sorted(_TASKS)


# Classification: the existing functions, registered as they are --------------------------------


def class_target(
    shapes: Sequence[Shape], class_names: Sequence[str], rows: int, cols: int, frame: int = 1
) -> int | None:
    """The first class (in schema order) a "class" answer names; None when none is known.
    Multi-label projects train on their first label (docs/learning.md)."""
    named = {
        label
        for s in shapes
        if s.kind == "class" and s.frame == frame
        for label in s.payload.get("labels", [])
    }
    for index, name in enumerate(class_names):
        if name in named:
            return index
    return None


def _build_classifier(spec: Mapping[str, Any], seed: int | None) -> Any:
    from ml_worker.models import ModelSpec, build_model

    return build_model(ModelSpec.from_dict(spec), seed=seed)


def _train_classifier(*args: Any, **kwargs: Any) -> Any:
    from ml_worker.training import train_classifier

    return train_classifier(*args, **kwargs)


def _classifier_config() -> Any:
    from ml_worker.training import TrainConfig

    return TrainConfig()


def _evaluate_classifier(
    model: Any,
    val_x: np.ndarray | None,
    val_y: np.ndarray | None,
    test_x: np.ndarray,
    test_y: np.ndarray,
    class_names: Sequence[str],
) -> tuple[float, dict[str, Any]]:
    from ml_worker.drift_calibration import DriftCalibration, calibrate_model
    from ml_worker.evaluation import evaluate
    from ml_worker.inference import predict
    from ml_worker.training import TrainConfig

    temperature = 1.0
    if val_x is not None and val_y is not None and len(val_y):
        temperature = calibrate_model(
            model, val_x, val_y, TrainConfig().augment, DriftCalibration()
        )
    logits = predict(model, test_x, with_embeddings=False).logits
    return temperature, evaluate(logits, test_y, class_names, temperature=temperature)


register_task(
    TaskType(
        name="classification",
        kinds=frozenset({"class"}),
        targets=class_target,
        build_network=_build_classifier,
        train=_train_classifier,
        default_config=_classifier_config,
        loss="cross_entropy (class-weighted)",
        evaluate=_evaluate_classifier,
        promotion_metric="auc",
        strategies=(
            "random",
            "least_confidence",
            "margin",
            "entropy",
            "bald",
            "diversity",
            "cold_start",
            "budget_aware",
            "typiclust",
        ),
        default_strategy="budget_aware",
        suggestion_kind="class",
    )
)


# Segmentation -----------------------------------------------------------------------------------


def mask_target(
    shapes: Sequence[Shape], class_names: Sequence[str], rows: int, cols: int, frame: int = 1
) -> np.ndarray | None:
    """The (rows, cols) label map of one frame; None when the frame has no answer at all. A frame
    answered only "no findings" (a class answer with no labels) is an empty map: a negative."""
    from ml_worker.segmentation.rasterize import label_map

    answered = [s for s in shapes if s.frame == frame and s.kind in ("class", "mask", "polygon")]
    if not answered:
        return None
    return label_map(answered, rows, cols, class_names, frame)


def _build_segmenter(spec: Mapping[str, Any], seed: int | None) -> Any:
    from ml_worker.segmentation.network import SegSpec, build_segmenter

    return build_segmenter(SegSpec.from_dict(spec), seed=seed)


def _train_segmenter(*args: Any, **kwargs: Any) -> Any:
    from ml_worker.segmentation.training import train_segmenter

    return train_segmenter(*args, **kwargs)


def _segmenter_config() -> Any:
    from ml_worker.segmentation.training import SegTrainConfig

    return SegTrainConfig()


def _evaluate_segmenter(*args: Any, **kwargs: Any) -> tuple[float, dict[str, Any]]:
    from ml_worker.segmentation.pipeline import evaluate_model

    return evaluate_model(*args, **kwargs)


register_task(
    TaskType(
        name="segmentation",
        kinds=frozenset({"class", "mask", "polygon"}),
        targets=mask_target,
        build_network=_build_segmenter,
        train=_train_segmenter,
        default_config=_segmenter_config,
        loss="dice_ce (MONAI DiceCELoss, foreground Dice pooled over the batch + pixel CE)",
        evaluate=_evaluate_segmenter,
        promotion_metric="dice",
        strategies=(
            "random",
            "seg_entropy",
            "seg_disagreement",
            "seg_expected_dice",
            "seg_diversity",
            "cold_start",
            "seg_budget_aware",
        ),
        default_strategy="seg_budget_aware",
        suggestion_kind="mask",
    )
)


# Detection --------------------------------------------------------------------------------------


def boxes_target(
    shapes: Sequence[Shape], class_names: Sequence[str], rows: int, cols: int, frame: int = 1
) -> Any:
    """One frame's boxes (ml_worker.detection.boxes.BoxTarget, points as small boxes); None when
    the frame has no answer; "no findings" alone is a negative with no boxes."""
    from ml_worker.detection.boxes import box_target

    return box_target(shapes, class_names, rows, cols, frame)


def _build_detector(spec: Mapping[str, Any], seed: int | None) -> Any:
    from ml_worker.detection.network import DetSpec, build_detector

    return build_detector(DetSpec.from_dict(spec), seed=seed)


def _train_detector(*args: Any, **kwargs: Any) -> Any:
    from ml_worker.detection.training import train_detector

    return train_detector(*args, **kwargs)


def _detector_config() -> Any:
    from ml_worker.detection.training import DetTrainConfig

    return DetTrainConfig()


def _evaluate_detector(*args: Any, **kwargs: Any) -> tuple[float, dict[str, Any]]:
    from ml_worker.detection.pipeline import evaluate_model

    return evaluate_model(*args, **kwargs)


register_task(
    TaskType(
        name="detection",
        kinds=frozenset({"class", "box", "point"}),
        targets=boxes_target,
        build_network=_build_detector,
        train=_train_detector,
        default_config=_detector_config,
        loss="retinanet (MONAI: sigmoid BCE over ATSS-matched, hard-negative-sampled anchors "
        "+ smooth L1 box regression)",
        evaluate=_evaluate_detector,
        promotion_metric="froc_mean",
        strategies=(
            "random",
            "det_uncertainty",
            "det_uncertainty_mixed",
            "det_expected_error",
            "det_flip_disagreement",
            "det_diversity",
            "cold_start",
            "det_budget_aware",
        ),
        default_strategy="det_budget_aware",
        suggestion_kind="boxes",
    )
)
