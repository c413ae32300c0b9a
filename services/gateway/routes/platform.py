"""Platform endpoints: liveness, health, the OpenAPI document, partner registration and
re-registration of a hospital's level."""

from __future__ import annotations

from functools import lru_cache

from eventlet.greenpool import GreenPool

from services.gateway.edge import Edge
from services.gateway.http import api, json_response, read_json
from services.gateway.openapi import build_spec
from services.gateway.schemas import (
    AliveSchema,
    HealthSchema,
    PartnerAuditSchema,
    PartnerCreatedSchema,
    PartnerLevelSchema,
    PartnerRequestSchema,
    PartnerSchema,
)
from services.gateway.store import PartnerExists
from shared.errors import ApiError, not_found, validated
from shared.webhooks import generate_webhook_secret

HEALTH_TIMEOUT_SECONDS = 2.0


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return build_spec()


class PlatformRoutes(Edge):
    @api(
        "GET",
        "/alive",
        summary="The gateway process runs.",
        auth="none",
        responses={200: AliveSchema},
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

        services = dict(GreenPool(len(self.backends)).imap(probe, self.backends))
        healthy = all(state == "ok" for state in services.values())
        return json_response(
            200 if healthy else 503,
            {"status": "ok" if healthy else "unavailable", "services": services},
        )

    @api(
        "GET", "/openapi.json", summary="This document.", auth="none", responses={200: "OpenAPI 3"}
    )
    def openapi(self, request):
        return json_response(200, openapi_document())

    @api(
        "POST",
        "/api/v1/partners",
        summary="Register a partner hospital or city platform.",
        request=PartnerRequestSchema,
        responses={201: PartnerCreatedSchema, 409: "code taken"},
    )
    def create_partner(self, request):
        self._caller(request, "partners.register")
        data = validated(PartnerRequestSchema(), read_json(request))
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
        "PATCH",
        "/api/v1/partners/<code>",
        summary="Re-register a hospital at another level (audited); its secret is unchanged.",
        request=PartnerLevelSchema,
        responses={200: PartnerSchema, 404: "no such hospital"},
    )
    def reregister_partner(self, request, code):
        _, staff = self._caller(request, "partners.register")
        data = validated(PartnerLevelSchema(), read_json(request))
        before = self.store.set_partner_level(code, data["level"], staff.to_claims())
        if before is None:
            raise not_found("hospital")
        partner = {"code": code, "kind": before["kind"], "name": before["name"], **data}
        return json_response(200, PartnerSchema().dump(partner))

    @api(
        "GET",
        "/api/v1/partners/<code>/audit",
        summary="The audit log of a partner's re-registrations, oldest first.",
        responses={200: PartnerAuditSchema},
    )
    def partner_audit(self, request, code):
        self._caller(request, "partners.audit")
        entries = [
            {"id": e["_id"], **{k: v for k, v in e.items() if k != "_id"}}
            for e in self.store.audit_entries(code)
        ]
        return json_response(200, PartnerAuditSchema().dump({"entries": entries}))
