"""Contracts apart from implementations (README "Layout"): the gateway imports no other service,
and shared/contracts/ imports no service at all, so either side can change its insides alone."""

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import services.gateway
import shared.contracts

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def modules_of(package) -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
    )


def service_modules_loaded_by(modules: list[str]) -> list[str]:
    """The services.* modules in sys.modules once ``modules`` are imported in a fresh
    interpreter: what they pull in, directly or through anything else."""
    program = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('services.'))))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout)


def test_gateway_imports_no_other_service():
    modules = modules_of(services.gateway)
    assert "services.gateway.routes.dossiers" in modules  # the walk found the route modules

    loaded = service_modules_loaded_by(modules)

    assert [m for m in loaded if not m.startswith("services.gateway")] == []


@pytest.mark.parametrize("module", modules_of(shared.contracts))
def test_contracts_import_no_service(module):
    assert service_modules_loaded_by([module]) == []
