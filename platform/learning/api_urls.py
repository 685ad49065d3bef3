"""/api/v1/ routes of the learning loop (docs/learning.md)."""

from django.urls import path

from learning import views

urlpatterns = [
    path(
        "projects/<id:project_id>/training-runs/",
        views.ProjectTrainingRuns.as_view(),
        name="project-training-runs",
    ),
    path("training-runs/<id:run_id>/", views.TrainingRunDetail.as_view(), name="training-run"),
    path(
        "training-runs/<id:run_id>/cancel",
        views.TrainingRunCancel.as_view(),
        name="training-run-cancel",
    ),
    path(
        "projects/<id:project_id>/model-versions/",
        views.ProjectModelVersions.as_view(),
        name="project-model-versions",
    ),
    path(
        "model-versions/<id:version_id>/", views.ModelVersionDetail.as_view(), name="model-version"
    ),
    path(
        "model-versions/<id:version_id>/activate",
        views.ModelVersionActivate.as_view(),
        name="model-version-activate",
    ),
    path(
        "projects/<id:project_id>/rescore", views.ProjectRescore.as_view(), name="project-rescore"
    ),
    path(
        "projects/<id:project_id>/hparam-searches/",
        views.ProjectHparamSearches.as_view(),
        name="project-hparam-searches",
    ),
    path(
        "projects/<id:project_id>/pretrained-weights/",
        views.ProjectPretrainedWeights.as_view(),
        name="project-pretrained-weights",
    ),
    path(
        "projects/<id:project_id>/model-settings",
        views.ProjectModelSettings.as_view(),
        name="project-model-settings",
    ),
    path("model-architectures/", views.ModelArchitectures.as_view(), name="model-architectures"),
]
