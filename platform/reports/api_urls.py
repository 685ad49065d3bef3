"""/api/v1/ routes of the dashboard, heat maps and AI study reports (docs/dashboard.md)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("items/<id:item_id>/heatmap", views.ItemHeatmap.as_view(), name="item-heatmap"),
    path(
        "items/<id:item_id>/heatmap.dcm",
        views.ItemHeatmapDicom.as_view(),
        name="item-heatmap-dicom",
    ),
    path(
        "projects/<id:project_id>/dashboard",
        views.ProjectDashboard.as_view(),
        name="project-dashboard",
    ),
    path(
        "projects/<id:project_id>/workers", views.ProjectWorkers.as_view(), name="project-workers"
    ),
    path(
        "projects/<id:project_id>/studies/<str:study_uid>/report",
        views.StudyReportPage.as_view(),
        name="study-report",
    ),
    path(
        "projects/<id:project_id>/studies/<str:study_uid>/report.pdf",
        views.StudyReportPdf.as_view(),
        name="study-report-pdf",
    ),
    path("studies/<str:study_uid>/reports", views.StudyReportLinks.as_view(), name="study-reports"),
]
