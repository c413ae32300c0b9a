"""One role table, checked in one place: every action's roles are in shared/contracts/roles.py,
judged by shared.auth alone, and only by the service that owns the action (the gateway
authenticates every caller but judges only its own partners' actions)."""

import ast
from pathlib import Path

from shared.contracts.roles import AT_CITY_ONLY, ROLES, ROLES_OF

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path for folder in ("services", "shared") for path in (REPOSITORY_ROOT / folder).rglob("*.py")
)
CHECKS = {"authorized", "may", "require", "_caller"}  # shared.auth's checks, the gateway's door
# Where each family of actions is checked: its owner.
OWNERS = {
    "dossiers": "services/dossiers/",
    "mutual_aid": "services/mutual_aid/",
    "notifications": "services/notifications/",
    "student_aid": "services/student_aid/",
    "jobs": "services/jobs/",
    "partners": "services/gateway/",
    "dead_letters": "shared/dead_letters.py",
    "business_dates": "shared/business_dates.py",
}


def checked_actions() -> list[tuple[str, str]]:
    """(file, action) for every action name written in a call to one of the checks."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in CHECKS:
                continue
            for argument in node.args:
                for leaf in ast.walk(argument):
                    if isinstance(leaf, ast.Constant) and isinstance(leaf.value, str):
                        found.append((str(path.relative_to(REPOSITORY_ROOT)), leaf.value))
    return found


def role_comparisons() -> list[str]:
    """Places outside shared/auth.py that test a role against a collection themselves."""
    found = []
    for path in SOURCES:
        relative = str(path.relative_to(REPOSITORY_ROOT))
        if relative == "shared/auth.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.In | ast.NotIn | ast.Eq | ast.NotEq) for op in node.ops
            ):
                left = node.left
                if getattr(left, "attr", None) == "role" or getattr(left, "id", None) == "role":
                    found.append(f"{relative}:{node.lineno}")
    return found


def test_the_table_names_only_the_roles_of_the_contract():
    assert {role for roles in ROLES_OF.values() for role in roles} <= set(ROLES)
    assert AT_CITY_ONLY <= set(ROLES_OF)


def test_every_action_checked_is_in_the_table_and_every_entry_is_checked():
    checked = {action for _, action in checked_actions()}

    assert checked - set(ROLES_OF) == set()
    assert set(ROLES_OF) - checked == set()


def test_each_action_is_checked_by_its_owner_alone():
    strays = [
        (path, action)
        for path, action in checked_actions()
        if not path.startswith(OWNERS[action.split(".")[0]])
    ]

    assert strays == []


def test_no_code_but_shared_auth_compares_a_role():
    assert role_comparisons() == []
