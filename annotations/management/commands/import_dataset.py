"""`manage.py import_dataset --project ID PATH`: a MedMNIST .npz or a folder per class of
PNG/JPEG images, as Secondary Capture instances with their labels as imported annotations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.datasets import DatasetError, import_image_folder, import_npz


class Command(BaseCommand):
    help = "Import a labelled image dataset (MedMNIST .npz, or class folders) into a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a .npz file or a folder with one sub-folder per class")
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument(
            "--limit", type=int, help="at most N images per split (.npz) or per class folder"
        )
        parser.add_argument(
            "--classes",
            help="comma-separated class names for label indices 0, 1, ... (.npz only), "
            "e.g. normal,pneumonia",
        )
        parser.add_argument("--user", help="username recorded as the annotations' author")

    def handle(self, *args: Any, **options: Any) -> None:
        from annotations.models import Project

        project = Project.objects.filter(pk=options["project"]).first()
        if project is None:
            raise CommandError(f"no project with id {options['project']}")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        path = Path(options["path"])
        bar = tqdm(unit="image", file=sys.stderr, leave=False)
        try:
            if path.is_file() and path.suffix == ".npz":
                classes = options["classes"].split(",") if options["classes"] else None
                count = import_npz(
                    project,
                    path,
                    class_names=classes,
                    limit=options["limit"],
                    user=user,
                    progress=bar.update,
                )
            elif path.is_dir():
                count = import_image_folder(
                    project, path, limit=options["limit"], user=user, progress=bar.update
                )
            else:
                raise CommandError(f"{path} is neither a .npz file nor a folder")
        except DatasetError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        items = project.items.count()
        self.stdout.write(
            f"import_dataset | imported={count} project={project.pk} items_in_project={items}"
        )
