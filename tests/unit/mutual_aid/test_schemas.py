"""The mutual-aid contract refuses at the edge what the store could not hold."""

import pytest

from shared.contracts.mutual_aid import EnrollmentRequestSchema
from shared.errors import ApiError, validated


def enrolment(period):
    return {"period": period, "employer_org": "LY-XL-0042", "plan": "A", "members": [{}]}


@pytest.mark.parametrize("period", [0, 10_000, 2**64])
def test_period_outside_the_range_refused(period):
    with pytest.raises(ApiError) as caught:
        validated(EnrollmentRequestSchema(), enrolment(period))
    assert caught.value.status == 400
    assert list(caught.value.fields) == ["period"]


@pytest.mark.parametrize("employer", ["LY-ZZ", "LY-ZZ-0042"])
def test_an_employer_outside_the_org_tree_is_refused_naming_the_field(employer):
    with pytest.raises(ApiError) as caught:
        validated(EnrollmentRequestSchema(), {**enrolment(11), "employer_org": employer})
    assert caught.value.status == 400
    assert list(caught.value.fields) == ["employer_org"]


def test_enrolment_rows_are_loaded_as_sent_and_checked_later():
    rows = [{"id_number": "not checked here"}, {}]
    data = validated(EnrollmentRequestSchema(), {**enrolment(11), "members": rows})
    assert data["members"] == rows


def test_enrolment_row_that_is_not_an_object_refused():
    with pytest.raises(ApiError) as caught:
        validated(EnrollmentRequestSchema(), {**enrolment(11), "members": ["x"]})
    assert list(caught.value.fields) == ["members"]
