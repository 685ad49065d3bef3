"""Content-Security-Policy on every page (no inline or eval'd script), HSTS in production, and
the OpenAPI schema and Swagger UI only for signed-in users in production, served from our own
static files (no CDN)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def scripts_without_src(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<script\b[^>]*>", html) if " src=" not in tag]


def test_pages_carry_a_csp_that_forbids_inline_and_eval_script(make_user) -> None:
    signed_in = Client()
    signed_in.force_login(make_user("doctor"))
    pages = [Client().get("/accounts/login/"), signed_in.get("/"), signed_in.get("/api/docs/")]

    for response in pages:
        assert response.status_code in (200, 503), response  # 503: front end not built
        policy = directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in policy["default-src"]
        assert scripts_without_src(response.content.decode()) == []


def test_the_api_docs_page_loads_swagger_ui_from_our_static_files(make_user) -> None:
    client = Client()
    client.force_login(make_user("doctor"))

    html = client.get("/api/docs/").content.decode()
    script = client.get("/api/docs/?script=")

    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


@override_settings(API_SCHEMA_PUBLIC=False)
def test_without_public_schema_anonymous_callers_get_neither_schema_nor_docs(make_user) -> None:
    anonymous = Client()
    signed_in = Client()
    signed_in.force_login(make_user("doctor"))

    assert anonymous.get("/api/schema/").status_code == 401
    assert anonymous.get("/api/docs/").status_code == 401
    assert anonymous.get("/api/docs/?script=").status_code == 401
    assert signed_in.get("/api/schema/").status_code == 200
    assert signed_in.get("/api/docs/").status_code == 200


@override_settings(API_SCHEMA_PUBLIC=True)
def test_a_local_run_may_publish_the_schema() -> None:
    assert Client().get("/api/schema/").status_code == 200


def production(snippet: str, tmp_path: Path) -> dict[str, object]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]),
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="radloop.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        RADLOOP_DATA_DIR=str(tmp_path),
    )
    env.pop("DEBUG", None)
    env.pop("API_SCHEMA_PUBLIC", None)
    code = "import django, json; django.setup(); from django.test import Client; " + snippet
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_production_sends_hsts_and_csp_and_hides_the_schema(tmp_path: Path) -> None:
    out = production(
        "c = Client(HTTP_HOST='radloop.example.org', headers={'X-Forwarded-Proto': 'https'}); "
        "r = c.get('/accounts/login/'); "
        "print(json.dumps({'hsts': r.get('Strict-Transport-Security'), "
        "'csp': r.get('Content-Security-Policy'), "
        "'schema': c.get('/api/schema/').status_code, 'docs': c.get('/api/docs/').status_code}))",
        tmp_path,
    )

    assert out["hsts"] == "max-age=31536000"
    assert "script-src 'self' 'wasm-unsafe-eval'" in str(out["csp"])
    assert out["schema"] == 401 and out["docs"] == 401
