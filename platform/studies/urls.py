"""DICOMweb (PS3.18) under /dicomweb/ and /dicomweb/projects/{pid}/, WADO-URI at /wado."""

from django.urls import include, path

from studies.dicomweb import uri, views

# Django tries patterns in order and no two of these can match the same path, so the ones a
# viewer requests hundreds of times per series come first.
_resources = [
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/frames/<str:frame_list>",
        views.frames,
    ),
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/metadata",
        views.instance_metadata,
    ),
    path("studies", views.studies),
    path("series", views.all_series),
    path("instances", views.all_instances),
    path("studies/<str:study>", views.study),
    path("studies/<str:study>/metadata", views.study_metadata),
    path("studies/<str:study>/thumbnail", views.thumbnail),
    path("studies/<str:study>/series", views.study_series),
    path("studies/<str:study>/instances", views.study_instances),
    path("studies/<str:study>/series/<str:series>", views.series),
    path("studies/<str:study>/series/<str:series>/metadata", views.series_metadata),
    path("studies/<str:study>/series/<str:series>/rendered", views.series_rendered),
    path("studies/<str:study>/series/<str:series>/thumbnail", views.thumbnail),
    path("studies/<str:study>/series/<str:series>/instances", views.series_instances),
    path("studies/<str:study>/series/<str:series>/instances/<str:sop>", views.instance),
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/rendered",
        views.instance_rendered,
    ),
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/thumbnail",
        views.thumbnail,
    ),
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/frames/<str:frame_list>"
        "/rendered",
        views.instance_rendered,
    ),
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/frames/<str:frame_list>"
        "/thumbnail",
        views.thumbnail,
    ),
    path(
        "studies/<str:study>/series/<str:series>/instances/<str:sop>/bulkdata/<str:tag>",
        views.bulkdata,
    ),
]

urlpatterns = [
    path("dicomweb/", include(_resources)),
    path("dicomweb/projects/<id:project_id>/", include(_resources)),
    path("wado", uri.wado_uri),
]
