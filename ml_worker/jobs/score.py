"""Score the unlabelled pool and reorder the queue.

After a promotion (or a rollback) the active version predicts every item not completed yet:
calibrated probabilities, embeddings and, for BALD, MC-dropout samples. The project's strategy
turns them into one score per item; learning.services.scoring stores the scores and switches
every Item.priority in one transaction. Before any model exists, a "diversity" cold start
clusters model-free PCA embeddings of the pixels so the first batch is typical and varied.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np
from django.conf import settings

from annotations.models import Item, Project
from learning.models import ModelKind, ModelStatus, ModelVersion
from learning.services.scoring import ItemScore, ScoringOutcome, pool_item_ids, save_scoring_pass
from learning.strategy_names import effective_strategy
from ml_worker.checkpoint import SavedModel, load_model
from ml_worker.embeddings import pca_embeddings, pretrained_embeddings
from ml_worker.inference import Predictions, concatenate, predict
from ml_worker.jobs.data import load_items_by_id, preprocess_config, scoring_frame_cache
from ml_worker.jobs.snapshot import class_names_of, task_of
from ml_worker.multilabel import sigmoid
from ml_worker.strategies import PoolData, get_strategy, ranking

BATCH_STRATEGIES = ("diversity", "cold_start", "budget_aware", "typiclust")
_models: OrderedDict[tuple[int, str], SavedModel] = OrderedDict()


def loaded_model(version: ModelVersion) -> SavedModel:
    """The version's classifier, loaded once per worker process (ml_worker.jobs.seg_score's
    cache, keyed by row id and checkpoint sha256)."""
    from ml_worker.jobs.seg_score import load_cached

    saved: SavedModel = load_cached(_models, version, load_model)
    return saved


def priorities_from_scores(scores: np.ndarray) -> np.ndarray:
    """Queue priorities in (1, 2], best item highest, from the strategy's serving order.

    Rank-based so every strategy maps to the same scale, and above the [0, 1) random priorities
    items get when attached: scored items are served before ones no model has looked at yet.
    """
    n = len(scores)
    priorities = np.empty(n)
    priorities[ranking(scores)] = 1.0 + np.arange(n, 0, -1, dtype=np.float64) / max(n, 1)
    return priorities


def labelled_counts(version: ModelVersion, class_names: list[str]) -> np.ndarray:
    """Labels per class in the snapshot the version learnt from (budget_aware's phase)."""
    index = {name: i for i, name in enumerate(class_names)}
    counts = np.zeros(len(class_names), dtype=np.int64)
    for entry in version.snapshot.entries if version.snapshot is not None else []:
        if entry.get("label") in index:
            counts[index[entry["label"]]] += 1
    return counts


def learning_curve(project: Project) -> tuple[list[int], list[float]]:
    """The project's learning curve so far: labels used and test AUC of each classification
    version that has one, by labels used (budget_aware's evidence, decision 0421). The test
    split is locked per patient, so successive versions are measured on (nearly) the same
    images; it only grows by new patients' labelled items."""
    points = []
    # The strategy's own models only: the shadow random baseline measures the other arm, and a
    # self-supervised encoder has no test AUC.
    versions = ModelVersion.objects.filter(project=project, kind=ModelKind.SUPERVISED).exclude(
        status=ModelStatus.SHADOW
    )
    for labels, metrics in versions.values_list("labels_used", "metrics"):
        auc = (metrics or {}).get("test", {}).get("auc")
        if isinstance(auc, int | float) and labels:
            points.append((int(labels), float(auc)))
    points.sort()
    return [p[0] for p in points], [p[1] for p in points]


def _strategy_options(name: str, project: Project) -> dict[str, Any]:
    options: dict[str, Any] = {"batch_size": project.batch_size} if name in BATCH_STRATEGIES else {}
    if name == "diversity" and project.multi_label:
        options["base"] = "ml_entropy"  # its uncertainty over independent labels
    if name == "budget_aware":
        options["curve_labels"], options["curve_aucs"] = learning_curve(project)
    return options


def score_with_version(version_id: int) -> ScoringOutcome | None:
    """Score the pool with this version; None when it is no longer the active one."""
    version = (
        ModelVersion.objects.select_related("project", "snapshot").filter(pk=version_id).first()
    )
    if version is None or version.status != ModelStatus.ACTIVE:
        return None
    project = version.project
    strategy_name = effective_strategy(project.task_type, project.strategy, project.multi_label)
    item_ids = pool_item_ids(project.pk)
    if not item_ids:
        return save_scoring_pass(project.pk, version.pk, strategy_name, [])
    from ml_worker.jobs.det_score import detection_scores
    from ml_worker.jobs.seg_score import segmentation_scores

    scorers = {
        "classification": classification_scores,
        "segmentation": segmentation_scores,
        "detection": detection_scores,
    }
    rows = scorers[task_of(project).name](version, project, item_ids, strategy_name)
    return save_scoring_pass(project.pk, version.pk, strategy_name, rows)


def pool_predictions(
    saved: SavedModel,
    project: Project,
    item_ids: list[int],
    *,
    mc_passes: int,
    chunk: int | None = None,
) -> tuple[list[int], Predictions]:
    """The pool's predictions, `chunk` items at a time (LEARNING_SCORE_CHUNK): the pixels of one
    chunk are held at once, never the pool's; the outputs kept are a few numbers per item
    (probabilities, embedding, MC samples). Decision 0181."""
    size = max(1, chunk or settings.LEARNING_SCORE_CHUNK)
    config = preprocess_config(project)
    # The pass's own frame cache (no frames kept in memory by default): each image is read once
    # here, so the worker's shared 1 GiB cache would only grow with the pool (decision 0188).
    cache = scoring_frame_cache()
    ids: list[int] = []
    parts: list[Predictions] = []
    for start in range(0, len(item_ids), size):
        images = load_items_by_id(project, item_ids[start : start + size], config, cache)
        if not images.item_ids:
            continue
        # Seeded per chunk: MC-dropout draws depend on the chunking, their distribution does not.
        parts.append(
            predict(
                saved.model,
                images.images,
                temperature=saved.temperature,
                mc_passes=mc_passes,
                seed=start,
            )
        )
        ids.extend(images.item_ids)
        del images
    return ids, concatenate(parts)


def classification_scores(
    version: ModelVersion, project: Project, item_ids: list[int], strategy_name: str
) -> Iterator[ItemScore]:
    saved = loaded_model(version)
    strategy = get_strategy(strategy_name, **_strategy_options(strategy_name, project))
    mc_passes = settings.LEARNING_MC_PASSES if strategy_name in ("bald", "ml_bald") else 0
    ids, preds = pool_predictions(saved, project, item_ids, mc_passes=mc_passes)
    probabilities, mc_probabilities = preds.probabilities, preds.mc_probabilities
    multi_label = bool(saved.extra.get("multi_label"))
    if multi_label:
        # Independent labels: a calibrated sigmoid per label (ml_worker.multilabel).
        temperatures = np.asarray(saved.extra["label_temperatures"], dtype=np.float64)
        probabilities = sigmoid(preds.logits, temperatures)
        if preds.mc_logits is not None:
            mc_probabilities = sigmoid(preds.mc_logits, temperatures)
    embeddings, labelled_embeddings = preds.embeddings, None
    if strategy_name == "typiclust":
        embeddings, labelled_embeddings = typiclust_embeddings(project, ids, preds.embeddings)
    pool = PoolData(
        probabilities=probabilities,
        embeddings=embeddings,
        labeled_embeddings=labelled_embeddings,
        mc_probabilities=mc_probabilities,
        labeled_counts=labelled_counts(version, saved.class_names or class_names_of(project)),
    )
    values = np.asarray(strategy.score(pool, np.random.default_rng(version.pk)), dtype=np.float64)
    # The strategy and the ranking need the whole pool, held as the compact arrays above; the
    # rows are built lazily from them, so save_scoring_pass holds one chunk of them at a time.
    return _classification_rows(
        ids, values, priorities_from_scores(values), probabilities, multi_label
    )


def _classification_rows(
    ids: list[int],
    values: np.ndarray,
    priorities: np.ndarray,
    probabilities: np.ndarray,
    multi_label: bool,
) -> Iterator[ItemScore]:
    for i, item_id in enumerate(ids):
        yield ItemScore(
            item_id=item_id,
            value=float(values[i]),
            priority=float(priorities[i]),
            probabilities=[round(float(p), 6) for p in probabilities[i]],
            # Multi-label: the labels at or above the threshold are suggested (suggestions_for).
            predicted_class=None if multi_label else int(probabilities[i].argmax()),
        )


def encoder_embeddings_of(project: Project, images: np.ndarray) -> np.ndarray | None:
    """The images' features under the project's newest self-supervised encoder; None without
    one (ml_worker.jobs.pretrain)."""
    from learning.services.registry import current_pretrained_version

    encoder = current_pretrained_version(project.pk)
    if encoder is None or len(images) == 0:
        return None
    return pretrained_embeddings(images, encoder.checkpoint_path, encoder.checkpoint_sha256)


def typiclust_embeddings(
    project: Project, pool_ids: list[int], model_embeddings: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """TypiClust's (pool, labelled) embeddings: the self-supervised encoder's when the project
    has one (what the method is defined on), else the active model's for the pool and none for
    the labelled items."""
    config = preprocess_config(project)
    pool_images = load_items_by_id(project, pool_ids, config)
    pool = encoder_embeddings_of(project, pool_images.images)
    if pool is None:
        return model_embeddings, None
    pool_set = set(pool_ids)
    labelled_ids = [
        pk
        for pk in Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
        if pk not in pool_set
    ]
    labelled = encoder_embeddings_of(
        project, load_items_by_id(project, labelled_ids, config).images
    )
    return pool, labelled


def score_cold_start(project_id: int) -> ScoringOutcome | None:
    """Order the pool typical-and-diverse first; None when a model is already active."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    if ModelVersion.objects.filter(project=project, status=ModelStatus.ACTIVE).exists():
        return None
    item_ids = pool_item_ids(project.pk)
    if not item_ids:
        return save_scoring_pass(project.pk, None, "cold_start", [])
    images = load_items_by_id(project, item_ids, preprocess_config(project))
    # The self-supervised encoder's features once the project has one, else pixel PCA; a
    # project that chose TypiClust gets it from the first image on.
    embeddings = encoder_embeddings_of(project, images.images)
    if embeddings is None:
        embeddings = pca_embeddings(images.images, seed=project.pk)
    name = "typiclust" if project.strategy == "typiclust" else "cold_start"
    options = {} if name == "typiclust" else {"method": "typical"}
    strategy = get_strategy(name, batch_size=project.batch_size, **options)
    pool = PoolData(embeddings=embeddings)
    values = np.asarray(strategy.score(pool, np.random.default_rng(project.pk)), dtype=np.float64)
    priorities = priorities_from_scores(values)
    rows = [
        ItemScore(item_id, float(values[i]), float(priorities[i]), [], None)
        for i, item_id in enumerate(images.item_ids)
    ]
    return save_scoring_pass(project.pk, None, name, rows)
