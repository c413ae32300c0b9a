"""Student-aid endpoints (金秋助学): campaigns and applications from staff, applications from the
city portal (a signed city platform)."""

from __future__ import annotations

import csv
import io

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import PARTNER_HEADER, api, csv_attachment, json_response, read_json
from shared.auth import mint_partner_assertion
from shared.contracts.student_aid import (
    YEARS,
    AidApplicationRequestSchema,
    AidApplicationSchema,
    AidApprovalsSchema,
    AidAuditSchema,
    AidCampaignBudgetSchema,
    AidCampaignRequestSchema,
    AidCampaignSchema,
    AidDisbursementRequestSchema,
    AidDisbursementSchema,
    AidNoticeEntrySchema,
    AidNoticeRequestSchema,
    AidNoticeSchema,
    AidObjectionDecisionRequestSchema,
    AidObjectionRequestSchema,
    AidObjectionSchema,
    AidPublicNoticeSchema,
    AidStatsSchema,
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
        summary="An application from the city portal, signed by a registered city platform "
        f"(optionally named in {PARTNER_HEADER}); decided at once.",
        request=AidApplicationRequestSchema,
        responses={
            201: AidApplicationSchema,
            409: "the student applied in this campaign already",
            422: "outside_window: received outside the campaign's window",
        },
    )
    def portal_application(self, request):
        partner, webhook_id = self._city_platform(request)
        registered = {
            "code": partner["_id"],
            "kind": partner["kind"],
            "level": partner.get("level"),
        }
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

    @api(
        "POST",
        f"/api/v1/student-aid/campaigns/{YEAR}/approvals",
        summary="Approve the eligible applications in priority order within the budget; the "
        "rest are waitlisted. Running it again changes nothing until the budget grows.",
        responses={200: AidApprovalsSchema},
    )
    def run_approvals(self, request, year):
        principal = self._staff(request)
        result = self._call("student_aid", "run_approvals", principal, year, timeout=60)
        return json_response(200, result)

    @api(
        "POST",
        f"/api/v1/student-aid/campaigns/{YEAR}/notice",
        summary="Publish the campaign's public notice (公示): 5 working days of the official "
        "calendar.",
        request=AidNoticeRequestSchema,
        responses={201: AidNoticeSchema, 409: "published already, or approvals not run"},
    )
    def publish_notice(self, request, year):
        principal = self._staff(request)
        result = self._call("student_aid", "publish_notice", principal, year, read_json(request))
        return json_response(201, result)

    @api(
        "GET",
        f"/api/v1/student-aid/campaigns/{YEAR}/notice",
        auth="none",
        summary="The public notice, without a token: masked name, school, level and amount; "
        "Accept: text/csv for CSV.",
        responses={200: AidPublicNoticeSchema, 404: "no notice published for that year"},
    )
    def public_notice(self, request, year):
        notice = self._call("student_aid", "public_notice", year)
        if request.accept_mimetypes.best_match(["application/json", "text/csv"]) != "text/csv":
            return json_response(200, notice)
        out = io.StringIO()
        columns = list(AidNoticeEntrySchema().fields)
        writer = csv.DictWriter(out, columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(notice["entries"])
        return csv_attachment(out.getvalue(), f"notice-{year}.csv")

    @api(
        "POST",
        "/api/v1/student-aid/applications/<application_id>/objections",
        summary="An objection received during the notice: the award goes back to review.",
        request=AidObjectionRequestSchema,
        responses={201: AidObjectionSchema, 409: "not an approved award"},
    )
    def record_objection(self, request, application_id):
        principal = self._staff(request)
        result = self._call(
            "student_aid", "record_objection", principal, application_id, read_json(request)
        )
        return json_response(201, result)

    @api(
        "POST",
        "/api/v1/student-aid/applications/<application_id>/objections/<objection_id>/decision",
        summary="Decide an objection: upheld rejects the award (its amount is freed for the next "
        "run of the approvals), else the award stands.",
        request=AidObjectionDecisionRequestSchema,
        responses={200: AidObjectionSchema, 409: "decided already"},
    )
    def decide_objection(self, request, application_id, objection_id):
        principal = self._staff(request)
        result = self._call(
            "student_aid",
            "decide_objection",
            principal,
            application_id,
            objection_id,
            read_json(request),
        )
        return json_response(200, result)

    @api(
        "POST",
        f"/api/v1/student-aid/campaigns/{YEAR}/disbursements",
        summary="The campaign's one disbursement batch of its approved awards, after the notice.",
        request=AidDisbursementRequestSchema,
        responses={
            201: AidDisbursementSchema,
            200: AidDisbursementSchema,
            422: "notice_not_ended: on or before the notice's last day",
        },
    )
    def create_disbursement(self, request, year):
        principal = self._staff(request)
        result = self._call(
            "student_aid", "create_disbursement", principal, year, read_json(request), timeout=60
        )
        status = 201 if result.pop("created") else 200
        return json_response(status, result)

    @api(
        "GET",
        "/api/v1/student-aid/disbursements/<batch_id>/file",
        summary="The bank's CSV for a disbursement batch (masked); every download is audited.",
        responses={200: "text/csv"},
    )
    def disbursement_file(self, request, batch_id):
        principal = self._staff(request)
        text = self._call("student_aid", "disbursement_file", principal, batch_id, timeout=60)
        return csv_attachment(text, f"{batch_id}.csv")

    @api(
        "POST",
        "/api/v1/student-aid/disbursements/<batch_id>/confirm",
        summary="Another finance user confirms the bank paid the batch: its awards are paid.",
        responses={200: AidDisbursementSchema},
    )
    def confirm_disbursement(self, request, batch_id):
        principal = self._staff(request)
        result = self._call("student_aid", "confirm_disbursement", principal, batch_id, timeout=60)
        return json_response(200, result)

    @api(
        "GET",
        f"/api/v1/student-aid/campaigns/{YEAR}/stats",
        summary="A campaign's figures, by county, level and eligibility path, in yuan.",
        responses={200: AidStatsSchema},
    )
    def campaign_stats(self, request, year):
        principal = self._staff(request)
        return json_response(200, self._call("student_aid", "campaign_stats", principal, year))

    @api(
        "GET",
        f"/api/v1/student-aid/campaigns/{YEAR}/audit",
        summary="The campaign's append-only audit log: approvals, objections, the disbursement "
        "batch, its file downloads and confirmation.",
        responses={200: AidAuditSchema},
    )
    def campaign_audit(self, request, year):
        principal = self._staff(request)
        return json_response(200, self._call("student_aid", "audit_log", principal, year))
