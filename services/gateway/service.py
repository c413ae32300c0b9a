"""The gateway nameko service: the HTTP edge of API.md, verifying callers and relaying by RPC."""

from __future__ import annotations

import logging
from functools import cached_property

import eventlet
from eventlet.greenpool import GreenPool
from nameko.exceptions import UnknownService
from nameko.rpc import RpcProxy

from services.gateway.http import api, json_response, read_json
from services.gateway.openapi import build_spec
from services.gateway.schemas import (
    DeadLettersSchema,
    DeliveriesSchema,
    HealthSchema,
    InboxQuerySchema,
    InboxSchema,
    PartnerCreatedSchema,
    PartnerRequestSchema,
)
from services.gateway.store import GatewayStore, PartnerExists
from services.mutual_aid.schemas import (
    BillAcceptedSchema,
    ClaimSchema,
    DischargeBillSchema,
    EnrollmentRequestSchema,
    EnrollmentResultSchema,
)
from shared.auth import AuthError, StaffPrincipal, bearer_token, decode_staff_token
from shared.errors import ApiError, validation_error
from shared.messaging import Correlation, Store
from shared.webhooks import WebhookVerificationError, generate_webhook_secret, verify_webhook

log = logging.getLogger(__name__)

BACKENDS = ("mutual_aid", "notifications")
HEALTH_TIMEOUT_SECONDS = 2.0
DEAD_LETTER_ROLES = ("city_admin",)


class GatewayService:
    name = "gateway"

    store: GatewayStore = Store(GatewayStore)
    correlation_id = Correlation()
    mutual_aid = RpcProxy("mutual_aid")
    notifications = RpcProxy("notifications")

    # ---- plumbing --------------------------------------------------------------------------

    def _call(self, service: str, method: str, *args, timeout: float | None = None):
        """An RPC call with a deadline: a service that is down or slow is a 503, never a hang."""
        seconds = timeout or self.store.settings.rpc_timeout_seconds
        try:
            with eventlet.Timeout(seconds):
                return getattr(getattr(self, service), method)(*args)
        except eventlet.Timeout:
            raise ApiError(
                503, "service_unavailable", f"{service} did not answer in {seconds:g} s."
            ) from None
        except UnknownService:
            raise ApiError(503, "service_unavailable", f"{service} is not running.") from None

    def _staff(self, request, roles: tuple[str, ...] | None = None) -> dict:
        try:
            principal: StaffPrincipal = decode_staff_token(
                bearer_token(request.headers.get("Authorization")),
                self.store.settings.staff_jwt_secret,
            )
        except AuthError as exc:
            raise ApiError(401, "unauthorized", str(exc)) from None
        if roles and principal.role not in roles:
            raise ApiError(403, "forbidden", f"This needs the role {' or '.join(roles)}.")
        return principal.to_claims()

    def _partner(self, request, code: str, kind: str) -> tuple[dict, str]:
        partner = self.store.partner(code)
        if partner is None or partner["kind"] != kind:
            raise ApiError(
                401, "unauthorized", f"{code} is not a registered {kind.replace('_', ' ')}."
            )
        try:
            webhook_id = verify_webhook(
                partner["secret"], request.headers, request.get_data(cache=True)
            )
        except WebhookVerificationError as exc:
            raise ApiError(401, "invalid_signature", f"Webhook rejected: {exc.reason}.") from None
        return partner, webhook_id

    @cached_property
    def _openapi(self) -> dict:
        return build_spec()

    # ---- operations ------------------------------------------------------------------------

    @api(
        "GET", "/alive", summary="The gateway process runs.", auth="none", responses={200: "alive"}
    )
    def alive(self, request):
        return json_response(200, {"status": "alive"})

    @api(
        "GET",
        "/health",
        summary="Every service answers.",
        auth="none",
        responses={200: HealthSchema, 503: HealthSchema},
    )
    def health(self, request):
        def probe(service: str) -> tuple[str, str]:
            try:
                self._call(service, "ping", timeout=HEALTH_TIMEOUT_SECONDS)
                return service, "ok"
            except ApiError:
                return service, "unavailable"

        services = dict(GreenPool(len(BACKENDS)).imap(probe, BACKENDS))
        healthy = all(state == "ok" for state in services.values())
        return json_response(
            200 if healthy else 503,
            {"status": "ok" if healthy else "unavailable", "services": services},
        )

    @api(
        "GET", "/openapi.json", summary="This document.", auth="none", responses={200: "OpenAPI 3"}
    )
    def openapi(self, request):
        return json_response(200, self._openapi)

    @api(
        "POST",
        "/api/v1/partners",
        summary="Register a partner hospital or city platform.",
        request=PartnerRequestSchema,
        responses={201: PartnerCreatedSchema, 409: "code taken"},
    )
    def create_partner(self, request):
        self._staff(request, roles=("city_admin",))
        errors = PartnerRequestSchema().validate(body := read_json(request))
        if errors:
            raise validation_error(errors)
        data = PartnerRequestSchema().load(body)
        secret = generate_webhook_secret()
        try:
            self.store.add_partner(secret=secret, **data)
        except PartnerExists:
            raise ApiError(
                409,
                "conflict",
                f"Partner {data['code']} already exists.",
                {"code": ["already registered"]},
            ) from None
        return json_response(201, {"code": data["code"], "secret": secret})

    @api(
        "POST",
        "/api/v1/hospitals/<hospital_code>/discharge-bills",
        auth="webhook",
        summary="A partner hospital pushes a signed discharge bill.",
        request=DischargeBillSchema,
        responses={202: BillAcceptedSchema, 200: BillAcceptedSchema},
    )
    def discharge_bill(self, request, hospital_code):
        _, webhook_id = self._partner(request, hospital_code, "hospital")
        body = read_json(request)
        # mutual_aid validates the body (its 400 naming the fields comes back over RPC) and
        # records the webhook id with the claim, so a replay gets the first answer.
        result = self._call("mutual_aid", "submit_bill", hospital_code, webhook_id, body)
        status = 202 if result["created"] else 200
        return json_response(status, {"claim_id": result["claim_id"], "status": result["status"]})

    @api(
        "GET",
        "/api/v1/mutual-aid/claims/<claim_id>",
        summary="A claim with its decision trace.",
        responses={200: ClaimSchema},
    )
    def get_claim(self, request, claim_id):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "get_claim", principal, claim_id))

    @api(
        "POST",
        "/api/v1/mutual-aid/enrollments",
        summary="Enrol an employer's members in a period.",
        request=EnrollmentRequestSchema,
        responses={201: EnrollmentResultSchema},
    )
    def enroll(self, request):
        principal = self._staff(request)
        return json_response(201, self._call("mutual_aid", "enroll", principal, read_json(request)))

    @api(
        "POST",
        "/api/v1/notifications/inbox/query",
        summary="A worker's inbox, newest first.",
        request=InboxQuerySchema,
        responses={200: InboxSchema},
    )
    def inbox(self, request):
        self._staff(request)
        body = read_json(request)
        errors = InboxQuerySchema().validate(body)
        if errors:
            raise validation_error(errors)
        return json_response(200, self._call("notifications", "inbox", body["id_number"]))

    @api(
        "GET",
        "/api/v1/notifications/deliveries",
        summary="Deliveries about one business object.",
        responses={200: DeliveriesSchema},
    )
    def deliveries(self, request):
        self._staff(request)
        ref = request.args.get("ref")
        if not ref:
            raise validation_error({"ref": ["required"]})
        return json_response(200, self._call("notifications", "deliveries", ref))

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
