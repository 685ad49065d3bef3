"""`manage.py import_dicom PATH... [--project ID] [--workers N]`: files, folders (recursive) and
zip archives.

Files are parsed and checked in N processes (default: min(4, CPUs); studies.import_pool) and
indexed here in batches, one transaction per batch, each file all-or-nothing. Progress lines go
to stderr at most every --progress-every seconds (files done of the total, rate, rejections by
reason); the summary (stored / duplicate / conflict / rejected with reasons / skipped) to stdout.
Safe to interrupt and run again: files already ingested are skipped without parsing.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from studies.ingest import IngestOutcome, ingest_paths


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def count_files(paths: list[str]) -> int:
    """Files under the paths, a zip archive counted as its entries: the progress total."""
    import zipfile

    from studies.archives import is_zip

    total = 0
    for raw in paths:
        root = Path(raw)
        files = (p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            total += 1
            try:
                with path.open("rb") as fh:
                    if is_zip(fh.read(4)):
                        with zipfile.ZipFile(path) as archive:
                            total += len(archive.infolist()) - 1
            except (OSError, zipfile.BadZipFile):
                pass  # the import reports it
    return total


class Progress:
    """Counts outcomes; writes one line at most every `every` seconds, and one at the end."""

    def __init__(self, total: int, every: float, out: OutputWrapper | None) -> None:
        self.total, self.every, self.out = total, every, out
        self.done = 0
        self.statuses: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.started = self.last = time.monotonic()

    def __call__(self, outcome: IngestOutcome | None, name: str) -> None:
        self.done += 1
        self.statuses[outcome.status if outcome else "skipped"] += 1
        if outcome is not None and outcome.status == "rejected":
            self.reasons[outcome.reason] += 1
        if time.monotonic() - self.last >= self.every:
            self.write()

    def write(self) -> None:
        if self.out is None:
            return
        self.last = time.monotonic()
        elapsed = max(self.last - self.started, 1e-9)
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        counts = " ".join(f"{status}={n}" for status, n in sorted(self.statuses.items()))
        line = (
            f"import_dicom: {self.done}/{self.total} files{share} "
            f"{self.done / elapsed:.1f} files/s {counts}"
        )
        if self.reasons:
            line += " | rejected: " + "; ".join(
                f"{n} x {reason}" for reason, n in self.reasons.most_common(3)
            )
        self.out.write(line)
        self.out.flush()


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
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="processes that parse and check files (default: min(4, CPUs)); 1 = this one",
        )
        parser.add_argument(
            "--progress-every",
            type=float,
            default=5.0,
            help="seconds between progress lines on stderr (default 5)",
        )
        parser.add_argument("--quiet-progress", action="store_true", help="no progress lines")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        project = None
        if options["project"] is not None:
            from studies.projects_seam import projects

            project = projects().find_project(options["project"])
            if project is None:
                raise CommandError(f"no project with id {options['project']}")
        quiet = options["quiet_progress"]
        progress = Progress(
            0 if quiet else count_files(options["paths"]),
            max(0.1, options["progress_every"]),
            None if quiet else self.stderr,
        )
        try:
            summary = ingest_paths(
                options["paths"],
                project=project,
                progress=progress,
                skip_known=not options["no_skip"],
                workers=options["workers"],
            )
        finally:
            progress.write()
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
