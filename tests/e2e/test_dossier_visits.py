"""A visit's re-evaluation over HTTP: a tier change or an exit waits for staff confirmation, and
a visit updates the household's members under the one-live-dossier-per-member rule."""

from __future__ import annotations

import pytest

from tests.e2e.test_dossiers import DOSSIERS, household, new_id_number, open_dossier, submit

pytestmark = pytest.mark.e2e


def visit(gateway, dossier_id, who=None, **found):
    """A home visit recording what was ``found`` (members, add_members, remove_members...)."""
    return gateway.staff(
        "POST",
        f"{DOSSIERS}/{dossier_id}/visits",
        {"visit_date": "2019-10-12", "visitor": "李四", "findings": "入户核实", **found},
        **(who or {}),
    )


def head_income(body, income):
    """The head found earning ``income``: the household of ``household()`` has two members and
    300.00 rigid expenditure, so per capita (income - 300) / 2."""
    return {"members": [{"id_number": body["head_id_number"], "monthly_income": income}]}


def names(fields: dict, field: str) -> bool:
    """True when an error's ``fields`` name ``field``, flat ("a.0.b") or nested as marshmallow
    reports a schema error."""
    if field in fields:
        return True
    head, _, rest = field.partition(".")
    return bool(rest) and isinstance(fields.get(head), dict) and names(fields[head], rest)


def decide(gateway, dossier_id, visit_id, accept):
    return gateway.staff(
        "POST", f"{DOSSIERS}/{dossier_id}/visits/{visit_id}/confirm", {"accept": accept}
    )


def test_a_visit_tier_change_waits_for_staff_confirmation(gateway):
    body = household()
    dossier_id = open_dossier(gateway, body)

    proposed = visit(gateway, dossier_id, **head_income(body, "2300.00"))  # p = 1000
    assert proposed.status_code == 200, proposed.text
    result = proposed.json()
    assert (result["outcome"], result["tier"], result["awaiting_confirmation"]) == (
        "tier_changed",
        "local",
        True,
    )
    waiting = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()
    assert (waiting["status"], waiting["tier"]) == ("open", "national")
    assert waiting["pending_re_evaluation"]["visit_id"] == result["visit_id"]
    assert waiting["members"][0]["monthly_income"] == "2300.00"  # the facts are recorded

    confirmed = decide(gateway, dossier_id, result["visit_id"], True)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["decision"], confirmed.json()["tier"]) == ("accepted", "local")
    after = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()
    assert (after["tier"], after["pending_re_evaluation"]) == ("local", None)
    assert decide(gateway, dossier_id, result["visit_id"], True).status_code == 409
    assert decide(gateway, dossier_id, "no-such-visit", True).status_code == 404


def test_a_visit_exit_waits_for_staff_and_a_rejection_keeps_the_dossier_open(gateway):
    body = household()
    dossier_id = open_dossier(gateway, body)
    same_household = {**body, "intake_date": "2019-11-02"}

    exit_proposed = visit(gateway, dossier_id, **head_income(body, "5000.00")).json()
    assert (exit_proposed["outcome"], exit_proposed["exit_reason"]) == ("exit", "income_above_line")
    assert gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["status"] == "open"
    rejected = decide(gateway, dossier_id, exit_proposed["visit_id"], False)
    assert (rejected.status_code, rejected.json()["status"]) == (200, "open")
    assert submit(gateway, same_household).status_code == 409  # still holds its members

    again = visit(gateway, dossier_id, **head_income(body, "5000.00")).json()
    assert decide(gateway, dossier_id, exit_proposed["visit_id"], True).status_code == 409
    accepted = decide(gateway, dossier_id, again["visit_id"], True)
    assert accepted.json()["status"] == "closed"
    assert gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["exit_reason"] == (
        "income_above_line"
    )
    assert submit(gateway, same_household).status_code == 201


def test_a_visit_adds_removes_and_changes_household_members(gateway):
    body = household()
    dossier_id = open_dossier(gateway, body)
    child = body["members"][1]["id_number"]
    spouse = new_id_number()

    updated = visit(
        gateway,
        dossier_id,
        members=[{"id_number": body["head_id_number"], "monthly_income": "800.00",
                  "health": "已康复"}],
        add_members=[{"id_number": spouse, "name": "林秀英", "relation": "spouse",
                      "monthly_income": "600.00", "health": None, "school": None}],
        remove_members=[child],
    )  # fmt: skip
    assert updated.status_code == 200, updated.text

    dossier = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}?reveal=ids").json()
    assert [(m["id_number"], m["monthly_income"]) for m in dossier["members"]] == [
        (body["head_id_number"], "800.00"),
        (spouse, "600.00"),
    ]
    assert dossier["members"][0]["health"] == "已康复"
    masked = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["members"][1]["id_number"]
    assert "*" in masked and masked != spouse
    # The removed child is free for another household; the added spouse is held by this one.
    assert submit(gateway, household(members=[body["members"][1]])).status_code == 201
    held = submit(
        gateway,
        household(members=[{"id_number": spouse, "name": "林秀英", "relation": "spouse",
                            "monthly_income": "0", "health": None, "school": None}]),
    )  # fmt: skip
    assert held.status_code == 409


def test_a_visit_cannot_add_a_member_of_another_open_dossier(gateway):
    other = household(county="LY-YD")
    open_dossier(gateway, other)
    body = household()
    dossier_id = open_dossier(gateway, body)
    taken = {**other["members"][1]}

    refused = visit(
        gateway, dossier_id, {"role": "county_staff", "org": "LY-XL"}, add_members=[taken]
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["fields"] == {
        "add_members.0.id_number": ["already in a live dossier outside your org unit"]
    }
    assert len(gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["members"]) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"add_members": [{"id_number": "350802199001011234", "name": "某", "relation": "child",
                           "monthly_income": "0"}]}, "add_members.0.id_number"),
        ({"remove_members": ["HEAD"]}, "remove_members.0"),
        ({"remove_members": ["STRANGER"]}, "remove_members.0"),
        ({"add_members": [{"id_number": "NEW", "name": "某", "relation": "self",
                           "monthly_income": "0"}]}, "members"),
    ],
)  # fmt: skip
def test_a_visit_member_change_that_cannot_apply_is_a_400_naming_the_field(gateway, change, field):
    body = household()
    dossier_id = open_dossier(gateway, body)
    stand_ins = {
        "HEAD": body["head_id_number"],
        "STRANGER": new_id_number(),
        "NEW": new_id_number(),
    }

    def resolve(value):
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return stand_ins.get(value, value)

    refused = visit(gateway, dossier_id, **resolve(change))
    assert refused.status_code == 400, refused.text
    assert names(refused.json()["error"]["fields"], field)
    assert gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["revision"] == 2
