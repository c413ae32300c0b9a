"""Notification endpoints: a worker's inbox and who looked at it, the delivery log, dead letters."""

from __future__ import annotations

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import api, json_response, read_json, read_query
from services.gateway.schemas import (
    DeadLettersSchema,
    DeliveriesQuerySchema,
    DeliveriesSchema,
    InboxLookupsSchema,
    InboxQuerySchema,
    InboxSchema,
)
from shared.errors import ApiError, validated

DEAD_LETTER_ROLES = ("city_admin",)


class NotificationRoutes(Edge):
    notifications = RpcProxy("notifications")

    @api(
        "POST",
        "/api/v1/notifications/inbox/query",
        summary="A worker's inbox, newest first.",
        request=InboxQuerySchema,
        responses={200: InboxSchema},
    )
    def inbox(self, request):
        principal = self._staff(request)
        body = validated(InboxQuerySchema(), read_json(request))
        return json_response(
            200, self._call("notifications", "inbox", principal, body["id_number"])
        )

    @api(
        "POST",
        "/api/v1/notifications/inbox/lookups/query",
        summary="The audit log of lookups of a worker's inbox (auditor, city_admin).",
        request=InboxQuerySchema,
        responses={200: InboxLookupsSchema},
    )
    def inbox_lookups(self, request):
        principal = self._staff(request)
        body = validated(InboxQuerySchema(), read_json(request))
        return json_response(
            200, self._call("notifications", "inbox_lookups", principal, body["id_number"])
        )

    @api(
        "GET",
        "/api/v1/notifications/deliveries",
        summary="Deliveries about one business object.",
        query=DeliveriesQuerySchema,
        responses={200: DeliveriesSchema},
    )
    def deliveries(self, request):
        principal = self._staff(request)
        ref = read_query(request, DeliveriesQuerySchema)["ref"]
        return json_response(200, self._call("notifications", "deliveries", principal, ref))

    @api(
        "GET",
        "/api/v1/notifications/dead-letters",
        summary="Messages parked after their retries.",
        responses={200: DeadLettersSchema},
    )
    def dead_letters(self, request):
        self._staff(request, roles=DEAD_LETTER_ROLES)
        status = request.args.get("status", "parked")
        letters = self._call(
            "notifications", "list_dead_letters", None if status == "all" else status
        )
        return json_response(200, {"dead_letters": letters})

    @api(
        "POST",
        "/api/v1/notifications/dead-letters/<dead_letter_id>/replay",
        summary="Send a parked message back to its handler.",
        responses={200: "replayed"},
    )
    def replay_dead_letter(self, request, dead_letter_id):
        self._staff(request, roles=DEAD_LETTER_ROLES)
        if not self._call("notifications", "replay_dead_letter", dead_letter_id):
            raise ApiError(404, "not_found", "No parked dead letter with that id.")
        return json_response(200, {"id": dead_letter_id, "status": "replayed"})
