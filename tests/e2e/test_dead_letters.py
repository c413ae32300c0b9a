"""Every service's dead letters through the gateway: listed and replayed by a city admin only,
audited, an unknown service named; the notifications-only routes stay as aliases."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from kombu import Connection

from shared.events import make_event
from shared.publisher import exchange_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

DEAD_LETTERS = "/api/v1/dead-letters"


def park_in_mutual_aid(amqp_uri: str) -> str:
    """A valid dossier event carrying a forged nameko header, as anyone on the broker could
    send: mutual_aid parks it as poison. Returns its event id."""
    event = make_event(
        "dossier_established",
        {
            "dossier_id": uuid.uuid4().hex,
            "head_id_hash": uuid.uuid4().hex,
            "county": "LY-XL",
            "revision": 2,
            "tier": "local",
            "org": "LY-XL-0042",
            "established_on": date(2018, 3, 2),
        },
        producer="dossiers",
        correlation_id=f"e2e-{uuid.uuid4().hex}",
    )
    with Connection(amqp_uri) as connection:
        connection.Producer(serializer="json").publish(
            event.to_dict(),
            exchange=exchange_for("dossiers"),
            routing_key="dossier_established",
            headers={"nameko.call_id_stack": "forged"},
        )
    return event.event_id


def test_any_services_dead_letters_are_listed_and_replayed_through_the_gateway(gateway, stack):
    event_id = park_in_mutual_aid(stack.env["AMQP_URI"])

    def parked():
        response = gateway.staff("GET", DEAD_LETTERS, params={"service": "mutual_aid"})
        assert response.status_code == 200, response.text
        return [d for d in response.json()["dead_letters"] if d["event_id"] == event_id]

    letters = wait_until(parked, what=f"event {event_id} parked in mutual_aid")
    assert [(d["service"], d["attempts"]) for d in letters] == [("mutual_aid", 1)]
    assert "foreign header 'nameko.call_id_stack'" in letters[0]["error"]
    everyone = gateway.staff("GET", DEAD_LETTERS).json()["dead_letters"]
    # Every service that consumes the event parks its own copy (student_aid reads dossier
    # events too); each is listed under its service.
    assert "mutual_aid" in [d["service"] for d in everyone if d["event_id"] == event_id]

    replay = gateway.staff("POST", f"{DEAD_LETTERS}/mutual_aid/{letters[0]['id']}/replay")
    assert replay.status_code == 200, replay.text
    assert replay.json() == {"id": letters[0]["id"], "service": "mutual_aid", "status": "replayed"}
    again = gateway.staff("POST", f"{DEAD_LETTERS}/mutual_aid/{letters[0]['id']}/replay")
    assert again.status_code == 404

    history = gateway.staff("GET", DEAD_LETTERS, params={"service": "mutual_aid", "status": "all"})
    replayed = [d for d in history.json()["dead_letters"] if d["id"] == letters[0]["id"]]
    assert [(d["status"], d["replayed_by"]) for d in replayed] == [("replayed", "test-city_admin")]


@pytest.mark.parametrize("role", ["auditor", "reviewer", "finance", "county_staff"])
def test_dead_letters_need_a_city_admin(gateway, role):
    org = "LY-XL" if role == "county_staff" else "LY"

    listed = gateway.staff("GET", DEAD_LETTERS, params={"service": "dossiers"}, role=role, org=org)
    replay = gateway.staff("POST", f"{DEAD_LETTERS}/dossiers/x/replay", role=role, org=org)

    assert (listed.status_code, replay.status_code) == (403, 403)


def test_dead_letters_of_an_unknown_service_are_refused_naming_it(gateway):
    listed = gateway.staff("GET", DEAD_LETTERS, params={"service": "payroll"})
    replay = gateway.staff("POST", f"{DEAD_LETTERS}/payroll/x/replay")

    assert listed.status_code == 400
    assert "service" in listed.json()["error"]["fields"]
    assert replay.status_code == 404


def test_notifications_dead_letter_routes_stay_as_aliases(gateway):
    listed = gateway.staff("GET", "/api/v1/notifications/dead-letters")
    replay = gateway.staff("POST", "/api/v1/notifications/dead-letters/unknown-id/replay")

    assert listed.status_code == 200
    assert all(d["service"] == "notifications" for d in listed.json()["dead_letters"])
    assert replay.status_code == 404
