"""The one way `studies` reaches projects (docs/decisions/0911).

`studies` sits at the bottom: it holds the DICOM hierarchy and serves it, and knows nothing of
projects, roles or items. Where it must ask about them (who sees a study, where a STOW may
store, which Items an ingested instance gets) it calls the five functions below on the object
settings.STUDIES_PROJECT_SEAM names; `annotations.studies_seam` implements them. A project is
opaque here: studies passes it back, reads its `pk` and `deidentify`, and nothing else.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.db.models import Q

if TYPE_CHECKING:
    from studies.models import Instance


class ProjectSeam(Protocol):
    def find_project(self, project_id: int, user: Any = None) -> Any | None:
        """The project with this id (None when there is none); with `user`, None also when the
        user may not see it."""

    def may_store(self, user: Any, project: Any | None) -> bool:
        """Whether `user` may add studies to `project` (None: outside any project); a None user
        is the operator (management commands, dataset imports)."""

    def create_items(self, project: Any, instances: Sequence[Instance]) -> int:
        """Create the project's Items for these instances (idempotent); how many are new."""

    def study_filter(self, user: Any, study_ref: str, project_id: int | None = None) -> Q:
        """A Q on a queryset whose `study_ref` (e.g. "pk", "series__study") leads to Study: the
        studies `user` may see, all of them or those of one project."""

    def projects_holding(self, study_pk: int) -> set[int]:
        """The ids of the projects that hold this study."""


@cache
def projects() -> ProjectSeam:
    """The configured implementation: the module settings.STUDIES_PROJECT_SEAM names."""
    return cast(ProjectSeam, importlib.import_module(settings.STUDIES_PROJECT_SEAM))
