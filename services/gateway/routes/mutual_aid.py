"""Mutual-aid endpoints: discharge bills from hospitals; enrolments, claims, reviews, payouts,
policy versions and figures from staff."""

from __future__ import annotations

from nameko.rpc import RpcProxy
from werkzeug.wrappers import Response

from services.gateway.edge import Edge
from services.gateway.http import api, json_response, read_json
from shared.auth import mint_partner_assertion
from shared.contracts.mutual_aid import (
    PERIODS,
    BillAcceptedSchema,
    ClaimSchema,
    ContributionsSchema,
    DischargeBillSchema,
    EnrollmentRequestSchema,
    EnrollmentResultSchema,
    MutualAidAuditSchema,
    PayoutBatchRequestSchema,
    PayoutBatchSchema,
    PeriodStatsSchema,
    PolicyUploadSchema,
    PolicyVersionSchema,
    PolicyVersionsSchema,
    ReviewQueueSchema,
    ReviewRequestSchema,
)

PERIOD = f"<int(min={PERIODS.min}, max={PERIODS.max}):period>"  # out of range: no such route


class MutualAidRoutes(Edge):
    mutual_aid = RpcProxy("mutual_aid")

    @api(
        "POST",
        "/api/v1/hospitals/<hospital_code>/discharge-bills",
        auth="webhook",
        summary="A partner hospital pushes a signed discharge bill.",
        request=DischargeBillSchema,
        responses={
            202: BillAcceptedSchema,
            200: BillAcceptedSchema,
            422: "hospital_level_mismatch: the bill states another level than the registered one",
        },
    )
    def discharge_bill(self, request, hospital_code):
        partner, webhook_id = self._partner(request, hospital_code, "hospital")
        body = read_json(request)
        # mutual_aid validates the body (its 400 naming the fields comes back over RPC) against
        # the hospital as we registered it (its level is ours, not the bill's), and records the
        # webhook id with the claim, so a replay gets the first answer.
        registered = {"code": hospital_code, "kind": partner["kind"], "level": partner["level"]}
        assertion = mint_partner_assertion(registered, self.settings)
        result = self._call("mutual_aid", "submit_bill", assertion, webhook_id, body)
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
        "GET",
        f"/api/v1/mutual-aid/periods/{PERIOD}/contributions",
        summary="Members and contributions per employer in a period.",
        responses={200: ContributionsSchema},
    )
    def contributions(self, request, period):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "contributions", principal, period))

    @api(
        "GET",
        "/api/v1/mutual-aid/review-queue",
        summary="Claims awaiting review in the reviewer's org scope, oldest first.",
        responses={200: ReviewQueueSchema},
    )
    def review_queue(self, request):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "review_queue", principal))

    @api(
        "POST",
        "/api/v1/mutual-aid/claims/<claim_id>/reviews",
        summary="Approve (possibly lowering the amount) or reject a claim awaiting review.",
        request=ReviewRequestSchema,
        responses={200: ClaimSchema},
    )
    def review(self, request, claim_id):
        principal = self._staff(request)
        result = self._call("mutual_aid", "review", principal, claim_id, read_json(request))
        return json_response(200, result)

    @api(
        "GET",
        "/api/v1/mutual-aid/claims/<claim_id>/audit",
        summary="The append-only audit log of a claim's reviews.",
        responses={200: MutualAidAuditSchema},
    )
    def claim_audit(self, request, claim_id):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "audit_log", principal, claim_id))

    @api(
        "POST",
        "/api/v1/mutual-aid/payout-batches",
        summary="The month's payout batch of every approved claim not yet in one.",
        request=PayoutBatchRequestSchema,
        responses={201: PayoutBatchSchema, 200: PayoutBatchSchema},
    )
    def payout_batch(self, request):
        principal = self._staff(request)
        result = self._call(
            "mutual_aid", "create_payout_batch", principal, read_json(request), timeout=60
        )
        status = 201 if result.pop("created") else 200
        return json_response(status, result)

    @api(
        "GET",
        "/api/v1/mutual-aid/payout-batches/<batch_id>/file",
        summary="The bank's CSV for a payout batch (masked member and account).",
        responses={200: "text/csv"},
    )
    def payout_file(self, request, batch_id):
        principal = self._staff(request)
        text = self._call("mutual_aid", "payout_file", principal, batch_id, timeout=60)
        return Response(
            text,
            status=200,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{batch_id}.csv"'},
        )

    @api(
        "GET",
        "/api/v1/mutual-aid/payout-batches/<batch_id>/audit",
        summary="The append-only audit log of a payout batch: file downloads, confirmation.",
        responses={200: MutualAidAuditSchema},
    )
    def payout_audit(self, request, batch_id):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "payout_audit", principal, batch_id))

    @api(
        "POST",
        "/api/v1/mutual-aid/payout-batches/<batch_id>/confirm",
        summary="Finance confirms the bank paid the batch: its claims become paid.",
        responses={200: PayoutBatchSchema},
    )
    def confirm_payout(self, request, batch_id):
        principal = self._staff(request)
        result = self._call("mutual_aid", "confirm_payout_batch", principal, batch_id, timeout=60)
        return json_response(200, result)

    @api(
        "GET",
        f"/api/v1/mutual-aid/periods/{PERIOD}/stats",
        summary="Person-times, approved and paid totals of a period, by plan and by county.",
        responses={200: PeriodStatsSchema},
    )
    def period_stats(self, request, period):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "period_stats", principal, period))

    @api(
        "GET",
        "/api/v1/mutual-aid/policies",
        summary="Every stored version of the mutual-aid policy.",
        responses={200: PolicyVersionsSchema},
    )
    def policies(self, request):
        principal = self._staff(request)
        return json_response(200, self._call("mutual_aid", "list_policies", principal))

    @api(
        "POST",
        "/api/v1/mutual-aid/policies",
        summary="Load a new policy version (TOML text); in force from its effective_from.",
        request=PolicyUploadSchema,
        responses={201: PolicyVersionSchema, 200: PolicyVersionSchema},
    )
    def load_policy(self, request):
        principal = self._staff(request)
        result = self._call("mutual_aid", "load_policy", principal, read_json(request))
        status = 201 if result.pop("created") else 200
        return json_response(status, result)
