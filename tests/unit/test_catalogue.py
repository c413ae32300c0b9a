"""The event catalogue: versioned, one registration per (type, version), no PII fields."""

import pytest

from shared.catalogue import CATALOGUE, Payload, register

FORBIDDEN_FIELDS = {
    "id_number",
    "patient_id_number",
    "head_id_number",
    "diagnoses",
    "name",
    "phone",
}


def test_registering_a_type_and_version_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register("claim_decided", 1)(Payload)


@pytest.mark.parametrize("key", sorted(CATALOGUE), ids=lambda k: f"{k[0]}-v{k[1]}")
def test_no_event_carries_a_clear_id_number_diagnosis_or_name(key):
    assert not FORBIDDEN_FIELDS & set(CATALOGUE[key]().fields)
