"""ApiError crosses a nameko RPC hop (nameko's own exception serialization) unchanged."""

import json

import pytest
from nameko.exceptions import deserialize, serialize

from shared.domain_errors import Conflict, RuleViolation
from shared.errors import ApiError, answer, answering, not_found, validation_error


def across_rpc(exc: Exception) -> Exception:
    """What the caller of an RPC receives: nameko's wire form, through JSON, rebuilt."""
    return deserialize(json.loads(json.dumps(serialize(exc))))


def test_error_without_fields_has_no_fields_after_rpc():
    received = across_rpc(not_found("dossier"))
    assert isinstance(received, ApiError)
    assert received.status == 404
    assert received.fields is None
    assert received.body() == {"error": {"code": "not_found", "message": "dossier was not found."}}


@pytest.mark.parametrize(
    "fields",
    [
        {"festival": ["not a festival"]},
        {"members": {"3": {"id_number": ["invalid check digit"]}}},
        {"amount": {"max": 1500000, "asked": 1600000}},
    ],
)
def test_error_fields_are_unchanged_after_rpc(fields):
    raised = validation_error(fields)
    received = across_rpc(raised)
    assert (received.status, received.code, received.message) == (400, raised.code, raised.message)
    assert received.body() == raised.body()
    assert received.body()["error"]["fields"] == fields


def test_domain_errors_are_answered_409_for_the_state_and_422_for_a_rule():
    state = answer(Conflict("the claim is approved, not awaiting review"))
    rule = answer(RuleViolation("a rejection needs a note stating why", "note"))
    assert (state.status, state.code, state.fields) == (409, "conflict", None)
    assert (rule.status, rule.code) == (422, "rule_violation")
    assert rule.fields == {"note": ["a rejection needs a note stating why"]}
    assert across_rpc(rule).body() == rule.body()


def test_a_door_method_answers_the_domain_errors_of_its_use_case_and_passes_the_rest():
    @answering
    def refusing(kind):
        raise kind("the dossier is closed: only an open dossier changes")

    with pytest.raises(ApiError) as answered:
        refusing(Conflict)
    assert (answered.value.status, answered.value.code) == (409, "conflict")
    with pytest.raises(ApiError) as ruled:
        refusing(RuleViolation)
    assert (ruled.value.status, ruled.value.code) == (422, "rule_violation")
    with pytest.raises(KeyError):  # a bug is not a refusal: it stays a bug
        refusing(KeyError)
