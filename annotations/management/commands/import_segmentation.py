"""`manage.py import_segmentation PATH --project ID`: a labelled segmentation set (standard npz,
PNG images/ + masks/ folders, or an nnU-Net raw folder) as Secondary Capture instances with
their masks as submitted annotations (docs/exports.md, decision 0170). Into a detection project
it imports boxes: from the npz's `{split}_instances`, or a COCO folder (decision 0371)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.segmentation_import import import_segmentation_path
from annotations.segmentation_sources import SegmentationSourceError, read_cases_csv


class Command(BaseCommand):
    help = "Import images with masks (npz, PNG folder pair, nnU-Net NIfTI) into a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path",
            help="a .npz file, a folder with images/ and masks/, an nnU-Net raw dataset folder, "
            "or (detection projects) a COCO folder",
        )
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument("--limit", type=int, help="at most N images per split or folder")
        parser.add_argument(
            "--classes", help="comma-separated names for mask values 1, 2, ... (PNG pairs only)"
        )
        parser.add_argument(
            "--cases", help="CSV with ID and Case columns: the patient of each image (PNG, NIfTI)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from annotations.models import Project

        project = Project.objects.filter(pk=options["project"]).first()
        if project is None:
            raise CommandError(f"no project with id {options['project']}")
        bar = tqdm(unit="image", file=sys.stderr, leave=False)
        try:
            cases = read_cases_csv(Path(options["cases"])) if options["cases"] else None
            result = import_segmentation_path(
                project,
                Path(options["path"]),
                class_names=options["classes"].split(",") if options["classes"] else None,
                cases=cases,
                limit=options["limit"],
                progress=bar.update,
            )
        except SegmentationSourceError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"import_segmentation | images={result.images} masks={result.masks} "
            f"boxes={result.boxes} negatives={result.negatives} project={project.pk} "
            f"items_in_project={result.items_in_project}"
        )
