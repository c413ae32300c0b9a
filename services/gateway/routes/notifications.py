"""Notification endpoints: a worker's inbox and who looked at it, the delivery log."""

from __future__ import annotations

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import api, json_response, read_json, read_query
from shared.contracts.notifications import (
    DeliveriesQuerySchema,
    DeliveriesSchema,
    InboxLookupsSchema,
    InboxQuerySchema,
    InboxSchema,
)
from shared.errors import validated


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
