"""manage.py index_upstream [--project ID]: index the upstream DICOMweb server (proxy mode)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studies.dicomweb.upstream import UpstreamError
from studies.dicomweb.upstream_index import index_upstream


class Command(BaseCommand):
    help = "Index the studies of DICOMWEB_UPSTREAM_URL through QIDO-RS (pixels stay upstream)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", type=int, help="also attach every instance to this project"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = None
        if options.get("project"):
            from studies.projects_seam import projects

            project = projects().find_project(options["project"])
            if project is None:
                raise CommandError(f"project {options['project']} does not exist")
        try:
            summary = index_upstream(project=project, progress=lambda line: self.stdout.write(line))
        except (UpstreamError, ImproperlyConfigured) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"studies={summary.studies} series={summary.series} "
            f"new={summary.instances_new} known={summary.instances_known}"
        )
