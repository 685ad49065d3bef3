"""manage.py cleanup_exports: delete archives past retention and fail stalled export jobs.

The Celery beat schedule runs the same sweep hourly (annotations.exports.tasks); this command
is for deployments that prefer cron.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from annotations.exports.services import delete_expired


class Command(BaseCommand):
    help = "Delete expired export archives and fail export jobs whose worker stopped."

    def handle(self, *args: Any, **opts: Any) -> None:
        outcome = delete_expired()
        self.stdout.write(
            f"deleted {outcome['deleted']} expired archive(s), "
            f"failed {outcome['stale']} stalled job(s)"
        )
