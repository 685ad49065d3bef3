"""docker/ cannot run here (no Docker engine), so these tests check that what it names exists:
the compose file parses, every build file, module, app, command and queue it refers to is real,
the GPU worker reserves a device, and the web image carries no torch."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def known_queues() -> set[str]:
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    return routed | {settings.CELERY_TASK_DEFAULT_QUEUE}


def option(command: list[str], *names: str) -> str | None:
    for index, word in enumerate(command):
        if word in names:
            return command[index + 1]
    return None


def test_the_compose_file_has_every_part_of_the_deployment(compose) -> None:
    assert {"postgres", "redis", "web", "worker-cpu", "worker-gpu", "proxy"} <= set(
        services(compose)
    )


def test_every_build_names_a_dockerfile_that_exists(compose) -> None:
    for name, service in services(compose).items():
        build = service.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert context == REPO, name
            assert (context / build["dockerfile"]).is_file(), name


def test_every_celery_command_names_our_app_and_real_queues(compose) -> None:
    celery_services = {
        name: service["command"]
        for name, service in services(compose).items()
        if service.get("command", [None])[0] == "celery"
    }
    assert {"worker-cpu", "worker-gpu", "beat"} <= set(celery_services)
    covered: set[str] = set()
    for name, command in celery_services.items():
        assert option(command, "-A", "--app") == "config", name
        if command[3] == "worker":
            queues = set(option(command, "-Q", "--queues").split(","))
            assert queues <= known_queues(), name
            covered |= queues
    assert covered == known_queues()  # no queue is left without a consumer
    from config.celery import app

    assert app.main == "radloop"


def test_every_web_command_names_an_application_that_exists(compose) -> None:
    web = services(compose)["web"]["command"]
    module, attribute = web[1].split(":")
    path = REPO / "platform" / (module.replace(".", "/") + ".py")
    assert path.is_file()
    assert re.search(rf"^{attribute} = ", path.read_text(), re.MULTILINE)
    assert importlib.util.find_spec("gunicorn") is not None


def test_every_manage_py_command_exists(compose) -> None:
    for name, service in services(compose).items():
        command = service.get("command") or []
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in get_commands(), name


def test_the_gpu_worker_reserves_a_gpu_and_consumes_the_torch_queues(compose) -> None:
    gpu = services(compose)["worker-gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert set(option(gpu["command"], "--queues").split(",")) == {"train", "infer"}


def test_services_depend_only_on_services_that_exist(compose) -> None:
    names = set(services(compose))
    for name, service in services(compose).items():
        depends = service.get("depends_on") or {}
        assert set(depends) <= names, name


def test_data_lives_on_declared_volumes(compose) -> None:
    declared = set(compose["volumes"])
    for name, service in services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DOCKER / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)
    for name in ("web", "worker-cpu", "worker-gpu"):
        assert "radloop-data:/data" in services(compose)[name]["volumes"]


def test_app_services_get_the_settings_production_requires(compose) -> None:
    for name in ("web", "migrate", "worker-cpu", "worker-gpu", "beat"):
        environment = services(compose)[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        for required in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
            assert environment.get(required), (name, required)


def test_the_proxy_forwards_to_the_web_service(compose) -> None:
    caddyfile = (DOCKER / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services(compose)["proxy"]["volumes"]


def test_the_web_image_never_installs_torch() -> None:
    dockerfile = (DOCKER / "Dockerfile.web").read_text()
    installs = re.findall(r"pip install ([^\n&]+)", dockerfile)
    assert installs == ["-r requirements/web.txt"]
    web_requirements = (REPO / "requirements" / "web.txt").read_text().lower()
    assert not re.search(r"^(torch|monai|captum)\b", web_requirements, re.MULTILINE)


def test_the_worker_image_pins_the_same_torch_as_the_requirements() -> None:
    dockerfile = (DOCKER / "Dockerfile.worker-gpu").read_text()
    pinned = re.search(r"^torch==(\S+)$", (REPO / "requirements/worker.txt").read_text(), re.M)
    assert pinned is not None
    assert set(re.findall(r"torch==(\S+);", dockerfile)) == {pinned.group(1)}


def test_the_gpu_worker_scales_to_n_replicas_each_with_its_own_gpu(compose) -> None:
    gpu = services(compose)["worker-gpu"]
    assert gpu["deploy"]["replicas"] == "${WORKER_GPU_REPLICAS:-1}"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["count"] == 1
    # Replicas are told apart by the container's host name.
    assert option(gpu["command"], "--hostname") == "gpu@%h"


def test_a_gpu_host_runs_only_the_torch_queues_against_the_shared_services() -> None:
    host = yaml.safe_load((DOCKER / "compose.gpu-host.yaml").read_text())
    assert set(host["services"]) == {"worker-gpu"}
    gpu = host["services"]["worker-gpu"]
    assert (REPO / gpu["build"]["context"].replace("..", ".") / gpu["build"]["dockerfile"]).exists()
    assert set(option(gpu["command"], "--queues").split(",")) == {"train", "infer"}
    assert gpu["command"][:4] == ["celery", "-A", "config", "worker"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and devices[0]["count"] == 1
    environment = gpu["environment"]
    for required in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DICOM_STORAGE_BACKEND"):
        assert environment.get(required), required
    assert environment["RADLOOP_DATA_DIR"] == "/data"
    assert gpu["volumes"][0].endswith(":/data")
    example = (DOCKER / "gpu-host.env.example").read_text()
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RADLOOP_SHARED_DATA"):
        assert f"{name}=" in example, name
