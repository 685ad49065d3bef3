"""/api/v1/: each app mounts its own routes here."""

from django.urls import include, path

urlpatterns = [
    path("", include("core.api_me")),
    path("", include("studies.api_urls")),
    path("", include("annotations.api_urls")),
    path("", include("learning.api_urls")),
    path("", include("annotations.exports.api_urls")),
    path("", include("reports.api_urls")),
]
