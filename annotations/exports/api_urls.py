"""Export routes, mounted under /api/v1/ by core/api_urls.py."""

from django.urls import path

from annotations.exports import views

urlpatterns = [
    path(
        "projects/<id:project_id>/snapshots/",
        views.ProjectSnapshots.as_view(),
        name="project-snapshots",
    ),
    path("snapshots/<id:snapshot_id>/", views.SnapshotDetail.as_view(), name="snapshot-detail"),
    path(
        "projects/<id:project_id>/exports/", views.ProjectExports.as_view(), name="project-exports"
    ),
    path("exports/<id:job_id>/", views.ExportDetail.as_view(), name="export-detail"),
    path("exports/<id:job_id>/cancel", views.ExportCancel.as_view(), name="export-cancel"),
    path("exports/<id:job_id>/download", views.ExportDownload.as_view(), name="export-download"),
]
