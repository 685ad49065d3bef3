"""GET /api/v1/projects/{id}/dashboard: reviewers and admins see figures computed from the real
rows (reads, skips, the registry's stored test metrics); annotators are refused, outsiders 404."""

from __future__ import annotations

import pytest

from annotations.models import Item, Skip, Submission

pytestmark = pytest.mark.django_db


def test_work_figures_count_the_doctors_reads_and_skips(cast) -> None:  # type: ignore[no-untyped-def]
    items = list(Item.objects.filter(project=cast.project).order_by("pk"))
    for item, ms in zip(items[:3], (1000, 2000, 6000), strict=True):
        Submission.objects.create(item=item, user=cast.anna, time_spent_ms=ms)
    Submission.objects.create(item=items[0], user=cast.rita, time_spent_ms=3000)
    Skip.objects.create(item=items[5], user=cast.anna, reason="poor_quality")
    Skip.objects.create(item=items[6], user=cast.rita, reason="poor_quality")
    Skip.objects.create(item=items[7], user=cast.rita, reason="unsure")

    data = cast.client("rita").get(f"/api/v1/projects/{cast.project.pk}/dashboard").json()
    assert sum(day["count"] for day in data["labels_per_day"]) == 4
    assert data["labels_per_doctor"][0] == {
        "doctor": "anna",
        "count": 3,
        "median_time_ms": 2000,
        "mean_time_ms": 3000,
    }
    assert data["time_per_label"] == {"n": 4, "median_ms": 2500, "mean_ms": 3000}
    assert data["skip_reasons"] == [
        {"reason": "poor_quality", "count": 2},
        {"reason": "unsure", "count": 1},
    ]
    assert data["queue"]["items"] == 40
    assert (
        data["queue"]["remaining"]
        == Item.objects.filter(project=cast.project, completed=False).count()
    )


def test_model_figures_are_the_registry_metrics_of_the_active_version(cast, version) -> None:  # type: ignore[no-untyped-def]
    data = cast.client("alice").get(f"/api/v1/projects/{cast.project.pk}/dashboard").json()
    test = version.metrics["test"]
    model = data["current_model"]
    assert model["number"] == version.number
    assert model["confusion_matrix"] == test["confusion_matrix"]
    assert model["roc"] == test["roc"]
    assert model["reliability"]["before"] == test["reliability"]["before"]
    assert model["reliability"]["after"] == test["reliability"]["after"]
    (point,) = data["learning_curve"]["points"]
    assert point["labels"] == version.labels_used
    assert point["auc"] == test["auc"]
    assert point["f1"] == {k: round(v["f1"], 4) for k, v in test["per_class"].items()}
    assert data["learning_curve"]["random_baseline"] is None
    assert "no random-sampling baseline" in data["learning_curve"]["note"]
    assert [v["id"] for v in data["registry"]] == [version.pk]
    assert data["runs"][0]["status"] == "succeeded"


def test_annotators_are_refused_and_outsiders_see_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/projects/{cast.project.pk}/dashboard"
    assert cast.client("anna").get(url).status_code == 403
    assert cast.client("otto").get(url).status_code == 404
    assert cast.client(None).get(url).status_code in (401, 403)
