"""Proxy mode sends the configured upstream credentials: HTTP basic or a bearer token, never
both (the basic case runs against a real Orthanc in test_proxy_orthanc.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from studies.dicomweb.upstream import upstream_session


def test_a_bearer_token_goes_into_the_authorization_header(settings) -> None:
    settings.DICOMWEB_UPSTREAM_BEARER_TOKEN = "abc.def"
    session = upstream_session()

    assert session.headers["Authorization"] == "Bearer abc.def"
    assert session.auth is None


def test_a_user_and_password_are_sent_as_http_basic(settings) -> None:
    settings.DICOMWEB_UPSTREAM_USER, settings.DICOMWEB_UPSTREAM_PASSWORD = "radloop", "pw"
    session = upstream_session()

    assert session.auth == ("radloop", "pw")
    assert "Authorization" not in session.headers


def test_no_credentials_send_none(settings) -> None:
    session = upstream_session()

    assert session.auth is None
    assert "Authorization" not in session.headers


@pytest.mark.parametrize(
    "configured",
    [
        {"DICOMWEB_UPSTREAM_USER": "u", "DICOMWEB_UPSTREAM_BEARER_TOKEN": "t"},
        {"DICOMWEB_UPSTREAM_PASSWORD": "p"},
    ],
)
def test_ambiguous_credentials_are_a_configuration_error(settings, configured) -> None:
    for name, value in configured.items():
        setattr(settings, name, value)

    with pytest.raises(ImproperlyConfigured):
        upstream_session()
