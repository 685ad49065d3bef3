"""A segmentation or detection run's training, evaluation and registration (its life:
ml_worker.jobs.train). The two tasks share every step; what differs (targets at the input size,
the checkpoint format, the headline metric) sits in one `GeometryIO` per task below.

Snapshot (polygons and masks rasterized in each image's own pixels, negatives kept) → images
preprocessed as for classification (the whole frame resized to the project's square input) and
label maps resized with the same geometry (labels_to_input) → the task's U-Net trained with
Dice + cross-entropy, early stopping on validation Dice → pixel temperature fitted on validation,
metrics on the locked test split → atomic checkpoint → registry, promoted by the task's
promotion metric (test Dice) against the active model re-evaluated on the same test images →
the shadow random baseline when the project serves a random share. Detection follows the same
steps with box targets scaled to the input, a RetinaNet, early stopping and promotion on FROC.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from annotations.models import Project
from learning.model_settings import semi_kwargs
from learning.models import ModelStatus, ModelVersion, TrainingRun
from learning.services import registry
from learning.services.checkpoint_files import run_checkpoint_path
from learning.services.project_model import model_settings_of
from learning.splits import TEST, TRAIN, VAL
from ml_worker.epoch_loop import WARM_EPOCHS, warm_schedule
from ml_worker.jobs.data import load_items_by_id, preprocess_config
from ml_worker.jobs.db_retry import with_db_retry
from ml_worker.jobs.shadow import MIN_RANDOM_TRAIN_LABELS, RANDOM_SAMPLING, random_pick_mask
from ml_worker.jobs.snapshot import (
    NotTrainable,
    TrainingSet,
    build_training_set,
    task_of,
    unlabelled_pool_ids,
)
from ml_worker.jobs.train import TRAIN_CONFIG_KEYS, promotion_rule_for
from ml_worker.promotion import decide_promotion
from ml_worker.segmentation.checkpoint import load_segmenter, save_segmenter
from ml_worker.segmentation.pipeline import labels_to_input
from ml_worker.task_types import TaskType
from ml_worker.training import TrainingCancelled

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegArrays:
    images: np.ndarray  # (N, 1, S, S) float32
    masks: Any  # segmentation: (N, S, S) uint8 label maps; detection: N BoxTargets at S

    def __len__(self) -> int:
        return len(self.masks)


@dataclass(frozen=True)
class GeometryIO:
    """What differs between the segmentation and detection runs."""

    targets_at_input: Callable[[list[Any], int], Any]  # native targets -> at the input size
    spec_for: Callable[..., Any]  # (train images, number of classes) -> the network spec
    save: Callable[..., str]  # (path, model, temperature=, class_names=, extra=) -> sha256
    load: Callable[[str, str | None], Any]  # -> saved (.model, .spec, .class_names)
    has_finding: Callable[[Any], bool]  # does one target hold a lesion?
    headline: tuple[str, str]  # (metric key, its name) for the shadow note
    summary_keys: tuple[str, ...]


def _seg_io() -> GeometryIO:
    from ml_worker.segmentation.pipeline import spec_for

    def at_input(native: list[np.ndarray], size: int) -> np.ndarray:
        masks = np.zeros((len(native), size, size), dtype=np.uint8)
        for i, labels in enumerate(native):
            masks[i] = labels_to_input(labels, size)
        return masks

    return GeometryIO(
        targets_at_input=at_input,
        spec_for=spec_for,
        save=save_segmenter,
        load=load_segmenter,
        has_finding=lambda mask: bool(np.asarray(mask).any()),
        headline=("dice", "Dice"),
        summary_keys=("n_images", "dice", "iou", "pixel_ece"),
    )


def _det_io() -> GeometryIO:
    from ml_worker.detection.checkpoint import load_detector, save_detector
    from ml_worker.detection.pipeline import spec_for

    def save(path: Path, model: Any, *, temperature: float, **kwargs: Any) -> str:
        return save_detector(path, model, **kwargs)  # box scores carry no temperature

    def at_input(native: list[Any], size: int) -> list[Any]:
        return [t.scaled(size / t.cols, size / t.rows) for t in native]

    return GeometryIO(
        targets_at_input=at_input,
        spec_for=spec_for,
        save=save,
        load=load_detector,
        has_finding=lambda target: len(target) > 0,
        headline=("froc_mean", "FROC"),
        summary_keys=("n_test_images", "froc_mean", "froc", "map_50", "map_50_95"),
    )


def _io(task: TaskType) -> GeometryIO:
    return _det_io() if task.name == "detection" else _seg_io()


def _native_targets(data: TrainingSet, task: TaskType, split: str) -> list[Any]:
    return data.boxes[split] if task.name == "detection" else data.masks[split]


def seg_config_for(run: TrainingRun, task: TaskType) -> Any:
    """The task's defaults (seeded by the run id), then LEARNING_SEG_TRAIN_DEFAULTS, then the
    run's overrides (same keys as a classification run's; `augment: false` turns it off)."""
    base = task.default_config()
    merged: dict[str, Any] = {**settings.LEARNING_SEG_TRAIN_DEFAULTS, **run.config}
    overrides: dict[str, Any] = {"seed": run.pk}
    overrides.update({k: v for k, v in merged.items() if k in TRAIN_CONFIG_KEYS})
    if merged.get("augment", True) is False:
        overrides["augment"] = None
    semi = semi_kwargs(model_settings_of(run.project)["semi_supervised"])
    if semi is not None and task.name == "segmentation":
        from ml_worker.segmentation.semi import SegSemiConfig

        semi.pop("method")  # FixMatch is the U-Net's one method (the settings check says so)
        overrides["semi"] = SegSemiConfig(**semi)
    return replace(base, **overrides)


WARM_MAX_CHAIN = 4  # warm runs in a row before one trains from scratch again
WARM_MIN_SHARE = 0.5  # the earlier model must have seen at least this share of today's labels


@dataclass(frozen=True)
class WarmOptions:
    enabled: bool = True
    epochs: int = WARM_EPOCHS


def warm_options_for(run: TrainingRun) -> WarmOptions:
    """`warm_start` (bool) and `warm_epochs` (int) from LEARNING_SEG_TRAIN_DEFAULTS, then the
    run's own config."""
    merged: dict[str, Any] = {**settings.LEARNING_SEG_TRAIN_DEFAULTS, **run.config}
    epochs = int(merged.get("warm_epochs", WARM_EPOCHS))
    if epochs < 1:
        raise NotTrainable(f"warm_epochs must be >= 1, not {epochs}")
    return WarmOptions(enabled=bool(merged.get("warm_start", True)), epochs=epochs)


def starting_point(
    previous: ModelVersion | None,
    io: GeometryIO,
    class_names: list[str],
    images: np.ndarray,
    labels_now: int,
    options: WarmOptions,
) -> tuple[Any | None, dict[str, Any]]:
    """The saved model a run fine-tunes (None: train from scratch) and the record of that
    choice stored in the version's config["warm_start"] (decision 0354).

    From scratch when turned off, without an earlier model, after WARM_MAX_CHAIN warm runs in
    a row (a chain of fine-tunings never revisits the early epochs' large steps), when the
    earlier model saw less than WARM_MIN_SHARE of today's labels (fine-tuning a model of 20
    outlines on 200 is no cheaper than training anew, and no better), or when its checkpoint
    is unreadable or of other classes, input size or channels."""

    def cold(reason: str) -> tuple[None, dict[str, Any]]:
        return None, {"from_version": None, "reason": reason}

    if not options.enabled:
        return cold("turned off for this run")
    if previous is None:
        return cold("no earlier model")
    chain = int((previous.config.get("warm_start") or {}).get("chain", 0))
    if chain >= WARM_MAX_CHAIN:
        return cold(f"{chain} warm-started runs in a row: this one from scratch")
    if previous.labels_used < WARM_MIN_SHARE * labels_now:
        return cold(f"v{previous.number} saw {previous.labels_used} of today's {labels_now} labels")
    try:
        saved = io.load(previous.checkpoint_path, previous.checkpoint_sha256)
    except (OSError, ValueError, RuntimeError, KeyError):
        return cold(f"v{previous.number}: checkpoint not readable as this task's model")
    spec = saved.spec
    if (
        list(saved.class_names) != list(class_names)
        or spec.input_size != images.shape[-1]
        or spec.in_channels != images.shape[1]
    ):
        return cold(f"v{previous.number} has other classes, input size or channels")
    return saved, {
        "from_version": previous.pk,
        "from_number": previous.number,
        "checkpoint_sha256": previous.checkpoint_sha256,
        "chain": chain + 1,
        "epochs": options.epochs,
    }


def _arrays(project: Project, data: TrainingSet, task: TaskType, split: str) -> SegArrays:
    loaded = with_db_retry(
        load_items_by_id, project, data.item_ids[split], preprocess_config(project)
    )
    if loaded.item_ids != data.item_ids[split]:
        raise NotTrainable(f"some {split} items disappeared while the run was starting")
    native = _native_targets(data, task, split)
    return SegArrays(loaded.images, _io(task).targets_at_input(native, project.input_size))


def _optional(arrays: SegArrays) -> tuple[np.ndarray | None, np.ndarray | None]:
    return (arrays.images, arrays.masks) if len(arrays) else (None, None)


def train_geometry_and_register(run: TrainingRun, reporter: Any, should_stop: Any) -> ModelVersion:
    """A segmentation or a detection run (the project's task type)."""
    project = run.project
    task = task_of(project)
    io = _io(task)
    reporter.phase("loading data")
    data = with_db_retry(build_training_set, project)
    if not data.item_ids[TEST]:
        raise NotTrainable("the locked test split has no answered item yet; label a few more")
    train, val, test = (_arrays(project, data, task, s) for s in (TRAIN, VAL, TEST))
    config = seg_config_for(run, task)
    warm = warm_options_for(run)
    active = with_db_retry(registry.active_version, project.pk)
    saved, warm_record = starting_point(active, io, data.class_names, train.images, data.size, warm)
    if saved is not None:
        # Fine-tune the active model: its spec (normalisation included) comes with its weights.
        spec, model = saved.spec, saved.model
        config = warm_schedule(config, warm.epochs)
        reporter.notes.append(
            f"warm start from v{warm_record['from_number']}: {config.max_epochs} epochs"
        )
    else:
        try:
            spec = io.spec_for(train.images, len(data.class_names))
        except ValueError as exc:  # an input size the network's levels cannot halve
            raise NotTrainable(f"project input size {project.input_size}: {exc}") from exc
        model = task.build_network(spec.to_dict(), config.seed)
    unlabeled_ids, extra = _unlabelled(project, data, config, run, reporter)
    reporter.phase("training", epochs=config.max_epochs)
    val_x, val_y = _optional(val)
    result = task.train(
        model,
        train.images,
        train.masks,
        val_x,
        val_y,
        config,
        on_epoch=reporter.on_epoch,
        should_stop=should_stop,
        **extra,
    )
    if should_stop():
        raise TrainingCancelled(len(result.history))
    reporter.phase("evaluating", epochs=config.max_epochs)
    temperature, test_metrics = task.evaluate(
        result.model, val_x, val_y, test.images, test.masks, data.class_names
    )
    for row in test_metrics.get("worst_test_images", []):  # test index -> the item to open
        if "index" in row:
            row["item_id"] = data.item_ids[TEST][row.pop("index")]

    active_metrics = _active_on_same_test(active, task, io, test, data.class_names)
    rule = promotion_rule_for(run, default_metric=task.promotion_metric)
    decision = decide_promotion(test_metrics, active_metrics, rule)

    reporter.phase("registering", epochs=config.max_epochs)
    if reporter.lost:  # requeued or failed behind our back: another attempt owns the run now
        raise TrainingCancelled(len(result.history))
    path = run_checkpoint_path(project.pk, run.pk)
    sha256 = io.save(
        path,
        result.model,
        temperature=temperature,
        class_names=data.class_names,
        extra={"run": run.pk, "snapshot": data.snapshot.content_hash},
    )
    version = with_db_retry(
        registry.register_version,
        project,
        architecture=spec.architecture,
        config={
            **_version_config(task, spec, config, project, data, rule),
            "warm_start": warm_record,
            "semi_supervised": _semi_record(config, unlabeled_ids, result),
        },
        snapshot=data.snapshot,
        parent=active,
        metrics={
            "test": test_metrics,
            "split_sizes": {s: len(data.item_ids[s]) for s in (TRAIN, VAL, TEST)},
            "negatives": {
                s: sum(1 for label in data.labels[s] if label == 0) for s in (TRAIN, VAL, TEST)
            },
            "training": _training_summary(result, reporter.history),
            "promotion": decision.to_dict(),
            "active_on_same_test": _summary(active_metrics, io),
        },
        checkpoint_path=str(path),
        checkpoint_sha256=sha256,
        labels_used=data.size,
    )
    if decision.promote:
        with_db_retry(registry.activate, version)
    else:
        with_db_retry(registry.reject, version)
    with_db_retry(version.refresh_from_db)
    if project.random_share > 0:
        reporter.phase("shadow baseline", epochs=config.max_epochs)
        _shadow_stage(
            run,
            project,
            task,
            data,
            (train, val, test),
            # The yardstick is supervised, as the classifier's is (decision 0420): "the loop
            # with semi-supervision" against "random labels alone".
            _supervised(seg_config_for(run, task)),
            warm,
            reporter,
            should_stop,
        )
    return version


def _unlabelled(
    project: Project, data: TrainingSet, config: Any, run: TrainingRun, reporter: Any
) -> tuple[list[int], dict[str, Any]]:
    """The pool items a semi-supervised segmentation run learns from without labels (the
    classifier's rule, decision 0420: never a held-out item or patient), and train()'s extra
    argument; nothing when the run is supervised."""
    semi = getattr(config, "semi", None)
    if semi is None:
        return [], {}
    reporter.phase("loading unlabelled pool")
    ids = with_db_retry(unlabelled_pool_ids, project, data, semi.max_unlabeled, run.pk)
    pool = with_db_retry(load_items_by_id, project, ids, preprocess_config(project))
    if not pool.item_ids:
        reporter.notes.append("semi-supervised: no unlabelled pool image; trained supervised")
        return [], {}
    return list(pool.item_ids), {"unlabeled_images": pool.images}


def _supervised(config: Any) -> Any:
    return replace(config, semi=None) if getattr(config, "semi", None) is not None else config


def _semi_record(config: Any, unlabeled_ids: list[int], result: Any) -> dict[str, Any] | None:
    semi = getattr(config, "semi", None)
    if semi is None:
        return None
    return {
        **semi.to_dict(),
        "method": "fixmatch",
        "unlabeled_items": len(unlabeled_ids),
        "unlabeled_accepted": getattr(result, "unlabeled_accepted", None),
    }


def _version_config(
    task: TaskType,
    spec: Any,
    config: Any,
    project: Project,
    data: TrainingSet,
    rule: Any,
) -> dict[str, Any]:
    return {
        "task": task.name,
        "model": spec.to_dict(),
        "loss": task.loss,
        "training": config.to_dict(),
        "preprocess": {
            "input_size": project.input_size,
            "window_center": project.window_center,
            "window_width": project.window_width,
        },
        "class_names": data.class_names,
        "promotion_rule": {"metric": rule.metric, "tolerance": rule.tolerance},
    }


def _training_summary(result: Any, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "stopped_early": result.stopped_early,
        "device": result.device,
        "seconds": round(result.seconds, 3),
        "history": history,
    }


def _active_on_same_test(
    active: ModelVersion | None,
    task: TaskType,
    io: GeometryIO,
    test: SegArrays,
    class_names: list[str],
) -> dict[str, Any] | None:
    """The active model re-evaluated on today's test split (its stored metrics when its
    checkpoint is unreadable, of another task, or of other classes)."""
    if active is None:
        return None
    stored: dict[str, Any] | None = active.metrics.get("test")
    try:
        saved = io.load(active.checkpoint_path, active.checkpoint_sha256)
    except (OSError, ValueError, RuntimeError, KeyError):
        logger.warning(
            "active version %s: not a readable %s model; stored metrics", active.pk, task.name
        )
        return stored
    if saved.class_names != class_names or saved.spec.input_size != test.images.shape[-1]:
        return stored
    # Dice, IoU, HD95 and the lesion counts read the most likely class, which the temperature
    # does not change; the pixel ECE here is before the active model's temperature.
    _, metrics = task.evaluate(saved.model, None, None, test.images, test.masks, class_names)
    return metrics


def _summary(metrics: dict[str, Any] | None, io: GeometryIO) -> dict[str, Any] | None:
    if metrics is None:
        return None
    return {k: metrics[k] for k in io.summary_keys if k in metrics}


def _shadow_stage(
    run: TrainingRun,
    project: Project,
    task: TaskType,
    data: TrainingSet,
    arrays: tuple[SegArrays, SegArrays, SegArrays],
    config: Any,
    warm: WarmOptions,
    reporter: Any,
    should_stop: Any,
) -> None:
    """The same recipe on the randomly served training labels only (ml_worker.jobs.shadow); the
    main version is registered already, so nothing here fails the run.

    A fair yardstick warm-starts by the same rule, but only from the previous *shadow* model
    (trained on random picks alone), never from the main lineage, whose weights learnt from the
    strategy's picks (decision 0355)."""
    train, val, test = arrays
    io = _io(task)
    picked = random_pick_mask(data.item_ids[TRAIN])
    masks = _pick(train.masks, picked)
    positives = sum(1 for target in masks if io.has_finding(target))
    if len(masks) < MIN_RANDOM_TRAIN_LABELS or positives == 0:
        reporter.notes.append(
            f"shadow random baseline skipped: {len(masks)} randomly served training labels "
            f"({positives} with a region); it needs {MIN_RANDOM_TRAIN_LABELS}, one outlined"
        )
        return
    try:
        previous = (
            ModelVersion.objects.filter(project=project, status=ModelStatus.SHADOW)
            .order_by("-number")
            .first()
        )
        labels_now = int(picked.sum()) + len(val) + len(test)
        saved, warm_record = starting_point(
            previous, io, data.class_names, train.images, labels_now, warm
        )
        if saved is not None:
            spec, model = saved.spec, saved.model
            config = warm_schedule(config, warm.epochs)
        else:
            spec = io.spec_for(train.images, len(data.class_names))
            model = task.build_network(spec.to_dict(), config.seed)
        val_x, val_y = _optional(val)
        result = task.train(
            model, train.images[picked], masks, val_x, val_y, config, should_stop=should_stop
        )
        if should_stop():
            raise TrainingCancelled(len(result.history))
        temperature, metrics = task.evaluate(
            result.model, val_x, val_y, test.images, test.masks, data.class_names
        )
        path = run_checkpoint_path(project.pk, run.pk, shadow=True)
        sha256 = io.save(
            path,
            result.model,
            temperature=temperature,
            class_names=data.class_names,
            extra={"run": run.pk, "snapshot": data.snapshot.content_hash, "sampling": "random"},
        )
        sizes = {TRAIN: int(picked.sum()), VAL: len(val), TEST: len(test)}
        version = registry.register_version(
            project,
            architecture=spec.architecture,
            config={
                "task": task.name,
                "model": spec.to_dict(),
                "sampling": RANDOM_SAMPLING,
                "training": config.to_dict(),
                "class_names": data.class_names,
                "shadow_of_run": run.pk,
                "warm_start": warm_record,
            },
            snapshot=data.snapshot,
            parent=None,
            metrics={
                "test": metrics,
                "split_sizes": sizes,
                "training": _training_summary(result, []),
            },
            checkpoint_path=str(path),
            checkpoint_sha256=sha256,
            labels_used=sum(sizes.values()),
        )
        registry.mark_shadow(version)
    except TrainingCancelled:
        reporter.notes.append("shadow random baseline cancelled; the new model was kept")
    except Exception as exc:
        logger.exception("run %s: shadow random baseline failed", run.pk)
        reporter.notes.append(f"shadow random baseline failed: {exc!r}")
    else:
        reporter.notes.append(
            f"shadow random baseline v{version.number}: {sizes[TRAIN]} random training labels, "
            f"test {io.headline[1]} {metrics[io.headline[0]]:.3f}"
        )


def _pick(targets: Any, picked: np.ndarray) -> Any:
    """The picked rows of a label-map array or of a list of box targets."""
    if isinstance(targets, np.ndarray):
        return targets[picked]
    return [t for t, keep in zip(targets, picked, strict=True) if keep]
