"""Pool scoring holds one chunk's pixels at a time (LEARNING_SCORE_CHUNK, decision 0181) and
writes its Score rows a chunk at a time, dropping each chunk's objects before the next (decision
0188): the scores, priorities and queue order are those of scoring the whole pool at once."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from learning.models import Score
from ml_worker.jobs import data as data_module
from ml_worker.jobs import score as score_module
from ml_worker.jobs.score import score_with_version
from tests.cast import make_project
from tests.learning.test_pool_scoring_job import queue, trained

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings: Any) -> None:
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600


def scored(version: Any) -> dict[tuple[int, int], float]:
    """Each Score's value (key index -1) and probabilities, by (item, index). Compared with a
    tolerance: a batch of 3 and a batch of 40 run different float32 kernels, so the last bits of
    a probability may differ (rounding both to 5 places once gave 0.25301 and 0.253)."""
    values: dict[tuple[int, int], float] = {}
    for s in Score.objects.filter(model_version=version):
        values[(s.item_id, -1)] = s.value
        values.update({(s.item_id, i): p for i, p in enumerate(s.probabilities)})
    return values


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

    def counting_load(project: Any, item_ids: list[int], *args: Any) -> Any:
        loaded.append(len(item_ids))  # the real loader runs; this only records chunk sizes
        return real_load(project, item_ids, *args)

    monkeypatch.setattr(score_module, "load_items_by_id", counting_load)
    written: list[int] = []  # Score objects per bulk_create call
    alive: list[int] = []  # Score objects of earlier calls still in memory at each call
    earlier: list[weakref.ref[Score]] = []
    real_bulk_create = Score.objects.bulk_create

    def counting_bulk_create(objs: list[Score], *args: Any, **kwargs: Any) -> Any:
        gc.collect()
        alive.append(sum(ref() is not None for ref in earlier))
        written.append(len(objs))
        earlier.extend(weakref.ref(obj) for obj in objs)
        return real_bulk_create(objs, *args, **kwargs)  # the real write

    monkeypatch.setattr(Score.objects, "bulk_create", counting_bulk_create)
    shared_cache = data_module.frame_cache(project.input_size)
    frames_before = len(shared_cache._memory)
    chunked = score_with_version(version.pk)

    assert whole is not None and chunked is not None
    assert chunked.scored == whole.scored == 40
    assert scored(version) == pytest.approx(whole_scores, abs=1e-5)
    assert queue(project) == whole_queue
    assert loaded == [3] * 13 + [1]  # 40 items, never more than 3 items' pixels at once
    assert written == [3] * 13 + [1]  # one write per chunk, never the pool's 40 rows at once
    assert alive == [0] * 14  # each chunk's Score objects were dropped before the next
    # The pass read its frames through its own cache: the worker's shared one gained none.
    assert len(shared_cache._memory) == frames_before
