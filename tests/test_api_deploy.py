"""Deployment files kept honest without a Docker engine: the compose file validates and matches the settings,
the image uses the README's install steps, every setting is documented and is a flag, the page is packaged."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
README_SECTION = (ROOT / "README.md").read_text()
INSTALL_STEPS = ["apt-get install", "binutils-aarch64-linux-gnu", "pip install", ".[api]"]


def compose_validators() -> list[list[str]]:
    """`docker compose` (the plugin) and Debian's `docker-compose`, whichever this machine has."""
    found = []
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        found.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        found.append(["docker-compose"])
    return found


@pytest.mark.parametrize("command", compose_validators() or [pytest.param(None, marks=pytest.mark.skip(
    reason="neither `docker compose` nor `docker-compose` is installed; the structural test below still runs"))])
def test_docker_compose_config_accepts_the_file(command):
    run = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr


def test_the_compose_service_is_configured_by_real_settings():
    service = yaml.safe_load(COMPOSE.read_text())["services"]["api"]
    assert service["build"] == "."
    settings = {"A64EQ_" + name.upper() for name in Settings.model_fields}
    environment = service["environment"]
    assert set(environment) <= settings, set(environment) - settings
    assert {"A64EQ_WORKERS", "A64EQ_CHECK_LIMIT", "A64EQ_MEMORY_LIMIT_MB", "A64EQ_QUEUE_SIZE"} <= set(environment)
    store_directory = str(Path(environment["A64EQ_JOB_STORE"]).parent)
    assert any(volume.endswith(":" + store_directory) for volume in service["volumes"])  # jobs outlive the container
    assert "/healthz" in " ".join(service["healthcheck"]["test"])
    assert service["init"] is True


def test_the_image_uses_the_readme_install_steps():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    for step in INSTALL_STEPS:
        assert step in dockerfile and step in README_SECTION, step
    assert 'CMD ["a64eq", "serve"]' in dockerfile and "/healthz" in dockerfile


def test_every_setting_is_documented_and_has_a_flag():
    help_text = subprocess.run([sys.executable, "-m", "verifier.cli", "serve", "--help"], capture_output=True,
                               text=True, check=True).stdout
    for name in Settings.model_fields:
        assert f"`A64EQ_{name.upper()}`" in README_SECTION, name
        if name != "api_key":  # read from the environment only, so that it never shows in `ps`
            assert "--" + name.replace("_", "-") in help_text, name


def test_flags_override_the_environment_which_overrides_defaults():
    environment = {"A64EQ_WORKERS": "3", "A64EQ_PORT": "9001", "A64EQ_CORS_ORIGINS": "http://a.example, http://b.example"}
    settings = Settings.from_env(environment, port=9002)
    assert settings.workers == 3 and settings.port == 9002
    assert settings.cors_origins == ["http://a.example", "http://b.example"]
    assert Settings.from_env({"A64EQ_API_KEY": ""}).api_key is None


def test_bad_settings_stop_serve_with_a_message():
    run = subprocess.run([sys.executable, "-m", "verifier.cli", "serve", "--max-batch", "10", "--queue-size", "5"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "max_batch (10) cannot exceed queue_size (5)" in run.stderr


def test_the_web_page_is_packaged():
    """`pip install .` (the image) must ship api/static, which is not Python and so needs package data."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = pyproject["tool"]["setuptools"].get("package-data", {})
    assert any(pattern.startswith("static/") for pattern in package_data.get("api", []))
