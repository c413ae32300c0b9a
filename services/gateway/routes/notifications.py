"""Notification endpoints: a worker's inbox and who looked at it, contact points and
preferences, the delivery log, the figures; the city portal's inbox, read marks and phone
binding (signed by a registered city platform)."""

from __future__ import annotations

from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

from services.gateway.edge import Edge
from services.gateway.http import PARTNER_HEADER, api, json_response, read_json, read_query
from shared.auth import mint_partner_assertion
from shared.contracts.notifications import (
    CityContactsRequestSchema,
    ContactsRequestSchema,
    ContactsSchema,
    DeliveriesQuerySchema,
    DeliveriesSchema,
    InboxLookupsSchema,
    InboxQuerySchema,
    InboxSchema,
    StatsQuerySchema,
    StatsSchema,
)
from shared.errors import validated


def no_content() -> Response:
    return Response(status=204)


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
        summary="Deliveries about one business object, one per (event, recipient, channel), "
        "each with its status history.",
        query=DeliveriesQuerySchema,
        responses={200: DeliveriesSchema},
    )
    def deliveries(self, request):
        principal = self._staff(request)
        ref = read_query(request, DeliveriesQuerySchema)["ref"]
        return json_response(200, self._call("notifications", "deliveries", principal, ref))

    @api(
        "PUT",
        "/api/v1/notifications/contacts",
        summary="State a worker's contact points and channel preferences (a point null or "
        "left out is removed).",
        request=ContactsRequestSchema,
        responses={204: "set"},
    )
    def set_contacts(self, request):
        principal = self._staff(request)
        self._call("notifications", "set_contacts", principal, read_json(request))
        return no_content()

    @api(
        "POST",
        "/api/v1/notifications/contacts/query",
        summary="A worker's contact points, masked, and preferences (each lookup audited).",
        request=InboxQuerySchema,
        responses={200: ContactsSchema},
    )
    def contacts(self, request):
        principal = self._staff(request)
        result = self._call("notifications", "contacts", principal, read_json(request))
        return json_response(200, ContactsSchema().dump(result))

    @api(
        "GET",
        "/api/v1/notifications/stats",
        summary="Messages by event type, channel and status created in a date range, with "
        "failures and fallbacks (the caller's org subtree).",
        query=StatsQuerySchema,
        responses={200: StatsSchema},
    )
    def stats(self, request):
        principal = self._staff(request)
        read_query(request, StatsQuerySchema)  # a 400 here names the bad parameter
        query = {k: request.args[k] for k in ("from", "to")}
        return json_response(200, self._call("notifications", "stats", principal, query))

    # ---- the city portal ----------------------------------------------------------------

    def _platform_assertion(self, request) -> tuple[str, str]:
        partner, webhook_id = self._city_platform(request)
        registered = {"code": partner["_id"], "kind": partner["kind"], "level": None}
        return mint_partner_assertion(registered, self.settings), webhook_id

    @api(
        "POST",
        "/api/v1/city/contacts",
        auth="webhook",
        summary="A worker bound a phone (or WeChat) on the city portal, signed by a registered "
        f"city platform (optionally named in {PARTNER_HEADER}).",
        request=CityContactsRequestSchema,
        responses={204: "bound"},
    )
    def city_contacts(self, request):
        assertion, webhook_id = self._platform_assertion(request)
        self._call("notifications", "city_contacts", assertion, webhook_id, read_json(request))
        return no_content()

    @api(
        "POST",
        "/api/v1/city/inbox/query",
        auth="webhook",
        summary="The worker's own messages, newest first, for the city portal (signed).",
        request=InboxQuerySchema,
        responses={200: InboxSchema, 404: "no message for this worker"},
    )
    def city_inbox(self, request):
        assertion, _ = self._platform_assertion(request)
        return json_response(
            200, self._call("notifications", "city_inbox", assertion, read_json(request))
        )

    @api(
        "POST",
        "/api/v1/city/inbox/<message_id>/read",
        auth="webhook",
        summary="The worker read one of their messages (signed); another worker's is a 404.",
        request=InboxQuerySchema,
        responses={204: "marked read", 404: "no such message in this worker's inbox"},
    )
    def city_read(self, request, message_id):
        assertion, _ = self._platform_assertion(request)
        self._call("notifications", "city_read", assertion, message_id, read_json(request))
        return no_content()
