"""The hyperparameter search, end to end with a real Celery worker: an admin starts a 2-trial
search through the API, the trials are listed with their validation scores, and the best
settings are retrained, tested on the locked test split and promoted; a search is cancellable;
bad settings are refused with their reason."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from learning.models import ModelStatus, RunStatus, TrainingRun
from tests.cast import make_project

pytestmark = pytest.mark.django_db(transaction=True)

TINY = {"min_samples_per_epoch": 64, "batch_size": 16}


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return make_user("admin")


@pytest.fixture
def client(admin) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(admin)
    return client


def start(client: APIClient, project, body: dict) -> int:  # type: ignore[no-untyped-def]
    response = client.post(f"/api/v1/projects/{project.pk}/hparam-searches/", body, format="json")
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


@pytest.mark.celery
def test_a_two_trial_search_lists_its_trials_and_promotes_the_best_under_the_usual_rule(  # type: ignore[no-untyped-def]
    admin, client, celery_worker
):
    project = make_project(admin=admin, images=40, labelled=32)
    run_id = start(
        client, project, {"trials": 2, "time_budget_s": 300, "max_epochs": 2, "config": TINY}
    )

    wait_for(
        lambda: (
            TrainingRun.objects.get(pk=run_id).status in (RunStatus.SUCCEEDED, RunStatus.FAILED)
        ),
        timeout=300,
        what="the search to finish",
    )
    run = TrainingRun.objects.get(pk=run_id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    listed = client.get(f"/api/v1/projects/{project.pk}/hparam-searches/").json()
    assert [r["id"] for r in listed] == [run_id]
    search = listed[0]["progress"]["search"]
    assert len(search["trials"]) == 2
    for trial in search["trials"]:
        assert trial["state"] == "complete" and 0.0 <= trial["val_auc"] <= 1.0
        assert set(trial["params"]) == {
            "learning_rate",
            "max_epochs",
            "weight_decay",
            "augment_strength",
        }
        assert 1 <= trial["params"]["max_epochs"] <= 2
    best = max(search["trials"], key=lambda t: t["val_auc"])
    assert search["best_trial"] == best["number"]

    version = run.model_version
    assert version is not None and version.status == ModelStatus.ACTIVE  # the first model
    assert version.metrics["search"]["best_params"] == best["params"]
    assert version.metrics["promotion"]["metric"] == "auc"  # the usual rule, on the test split
    assert version.metrics["test"]["n"] == version.metrics["split_sizes"]["test"]
    training = version.config["training"]
    assert training["learning_rate"] == pytest.approx(best["params"]["learning_rate"])
    assert training["max_epochs"] == best["params"]["max_epochs"]
    assert training["weight_decay"] == pytest.approx(best["params"]["weight_decay"])


@pytest.mark.celery
def test_a_search_is_cancelled_between_or_within_trials(admin, client, celery_worker):  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, images=40, labelled=32)
    long = {"min_samples_per_epoch": 2048, "batch_size": 16, "patience": 100}
    run_id = start(
        client, project, {"trials": 20, "time_budget_s": 600, "max_epochs": 60, "config": long}
    )
    wait_for(
        lambda: TrainingRun.objects.get(pk=run_id).progress.get("phase") == "searching",
        timeout=180,
        what="the search to start",
    )
    response = client.post(f"/api/v1/training-runs/{run_id}/cancel")
    assert response.status_code == 202, response.content
    wait_for(
        lambda: TrainingRun.objects.get(pk=run_id).status == RunStatus.CANCELLED,
        timeout=120,
        what="the search to stop",
    )
    assert TrainingRun.objects.get(pk=run_id).model_version is None


def test_bad_search_settings_are_refused_with_their_reason(admin, client):  # type: ignore[no-untyped-def]
    project = make_project(admin=admin, items=2)
    url = f"/api/v1/projects/{project.pk}/hparam-searches/"

    too_many = client.post(url, {"trials": 500}, format="json")
    assert too_many.status_code == 400 and "trials" in too_many.json()
    unknown = client.post(url, {"trials": 2, "budget": 10}, format="json")
    assert unknown.status_code == 400 and "budget" in unknown.json()
    bad_config = client.post(url, {"trials": 2, "config": {"learning_rat": 0.1}}, format="json")
    assert bad_config.status_code == 400 and "learning_rat" in bad_config.json()
    assert not TrainingRun.objects.filter(project=project).exists()
