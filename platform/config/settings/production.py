"""Production: DEBUG off, SECRET_KEY and ALLOWED_HOSTS required, secure cookies behind TLS."""

import os

from config.env import ConfigurationError, env_bool, env_list

if not os.environ.get("SECRET_KEY"):
    raise ConfigurationError("SECRET_KEY must be set in production (a long random string)")
if not os.environ.get("ALLOWED_HOSTS"):
    raise ConfigurationError("ALLOWED_HOSTS must be set in production (comma-separated host names)")

from .base import *  # noqa: F403

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ["SECRET_KEY"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
