"""Semi-supervised training in the product (decision 0420): a per-project switch in the model
settings (validated, off by default), a training run that then also reads unlabelled pool items
(never an item or patient of the locked validation or test split, at most max_unlabeled) and
records what it used in the version's config."""

from __future__ import annotations

import pytest

from annotations.items import patient_key_of_item
from annotations.models import Item
from learning.models import RunStatus, TrainingRun
from learning.services.project_model import do_update_model_settings
from learning.splits import TEST, VAL
from ml_worker.jobs.snapshot import build_training_set, unlabelled_pool_ids
from ml_worker.jobs.train import run_training, train_config_for
from tests.cast import make_project

pytestmark = pytest.mark.django_db

QUICK = {"max_epochs": 2, "min_samples_per_epoch": 64, "batch_size": 16}
SEMI = {"enabled": True, "method": "fixmatch", "threshold": 0.6, "min_steps": 0}


@pytest.fixture(autouse=True)
def _no_heartbeat_thread(settings):  # type: ignore[no-untyped-def]
    settings.TRAINING_HEARTBEAT_INTERVAL_S = 3600  # its own connection can't see this test's rows


@pytest.fixture
def project(make_user):  # type: ignore[no-untyped-def]
    return make_project(admin=make_user("admin"), images=40, labelled=24)


def _url(project) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/projects/{project.pk}/model-settings"


def test_semi_supervision_is_off_by_default_and_listed_in_the_registry(cast) -> None:  # type: ignore[no-untyped-def]
    body = cast.client("anna").get(_url(cast.project)).json()
    assert body["semi_supervised"]["enabled"] is False
    registry = cast.client("anna").get("/api/v1/model-architectures/").json()
    assert registry["semi_supervised"]["method"] == {
        "kind": "choice",
        "choices": ["fixmatch", "pseudo_label"],
        "default": "fixmatch",
    }
    assert registry["semi_supervised"]["threshold"]["min"] == 0.5


def test_an_admin_switches_it_on_and_bad_values_change_nothing(cast) -> None:  # type: ignore[no-untyped-def]
    admin = cast.client("alice")
    response = admin.patch(
        _url(cast.project), {"semi_supervised": {"enabled": True}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["semi_supervised"]["enabled"] is True
    for change, field in (
        ({"method": "mean_teacher"}, "semi_supervised.method"),
        ({"threshold": 1.5}, "semi_supervised.threshold"),
        ({"max_unlabeled": 0}, "semi_supervised.max_unlabeled"),
        ({"enabled": "yes"}, "semi_supervised.enabled"),
        ({"ratio": 3}, "semi_supervised.ratio"),
    ):
        refused = admin.patch(_url(cast.project), {"semi_supervised": change}, format="json")
        assert refused.status_code == 400, change
        assert field in refused.json(), refused.json()
    body = admin.get(_url(cast.project)).json()["semi_supervised"]
    assert body == {
        "enabled": True,
        "method": "fixmatch",
        "threshold": 0.95,
        "max_unlabeled": 5000,
        "min_steps": 300,
    }


def test_detection_cannot_switch_it_on_segmentation_takes_fixmatch(make_user) -> None:  # type: ignore[no-untyped-def]
    from learning.services.project_model import ModelSettingsError

    admin = make_user("admin")
    detection = make_project(admin=admin, task_type="detection")
    with pytest.raises(ModelSettingsError, match="classification and segmentation"):
        do_update_model_settings(detection, {"semi_supervised": {"enabled": True}})
    segmentation = make_project(admin=admin, task_type="segmentation", name="seg")
    with pytest.raises(ModelSettingsError, match="fixmatch"):
        do_update_model_settings(
            segmentation, {"semi_supervised": {"enabled": True, "method": "pseudo_label"}}
        )
    # The form sends back the whole settings object it read: the architecture must be the
    # project's own (the column's default is the classifier's small_cnn).
    from learning.services.project_model import model_settings_of

    draft = model_settings_of(segmentation)
    assert segmentation.architecture == "small_cnn" and draft["architecture"] == "unet"
    draft["semi_supervised"] = {**draft["semi_supervised"], "enabled": True}
    stored = do_update_model_settings(segmentation, draft)
    assert stored["semi_supervised"]["enabled"] is True and stored["architecture"] == "unet"


def test_the_unlabelled_pool_never_holds_held_out_items_or_patients(project) -> None:  # type: ignore[no-untyped-def]
    data = build_training_set(project)  # locks the labelled items' splits
    ids = unlabelled_pool_ids(project, data, limit=1000, seed=1)
    held_out = list(Item.objects.filter(project=project, split__in=[VAL, TEST]))
    assert held_out
    patients = {patient_key_of_item(item) for item in held_out}
    chosen = list(Item.objects.filter(pk__in=ids))
    assert len(chosen) == len(ids) > 0
    assert all(not item.completed and item.split not in (VAL, TEST) for item in chosen)
    assert not patients & {patient_key_of_item(item) for item in chosen}
    assert not set(ids) & {i for split in data.item_ids.values() for i in split}
    few = unlabelled_pool_ids(project, data, limit=2, seed=1)
    assert len(few) == 2 and set(few) <= set(ids)
    assert few == unlabelled_pool_ids(project, data, limit=2, seed=1)  # seeded


def test_a_semi_supervised_run_reads_unlabelled_items_and_records_it(project) -> None:  # type: ignore[no-untyped-def]
    do_update_model_settings(project, {"semi_supervised": SEMI})
    run = TrainingRun.objects.create(project=project, config=QUICK)
    config = train_config_for(run)
    assert config.semi is not None and config.semi.threshold == 0.6
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version is not None
    semi = version.config["semi_supervised"]
    expected = unlabelled_pool_ids(project, build_training_set(project), 5000, run.pk)
    assert semi["unlabeled_items"] == len(expected) > 0
    assert semi["method"] == "fixmatch" and semi["threshold"] == 0.6
    assert 0.0 <= semi["unlabeled_accepted"] <= 1.0
    # Decision 0425: the accepted pseudo-labels' class shares (None when none passed the gate).
    shares = semi["pseudo_label_shares"]
    assert shares is None or (len(shares) == 2 and abs(sum(shares) - 1.0) < 1e-6)
    assert semi["distribution_alignment"] is False
    assert version.config["training"]["semi"]["method"] == "fixmatch"


def test_a_supervised_run_records_no_semi_supervision(project) -> None:  # type: ignore[no-untyped-def]
    run = TrainingRun.objects.create(project=project, config=QUICK)
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.model_version is not None
    assert run.model_version.config["semi_supervised"] is None


def test_a_semi_supervised_segmentation_run_reads_the_pool_and_records_it(make_user) -> None:  # type: ignore[no-untyped-def]
    """Decision 0427: a segmentation project's switch gives its U-Net run the unlabelled pool
    items (by the classifier's rule) and FixMatch; the version says what it used."""
    from tests.learning.seg_factories import make_seg_project

    seg, _ = make_seg_project(make_user("admin"), n_items=40, n_labelled=24)
    # min_steps: the recipe's 300-step floor (three forward views a step) shortened to the
    # suite's budget; what is under test is which items the run reads and what it records.
    do_update_model_settings(
        seg, {"semi_supervised": {"enabled": True, "threshold": 0.6, "min_steps": 16}}
    )
    run = TrainingRun.objects.create(
        project=seg, config={"max_epochs": 2, "min_samples_per_epoch": 16, "batch_size": 8}
    )
    run_training(run.pk, worker="in-process")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    version = run.model_version
    assert version is not None
    semi = version.config["semi_supervised"]
    expected = unlabelled_pool_ids(seg, build_training_set(seg), 5000, run.pk)
    assert semi["unlabeled_items"] == len(expected) == 16
    assert semi["method"] == "fixmatch" and semi["threshold"] == 0.6
    assert 0.0 < semi["unlabeled_accepted"] <= 1.0
    assert version.config["training"]["semi"]["threshold"] == 0.6
    # A supervised segmentation run says so.
    do_update_model_settings(seg, {"semi_supervised": {"enabled": False}})
    plain = TrainingRun.objects.create(project=seg, config={"max_epochs": 1, "warm_start": False})
    run_training(plain.pk, worker="in-process")
    plain.refresh_from_db()
    assert plain.status == RunStatus.SUCCEEDED, plain.error
    assert plain.model_version.config["semi_supervised"] is None
    assert plain.model_version.config["training"]["semi"] is None
