"""The mutual-aid contract refuses at the edge what the store could not hold."""

import pytest

from services.mutual_aid.schemas import EnrollmentRequestSchema
from shared.errors import ApiError, validated


def enrolment(period):
    return {"period": period, "employer_org": "LY-XL-0042", "plan": "A", "members": [{}]}


@pytest.mark.parametrize("period", [0, 10_000, 2**64])
def test_period_outside_the_range_refused(period):
    with pytest.raises(ApiError) as caught:
        validated(EnrollmentRequestSchema(), enrolment(period))
    assert caught.value.status == 400
    assert list(caught.value.fields) == ["period"]
