from django.urls import path, re_path

from core import views

urlpatterns = [
    path("", views.spa, name="home"),
    re_path(r"^app/(?P<path>.*)$", views.spa, name="spa"),
]
