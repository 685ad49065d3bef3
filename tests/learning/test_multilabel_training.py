"""Multi-label classification through the real training and scoring jobs, on real images.

The set: PneumoniaMNIST images with two labels, "pneumonia" (the data set's own label) and
"bright" (a derived image property: the image's mean intensity above the set's median), so an
item may carry both, one or neither; an item with neither is answered "no finding"
({"labels": []}) and must train as a negative for both labels rather than be dropped."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.models import Annotation, Item
from annotations.services.suggestions import suggestions_for
from learning.models import ModelStatus, RunStatus, Score, TrainingRun
from learning.splits import TEST, TRAIN, VAL
from ml_worker.checkpoint import load_model
from ml_worker.jobs.score import pool_predictions, score_with_version
from ml_worker.jobs.snapshot import build_training_set
from ml_worker.jobs.train import run_training
from tests.cast import dicom_images, make_project

pytestmark = pytest.mark.django_db

LABELS = ("pneumonia", "bright")
QUICK = {"max_epochs": 3, "min_samples_per_epoch": 128, "batch_size": 16}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def pneumonia_with_brightness(shared_data, n: int) -> tuple[np.ndarray, list[list[str]]]:  # type: ignore[no-untyped-def]
    data = np.load(shared_data / "classification/pneumoniamnist/pneumoniamnist.npz")
    images, labels = data["train_images"][:n], data["train_labels"][:n].ravel()
    brightness = images.reshape(n, -1).mean(axis=1)
    bright = brightness > np.median(brightness)
    answers = [
        [name for name, on in zip(LABELS, (bool(labels[i]), bool(bright[i])), strict=True) if on]
        for i in range(n)
    ]
    return images, answers


@pytest.fixture
def project(make_user, shared_data):  # type: ignore[no-untyped-def]
    images, answers = pneumonia_with_brightness(shared_data, 72)
    project = make_project(
        admin=make_user("admin"),
        classes=LABELS,
        multi_label=True,
        dicom=dicom_images(images),
        input_size=28,
        retrain_every=1000,
        batch_size=4,
    )
    items = list(Item.objects.filter(project=project).order_by("pk"))
    unlabelled = 12
    for item, labels in zip(items[: len(items) - unlabelled], answers, strict=False):
        Annotation.objects.create(
            item=item, kind="class", source="imported", payload={"labels": labels}
        )
    return project


def test_no_finding_items_train_as_all_negative_and_every_label_is_kept(project):  # type: ignore[no-untyped-def]
    data = build_training_set(project)

    assert data.multi_label and data.class_names == list(LABELS)
    targets = {s: np.asarray(data.targets[s]) for s in (TRAIN, VAL, TEST)}
    everything = np.concatenate([targets[s] for s in (TRAIN, VAL, TEST)])
    assert len(everything) == 60  # none of the labelled items dropped
    assert (everything.sum(axis=1) == 0).any()  # "no finding" kept, as all zeros
    assert (everything.sum(axis=1) == 2).any()  # both labels on one item kept
    entries = {e["item"]: e for e in data.snapshot.entries}
    assert any(e["labels"] == [] for e in entries.values())
    assert any(e["labels"] == list(LABELS) for e in entries.values())


def test_a_multi_label_run_stores_per_label_metrics_and_scores_per_label(project):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()

    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version.status == ModelStatus.ACTIVE
    assert version.config["multi_label"] is True
    test = version.metrics["test"]
    assert test["multi_label"] is True and test["n"] == version.metrics["split_sizes"]["test"]
    assert set(test["per_label"]) == set(LABELS)
    for name in LABELS:
        row = test["per_label"][name]
        for key in ("precision", "recall", "f1", "support", "temperature", "ece_after"):
            assert key in row
        assert row["temperature"] > 0
    # A label's AUC exists exactly when the locked test split holds both its values (the split
    # follows the random patient IDs, so a small test split can hold one value of a label only);
    # the headline AUC is the mean of those that exist.
    truth = np.asarray(build_training_set(project).targets[TEST])
    assert len(truth) == test["n"]
    for k, name in enumerate(LABELS):
        both_values = 0 < truth[:, k].sum() < len(truth)
        assert (test["per_label"][name]["auc"] is not None) == both_values
    defined = [
        test["per_label"][n]["auc"] for n in LABELS if test["per_label"][n]["auc"] is not None
    ]
    if defined:
        assert test["auc"] == pytest.approx(float(np.mean(defined)))
    else:
        assert test["auc"] is None
    for average in ("micro_avg", "macro_avg", "weighted_avg"):
        assert set(test[average]) == {"precision", "recall", "f1", "support"}
    saved = load_model(version.checkpoint_path, version.checkpoint_sha256)
    assert saved.spec.num_classes == 2 and len(saved.extra["label_temperatures"]) == 2

    outcome = score_with_version(version.pk)
    scores = list(Score.objects.filter(model_version=version))
    assert outcome is not None and outcome.scored == len(scores) > 0
    assert {s.strategy for s in scores} == {"ml_entropy"}  # the project's default for multi-label
    probabilities = np.asarray([s.probabilities for s in scores])
    assert probabilities.shape == (len(scores), 2)
    # Independent sigmoids, not a softmax: each label's stored probability is the sigmoid of its
    # own logit over its own temperature (a softmax would make each row sum to one whatever the
    # logits; a barely trained model's sigmoids can too, so the logits are checked directly).
    ids, preds = pool_predictions(saved, project, [s.item_id for s in scores], mc_passes=0)
    by_id = {s.item_id: s.probabilities for s in scores}
    temperatures = np.asarray(saved.extra["label_temperatures"], dtype=np.float64)
    expected = 1.0 / (1.0 + np.exp(-preds.logits.astype(np.float64) / temperatures))
    assert np.asarray([by_id[i] for i in ids]) == pytest.approx(expected, abs=2e-6)
    suggestion = suggestions_for(project, [scores[0].item_id])[scores[0].item_id]
    assert suggestion["multi_label"] is True
    assert set(suggestion["probabilities"]) == set(LABELS)
    expected = [n for n in LABELS if suggestion["probabilities"][n] >= 0.5]
    assert suggestion["predicted_labels"] == expected
    assert suggestion["predicted"] == (", ".join(expected) if expected else "no finding")


def test_a_multi_label_project_gets_a_multi_label_shadow_random_baseline(project):  # type: ignore[no-untyped-def]
    """With random_share > 0 the run also trains the sigmoid-per-label recipe on the randomly
    served items' label vectors and reports it per label, as the main model."""
    from annotations.models import Project

    Project.objects.filter(pk=project.pk).update(random_share=0.3)
    ids = list(Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    Item.objects.filter(pk__in=ids[::2]).update(served_at_random=True)
    run = TrainingRun.objects.create(project=project, config=QUICK)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()

    assert run.status == RunStatus.SUCCEEDED, run.error
    main = run.model_version
    shadow = project.model_versions.get(status=ModelStatus.SHADOW)
    assert shadow.config["sampling"] == "random" and shadow.config["multi_label"] is True
    random_train = Item.objects.filter(project=project, split=TRAIN, served_at_random=True)
    labelled_random_train = random_train.filter(annotations__isnull=False).distinct().count()
    sizes = shadow.metrics["split_sizes"]
    assert sizes[TRAIN] == labelled_random_train < main.metrics["split_sizes"][TRAIN]
    test = shadow.metrics["test"]
    assert test["multi_label"] is True and test["n"] == main.metrics["test"]["n"]
    assert set(test["per_label"]) == set(LABELS)
    saved = load_model(shadow.checkpoint_path, shadow.checkpoint_sha256)
    assert saved.extra["multi_label"] is True and len(saved.extra["label_temperatures"]) == 2
    assert saved.extra["sampling"] == "random"
    assert f"shadow random baseline v{shadow.number}" in run.log
    assert "not trained for multi-label" not in run.log
