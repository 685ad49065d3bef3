"""What one request may see: the user, the root it came through, and the visible studies.

Two kinds of root serve the same resources (PS3.18 §8.2 lets a service have any base path):
- /dicomweb/ shows every study in Study.objects.for_user(user);
- /dicomweb/projects/{pid}/ shows only studies attached to project pid (an Item of the project
  points at one of its instances or series), and only to the project's members; its STOW-RS
  attaches what it stores to the project.
Anything outside the scope is answered 404, like something that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from studies.dicomweb.errors import not_found
from studies.dicomweb.links import root_url
from studies.models import Instance, Series, Study
from studies.projects_seam import projects


@dataclass(frozen=True)
class Scope:
    user: Any
    project_id: int | None
    root: str  # absolute URL of this DICOMweb root, no trailing slash

    def study_filter(self, prefix: str = "") -> Q:
        """A Q limiting a queryset whose `prefix` leads to Study (e.g. "series__study__")."""
        return projects().study_filter(self.user, f"{prefix}pk", self.project_id)

    def studies(self) -> QuerySet[Study]:
        return Study.objects.filter(self.study_filter())

    def series(self) -> QuerySet[Series]:
        return Series.objects.filter(self.study_filter("study__"))

    def instances(self) -> QuerySet[Instance]:
        return Instance.objects.filter(self.study_filter("series__study__"))

    def instance(self, study: str, series: str, sop: str, *fields: str) -> Instance:
        """One visible instance in one query (none while hotcache holds it), or 404."""
        from studies.dicomweb import hotcache

        key = (getattr(self.user, "pk", None), self.project_id, study, series, sop, fields)
        cached = hotcache.instances.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        queryset = self.instances().filter(
            sop_instance_uid=sop,
            series__series_instance_uid=series,
            series__study__study_instance_uid=study,
        )
        if fields:
            queryset = queryset.only(*fields)
        found = queryset.first()
        if found is None:
            raise not_found("instance")
        hotcache.instances.put(key, found)
        return found

    def check_project(self) -> None:
        """On a project root, the project must exist and the user be a member (else 404)."""
        if self.project_id is None:
            return
        if projects().find_project(self.project_id, self.user) is None:
            raise not_found("project")

    def can_store(self) -> bool:
        """STOW-RS: superusers anywhere; project admins into their project (the seam decides)."""
        seam = projects()
        project = None if self.project_id is None else seam.find_project(self.project_id)
        return seam.may_store(self.user, project) and (
            project is not None or self.project_id is None
        )


def scope_for(request: HttpRequest, user: Any, project_id: int | None) -> Scope:
    return Scope(user=user, project_id=project_id, root=root_url(request, project_id))
