"""The partners of the year: every hospital of the city and the city platform, registered by a
city admin on the year's first day, before anything they sign (priority 0, wave 0).

Each answer's secret is saved as ``secret:<code>``, which the engine signs that partner's
webhooks with. The platform shows a secret once (the 201) and answers 409 to a second
registration, so the secret lives only in the replay's state: a replay whose state is lost
must start over on a fresh platform (the engine says so when it meets the 409)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from scripts.replay.city import CITY_PLATFORM, HOSPITALS, YEAR, City
from scripts.replay.model import Api, Chart, Figure, Staff, Step

REGISTERED_ON = date(YEAR, 1, 1)
CITY_ADMIN = Staff("city_admin")


class Partners:
    name = "partners"
    priority = 0

    def steps(self, city: City, scale: float) -> Iterator[Step]:
        """One registration per partner; the same at every scale (a hospital is not sampled)."""
        for code, (name, level, _county) in HOSPITALS.items():
            body = {"code": code, "kind": "hospital", "name": name, "level": level}
            yield self._register(code, body)
        code, name = CITY_PLATFORM
        yield self._register(code, {"code": code, "kind": "city_platform", "name": name})

    @staticmethod
    def _register(code: str, body: dict) -> Step:
        return Step(
            on=REGISTERED_ON,
            key=f"partners:{code}",
            actor=CITY_ADMIN,
            method="POST",
            path="/api/v1/partners",
            body=body,
            expect=(201,),
            save={f"secret:{code}": "secret"},
        )

    def figures(self, scale: float) -> list[Figure]:
        return []

    def actual(self, api: Api) -> dict[str, int | str]:
        return {}

    def charts(self, api: Api) -> list[Chart]:
        return []


SCENARIO = Partners()
