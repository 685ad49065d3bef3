"""Production: DEBUG off, SECRET_KEY and ALLOWED_HOSTS required, secure cookies behind TLS."""

import os

from config.env import ConfigurationError, env_bool, env_int, env_list

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
# HSTS: browsers keep to https for a year once they have seen this over TLS (docs/operations.md).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = False
API_SCHEMA_PUBLIC = env_bool("API_SCHEMA_PUBLIC", False)
