"""A Celery worker SIGKILLed mid training run, with a follow-up run queued behind it: the dead
run is marked failed by the stale-run check, the previous model stays active meanwhile, the
follow-up is handed to a fresh worker and completes, and no label is lost.
(tests/learning/test_worker_lifecycle.py covers the kill alone; this adds the recovery.)"""

from __future__ import annotations

import signal
import time

import pytest
from django.conf import settings
from django.test import override_settings

from annotations.models import Annotation
from learning.models import ModelStatus, ModelVersion, RunStatus, TrainingRun
from learning.services.runs import fail_stale_runs
from tests.cast import make_project
from tests.hardening.services import start_worker, stop_worker
from tests.learning.test_worker_lifecycle import LONG, QUICK, retrain, status_of, wait_for

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_a_killed_run_is_failed_and_its_queued_follow_up_completes_on_a_new_worker(  # type: ignore[no-untyped-def]
    make_user, celery_worker
):
    from rest_framework.test import APIClient

    admin = make_user("admin")
    client = APIClient()
    client.force_authenticate(admin)
    project = make_project(admin=admin, images=40, labelled=24)
    labels = Annotation.objects.filter(item__project=project, is_current=True).count()
    first = retrain(client, project, QUICK)
    wait_for(lambda: status_of(first) == RunStatus.SUCCEEDED, what="the first model")
    previous = ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE)

    killed = retrain(client, project, LONG)
    wait_for(lambda: TrainingRun.objects.get(pk=killed).progress.get("history"), what="epoch 1")
    follow_up = retrain(client, project, QUICK)  # coalesces behind the running one
    assert follow_up != killed and status_of(follow_up) == RunStatus.QUEUED

    celery_worker.send_signal(signal.SIGKILL)
    celery_worker.wait(timeout=30)
    time.sleep(1.5)
    assert ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE) == previous

    fresh = start_worker(settings.CELERY_BROKER_URL, "after-kill")
    try:
        with override_settings(TRAINING_HEARTBEAT_TIMEOUT_S=1):
            assert fail_stale_runs().failed == [killed]
        wait_for(lambda: status_of(follow_up) == RunStatus.SUCCEEDED, what="the follow-up run")
    finally:
        stop_worker(fresh)

    assert status_of(killed) == RunStatus.FAILED
    assert TrainingRun.objects.get(pk=follow_up).model_version is not None
    assert Annotation.objects.filter(item__project=project, is_current=True).count() == labels
    active = ModelVersion.objects.get(project=project, status=ModelStatus.ACTIVE)
    assert active in (previous, TrainingRun.objects.get(pk=follow_up).model_version)
