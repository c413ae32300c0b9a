"""Mutual-aid endpoints: discharge bills from hospitals, enrolments and claims from staff."""

from __future__ import annotations

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import api, json_response, read_json
from services.mutual_aid.schemas import (
    BillAcceptedSchema,
    ClaimSchema,
    DischargeBillSchema,
    EnrollmentRequestSchema,
    EnrollmentResultSchema,
)


class MutualAidRoutes(Edge):
    mutual_aid = RpcProxy("mutual_aid")

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
