"""Pool scoring holds one chunk's pixels at a time (LEARNING_SCORE_CHUNK, decision 0181): the
scores, priorities and queue order are those of scoring the whole pool at once."""

from __future__ import annotations

from typing import Any

import pytest

from learning.models import Score
from ml_worker.jobs import score as score_module
from ml_worker.jobs.score import score_with_version
from tests.cast import make_project
from tests.learning.test_pool_scoring_job import queue, trained

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings: Any) -> None:
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def scored(version: Any) -> dict[int, tuple[float, list[float]]]:
    return {
        s.item_id: (round(s.value, 5), [round(p, 5) for p in s.probabilities])
        for s in Score.objects.filter(model_version=version)
    }


@pytest.mark.parametrize("strategy", ["entropy", "diversity"])
def test_chunks_of_3_score_and_order_the_pool_as_the_whole_pool_does(
    settings: Any, make_user: Any, monkeypatch: Any, strategy: str
) -> None:
    project = make_project(admin=make_user("admin"), images=40, labelled=24, strategy=strategy)
    version = trained(project)

    settings.LEARNING_SCORE_CHUNK = 10_000  # the whole pool in one chunk
    whole = score_with_version(version.pk)
    whole_scores, whole_queue = scored(version), queue(project)

    settings.LEARNING_SCORE_CHUNK = 3
    loaded: list[int] = []
    real_load = score_module.load_items_by_id

    def counting_load(project: Any, item_ids: list[int], config: Any) -> Any:
        loaded.append(len(item_ids))  # the real loader runs; this only records chunk sizes
        return real_load(project, item_ids, config)

    monkeypatch.setattr(score_module, "load_items_by_id", counting_load)
    chunked = score_with_version(version.pk)

    assert whole is not None and chunked is not None
    assert chunked.scored == whole.scored == 40
    assert scored(version) == whole_scores
    assert queue(project) == whole_queue
    assert loaded == [3] * 13 + [1]  # 40 items, never more than 3 items' pixels at once
