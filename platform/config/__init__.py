"""The Django project package. Importing it loads the Celery app so `@shared_task` binds to it.

It also installs the fail-fast hook first: settings errors raised while any entry point (celery,
uvicorn, gunicorn, manage.py) imports settings print one line instead of a traceback.
"""

from .failfast import install_excepthook

install_excepthook()

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
