"""`manage.py import_dicom PATH... [--project ID]`: files, folders (recursive) and zip archives.

Prints a progress bar and a summary (stored / duplicate / conflict / rejected with reasons /
skipped). Safe to interrupt and run again: files already ingested are skipped without parsing.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from studies.ingest import IngestOutcome, ingest_paths


class Command(BaseCommand):
    help = "Ingest DICOM files, folders and zip archives into the platform."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="files, folders or .zip archives")
        parser.add_argument("--project", type=int, help="attach the instances to this project")
        parser.add_argument(
            "--no-skip",
            action="store_true",
            help="parse every file even if its bytes were ingested before",
        )
        parser.add_argument("--quiet-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        project = None
        if options["project"] is not None:
            from studies.projects_seam import projects

            project = projects().find_project(options["project"])
            if project is None:
                raise CommandError(f"no project with id {options['project']}")
        bar = tqdm(unit="file", disable=options["quiet_progress"], file=sys.stderr, leave=False)

        def progress(outcome: IngestOutcome | None, name: str) -> None:
            bar.update(1)
            bar.set_postfix_str(outcome.status if outcome else "skipped", refresh=False)

        try:
            summary = ingest_paths(
                options["paths"],
                project=project,
                progress=progress,
                skip_known=not options["no_skip"],
            )
        finally:
            bar.close()
        counts = summary.counts
        self.stdout.write(
            "import_dicom | " + " ".join(f"{status}={counts[status]}" for status in counts)
        )
        reasons = Counter(reason for _, reason in summary.rejections())
        for name, reason in summary.rejections():
            self.stdout.write(f"  rejected {name}: {reason}")
        for outcome in summary.outcomes:
            if outcome.status == "conflict":
                self.stdout.write(f"  conflict {outcome.source_name}: {outcome.reason}")
        if reasons:
            self.stdout.write("rejections by reason:")
            for reason, count in reasons.most_common():
                self.stdout.write(f"  {count} x {reason}")
