"""Student-aid endpoints (金秋助学): campaigns and applications from staff, applications from the
city portal (a signed city platform)."""

from __future__ import annotations

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import PARTNER_HEADER, api, json_response, read_json
from shared.auth import mint_partner_assertion
from shared.contracts.student_aid import (
    YEARS,
    AidApplicationRequestSchema,
    AidApplicationSchema,
    AidCampaignBudgetSchema,
    AidCampaignRequestSchema,
    AidCampaignSchema,
)

YEAR = f"<int(min={YEARS.min}, max={YEARS.max}):year>"  # out of range: no such route


class StudentAidRoutes(Edge):
    student_aid = RpcProxy("student_aid")

    @api(
        "POST",
        "/api/v1/student-aid/campaigns",
        summary="Open a year's campaign: its window, budget and the policy's amount table.",
        request=AidCampaignRequestSchema,
        responses={201: AidCampaignSchema, 409: "the year has a campaign"},
    )
    def open_aid_campaign(self, request):
        principal = self._staff(request)
        result = self._call("student_aid", "open_campaign", principal, read_json(request))
        return json_response(201, result)

    @api(
        "GET",
        f"/api/v1/student-aid/campaigns/{YEAR}",
        summary="A campaign: window, budget, amount table and policy version.",
        responses={200: AidCampaignSchema},
    )
    def get_aid_campaign(self, request, year):
        principal = self._staff(request)
        return json_response(200, self._call("student_aid", "get_campaign", principal, year))

    @api(
        "PATCH",
        f"/api/v1/student-aid/campaigns/{YEAR}",
        summary="Raise a campaign's budget.",
        request=AidCampaignBudgetSchema,
        responses={200: AidCampaignSchema, 422: "a lower budget"},
    )
    def set_aid_budget(self, request, year):
        principal = self._staff(request)
        result = self._call("student_aid", "set_budget", principal, year, read_json(request))
        return json_response(200, result)

    @api(
        "POST",
        "/api/v1/student-aid/applications",
        summary="An application taken by county or grassroots staff, decided at once.",
        request=AidApplicationRequestSchema,
        responses={
            201: AidApplicationSchema,
            409: "the student applied in this campaign already",
            422: "outside_window: dated outside the campaign's window",
        },
    )
    def submit_aid_application(self, request):
        principal = self._staff(request)
        result = self._call("student_aid", "submit_application", principal, read_json(request))
        return json_response(201, result)

    @api(
        "POST",
        "/api/v1/city/student-aid-applications",
        auth="webhook",
        summary=f"An application from the city portal, signed by a city platform named in "
        f"{PARTNER_HEADER}; decided at once.",
        request=AidApplicationRequestSchema,
        responses={
            201: AidApplicationSchema,
            409: "the student applied in this campaign already",
            422: "outside_window: received outside the campaign's window",
        },
    )
    def portal_application(self, request):
        code = request.headers.get(PARTNER_HEADER, "")
        partner, webhook_id = self._partner(request, code, "city_platform")
        registered = {"code": code, "kind": partner["kind"], "level": partner.get("level")}
        assertion = mint_partner_assertion(registered, self.settings)
        # student_aid validates the body and records the webhook id with the application, so a
        # replay gets the first answer.
        result = self._call(
            "student_aid", "submit_portal_application", assertion, webhook_id, read_json(request)
        )
        return json_response(201, result)

    @api(
        "GET",
        "/api/v1/student-aid/applications/<application_id>",
        summary="An application with its eligibility trace (404 outside the caller's org scope).",
        responses={200: AidApplicationSchema},
    )
    def get_aid_application(self, request, application_id):
        principal = self._staff(request)
        result = self._call("student_aid", "get_application", principal, application_id)
        return json_response(200, result)
