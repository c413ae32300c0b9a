"""The layout of a service (README "Layout"): the rules in domain/ speak no framework, no
database and no HTTP; only store.py writes Mongo operators."""

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
# The services already in the one layout; each joins this list as it is reshaped.
LAID_OUT = ("dossiers", "jobs", "mutual_aid", "notifications", "student_aid")
# Frameworks, the database, and the HTTP answers belong to the door and the store.
NOT_IN_DOMAIN = (
    "nameko",
    "pymongo",
    "kombu",
    "eventlet",
    "shared.errors",
    "shared.providers",
    "shared.rpc",
    "shared.event_handler",
    "shared.dead_letters",
    "shared.mongo",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def mongo_operators(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sorted(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith("$")
    )


@pytest.mark.parametrize("service", LAID_OUT)
def test_domain_code_imports_no_framework_no_database_and_no_http_errors(service):
    offending = {
        str(path.relative_to(SERVICES)): sorted(
            name
            for name in imported_modules(path)
            if any(name == bad or name.startswith(bad + ".") for bad in NOT_IN_DOMAIN)
            or name.endswith((".store", ".service"))
        )
        for path in (SERVICES / service / "domain").glob("*.py")
    }
    assert {path: names for path, names in offending.items() if names} == {}


@pytest.mark.parametrize("service", LAID_OUT)
def test_mongo_operators_are_written_only_in_the_store(service):
    found = {
        str(path.relative_to(SERVICES)): mongo_operators(path)
        for path in (SERVICES / service).rglob("*.py")
        if path.name != "store.py"
    }
    assert {path: ops for path, ops in found.items() if ops} == {}
