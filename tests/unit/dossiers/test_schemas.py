"""The dossiers contract refuses at the edge what the rules could not work with."""

import pytest

from shared.contracts.dossiers import CondolenceBatchRequestSchema
from shared.errors import ApiError, validated


@pytest.mark.parametrize("festival", ["0000-spring", "1999-new_year", "2101-spring", "2019-autumn"])
def test_festival_outside_the_fund_years_refused(festival):
    with pytest.raises(ApiError) as caught:
        validated(CondolenceBatchRequestSchema(), {"festival": festival, "fund": "F1"})
    assert caught.value.status == 400
    assert list(caught.value.fields) == ["festival"]


@pytest.mark.parametrize("festival", ["2000-spring", "2019-new_year", "2100-spring"])
def test_festival_in_the_fund_years_accepted(festival):
    data = validated(CondolenceBatchRequestSchema(), {"festival": festival, "fund": "F1"})
    assert data["festival"] == festival
