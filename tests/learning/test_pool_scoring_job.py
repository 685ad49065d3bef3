"""After promotion every unlabelled item is scored by the project's strategy and the queue order
follows; before any model, the diversity cold start orders the pool."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from annotations.models import Item
from learning.models import ModelVersion, RunStatus, Score, TrainingRun
from ml_worker.jobs.score import priorities_from_scores, score_cold_start, score_with_version
from ml_worker.jobs.train import run_training
from tests.cast import make_project

pytestmark = pytest.mark.django_db

QUICK = {"max_epochs": 2, "min_samples_per_epoch": 64, "batch_size": 16}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    """The heartbeat thread has its own connection, which cannot see this test's uncommitted
    rows; test_heartbeat.py covers it on committed rows."""
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def trained(project):  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run.model_version


def queue(project) -> list[int]:  # type: ignore[no-untyped-def]
    pool = Item.objects.filter(project=project, completed=False)
    return list(pool.order_by("-priority", "pk").values_list("pk", flat=True))


def test_the_active_model_scores_every_pool_item_and_reorders_the_queue(make_user):  # type: ignore[no-untyped-def]
    project = make_project(admin=make_user("admin"), images=40, labelled=24, strategy="entropy")
    version = trained(project)
    before = queue(project)

    outcome = score_with_version(version.pk)

    assert outcome is not None and outcome.queue_updated and outcome.scored == 40
    scores = {s.item_id: s for s in Score.objects.filter(model_version=version)}
    assert set(scores) == set(before)
    after = queue(project)
    assert after != before
    # Entropy: the served order is the most uncertain first (binary: closest to 0.5).
    closeness = [abs(scores[pk].probabilities[1] - 0.5) for pk in after]
    # Stored probabilities are rounded to 6 decimals; the order was decided before rounding.
    assert all(later >= earlier - 2e-6 for earlier, later in pairwise(closeness))
    assert all(s.predicted_class == int(np.argmax(s.probabilities)) for s in scores.values())


def test_completed_items_are_not_rescored(make_user):  # type: ignore[no-untyped-def]
    project = make_project(admin=make_user("admin"), images=30, labelled=30)
    version = trained(project)
    Item.objects.filter(project=project, split="train").update(completed=True)

    score_with_version(version.pk)

    assert not Score.objects.filter(item__completed=True).exists()


def test_a_version_that_is_no_longer_active_does_not_score(make_user):  # type: ignore[no-untyped-def]
    project = make_project(admin=make_user("admin"), images=30)
    version = trained(project)
    version.status = "retired"
    version.save()

    assert score_with_version(version.pk) is None


def test_the_diversity_cold_start_orders_the_pool_before_any_model(make_user):  # type: ignore[no-untyped-def]
    project = make_project(admin=make_user("admin"), images=24, labelled=0, cold_start="diversity")

    outcome = score_cold_start(project.pk)

    assert outcome is not None and outcome.queue_updated and outcome.scored == 24
    priorities = [p for p in Item.objects.values_list("priority", flat=True)]
    assert all(1.0 < p <= 2.0 for p in priorities) and len(set(priorities)) == 24
    assert Score.objects.filter(model_version__isnull=True, strategy="cold_start").count() == 24


def test_rank_priorities_follow_the_scores() -> None:
    priorities = priorities_from_scores(np.array([0.1, 0.9, 0.5]))

    assert list(np.argsort(-priorities)) == [1, 2, 0]
    assert priorities.max() == 2.0 and priorities.min() > 1.0


def test_the_model_cache_never_serves_another_checkpoint_under_a_reused_id() -> None:
    from collections import OrderedDict

    from ml_worker.jobs.seg_score import load_cached

    # SQLite reuses the highest rowid after a delete (and a test database is rebuilt): a worker
    # that cached "version 1" must load the new checkpoint, not score with the old model.
    loads: list[str] = []

    def loader(path: str, sha256: str) -> str:
        loads.append(path)
        return path

    cache: OrderedDict[tuple[int, str], str] = OrderedDict()
    first = ModelVersion(pk=1, checkpoint_path="first.pt", checkpoint_sha256="aa")
    reused = ModelVersion(pk=1, checkpoint_path="second.pt", checkpoint_sha256="bb")
    assert load_cached(cache, first, loader) == "first.pt"
    assert load_cached(cache, first, loader) == "first.pt"  # cached: loaded once
    assert load_cached(cache, reused, loader) == "second.pt"
    assert loads == ["first.pt", "second.pt"]
