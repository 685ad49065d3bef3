"""manage.py export_dataset --project ID --formats csv,coco --out PATH

Freezes the project's current ground truth (or takes --snapshot ID) and writes the archive in
this process, without Celery: for scripts and cron. De-identified unless --no-deidentify.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.exports.formats import FORMAT_NAMES, canonical_formats
from annotations.exports.runner import ExportOptions, write_archive
from annotations.exports.snapshots import NothingToExport, freeze_snapshot
from annotations.models import Project
from learning.models import DatasetSnapshot


class Command(BaseCommand):
    help = "Export a project's labelled dataset (a frozen snapshot) as a zip archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, required=True)
        parser.add_argument(
            "--formats", required=True, help=f"comma-separated: {','.join(FORMAT_NAMES)}"
        )
        parser.add_argument("--out", required=True, help="path of the .zip to write")
        parser.add_argument("--snapshot", type=int, help="export this snapshot instead of freezing")
        parser.add_argument("--no-deidentify", action="store_true")
        parser.add_argument("--bit-depth", type=int, choices=(8, 16), default=8)
        parser.add_argument("--include-burned-in", action="store_true")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        project = Project.objects.filter(pk=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project {opts['project']}")
        try:
            formats = canonical_formats([f.strip() for f in opts["formats"].split(",") if f])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["snapshot"]:
            snapshot = DatasetSnapshot.objects.filter(pk=opts["snapshot"], project=project).first()
            if snapshot is None:
                raise CommandError(f"no snapshot {opts['snapshot']} in project {project.pk}")
        else:
            try:
                snapshot = freeze_snapshot(project)
            except NothingToExport as exc:
                raise CommandError(str(exc)) from exc
        options = ExportOptions(
            deidentify=not opts["no_deidentify"],
            bit_depth=opts["bit_depth"],
            include_burned_in=opts["include_burned_in"],
        )
        bar = tqdm(total=len(snapshot.entries), unit="item", disable=opts["no_progress"])

        def progress(done: int, total: int) -> None:
            bar.update(done - bar.n)

        result = write_archive(
            snapshot, formats, Path(opts["out"]), options=options, progress=progress
        )
        bar.close()
        self.stdout.write(
            f"snapshot {snapshot.pk} ({snapshot.content_hash[:12]}), {len(snapshot.entries)} items"
            f" -> {result.path} ({result.size_bytes} bytes, sha256 {result.sha256})"
        )
