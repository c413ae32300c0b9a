"""Operations endpoints: every service's dead letters, listed and replayed by a city admin."""

from __future__ import annotations

from services.gateway.edge import Edge
from services.gateway.http import api, json_response, read_query
from services.gateway.schemas import (
    DeadLetterReplayedSchema,
    DeadLettersQuerySchema,
    DeadLettersSchema,
    DeadLetterStatusQuerySchema,
)
from shared.errors import ApiError, not_found


class OperationsRoutes(Edge):
    """Every service in ``backends`` has the dead-letter RPCs of shared.dead_letters; its RPC
    proxy is declared by its own route mixin."""

    @api(
        "GET",
        "/api/v1/dead-letters",
        summary="Messages parked after their retries: ?service= one service (default every one),"
        " ?status=parked|replaying|replayed|all.",
        responses={200: DeadLettersSchema},
        query=DeadLettersQuerySchema,
    )
    def dead_letters(self, request):
        principal = self._staff(request)
        query = read_query(request, DeadLettersQuerySchema)
        services = (query["service"],) if "service" in query else self.backends
        return self._dead_letters(principal, services, query["status"])

    @api(
        "POST",
        "/api/v1/dead-letters/<service>/<dead_letter_id>/replay",
        summary="Send a service's parked message back to its handler (audited).",
        responses={200: DeadLetterReplayedSchema},
    )
    def replay_dead_letter(self, request, service, dead_letter_id):
        principal = self._staff(request)
        if service not in self.backends:
            raise not_found(f"service {service}")
        return self._replay(principal, service, dead_letter_id)

    # The notifications-only routes of the first release stay as aliases.

    @api(
        "GET",
        "/api/v1/notifications/dead-letters",
        summary="Notifications' parked messages (alias of /api/v1/dead-letters?service=).",
        responses={200: DeadLettersSchema},
        query=DeadLetterStatusQuerySchema,
    )
    def notification_dead_letters(self, request):
        principal = self._staff(request)
        query = read_query(request, DeadLetterStatusQuerySchema)
        return self._dead_letters(principal, ("notifications",), query["status"])

    @api(
        "POST",
        "/api/v1/notifications/dead-letters/<dead_letter_id>/replay",
        summary="Replay a notifications dead letter (alias).",
        responses={200: DeadLetterReplayedSchema},
    )
    def replay_notification_dead_letter(self, request, dead_letter_id):
        principal = self._staff(request)
        return self._replay(principal, "notifications", dead_letter_id)

    def _dead_letters(self, principal: str, services: tuple[str, ...], status: str):
        letters = [
            {**letter, "service": service}
            for service in services
            for letter in self._call(
                service, "list_dead_letters", principal, None if status == "all" else status
            )
        ]
        return json_response(200, {"dead_letters": letters})

    def _replay(self, principal: str, service: str, dead_letter_id: str):
        if not self._call(service, "replay_dead_letter", principal, dead_letter_id):
            raise ApiError(404, "not_found", "No parked dead letter with that id.")
        return json_response(200, {"id": dead_letter_id, "service": service, "status": "replayed"})
