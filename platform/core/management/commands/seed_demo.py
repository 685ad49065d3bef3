"""`manage.py seed_demo`: the demo projects, their admin and doctor. Safe to run again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from core.demo.seed import seed_demo
from core.local.accounts import ensure_local_accounts


class Command(BaseCommand):
    help = "Create the demo projects (real DICOM and 400 generated images) for admin and doctor."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_local_accounts(Path(settings.DATA_DIR))
        users = get_user_model().objects
        admin, doctor = users.get(username="admin"), users.get(username="doctor")
        for seeded in seed_demo(admin, doctor, say=self.stdout.write):
            state = "created" if seeded.created else "already there"
            self.stdout.write(f"seed_demo | {seeded.project.name}: {seeded.items} items ({state})")
