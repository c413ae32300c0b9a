"""Mutual-aid endpoints: discharge bills from hospitals; enrolments, claims, reviews, payouts,
policy versions and figures from staff."""

from __future__ import annotations

import logging
import time

from nameko.rpc import RpcProxy

from services.gateway.edge import Edge
from services.gateway.http import api, csv_attachment, json_response, read_json
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
    check_hospital_level,
    sealed_bill,
    single_disease_error,
    submission_date,
    table_in_force,
)
from shared.crypto import vault_of
from shared.errors import ApiError, validated
from shared.events import make_event
from shared.providers import EventPublisher

log = logging.getLogger(__name__)

# mutual_aid's single-disease tables, kept per process (a new policy version is checked at
# intake within this time; adjudication always uses the version in force).
TABLES_CACHE_SECONDS = 30.0
TABLES_TIMEOUT_SECONDS = 1.0
_TABLES: dict = {"at": -TABLES_CACHE_SECONDS, "tables": []}

# The hot path's schema, built once (a marshmallow schema keeps no state between loads).
BILL_SCHEMA = DischargeBillSchema()

PERIOD = f"<int(min={PERIODS.min}, max={PERIODS.max}):period>"  # out of range: no such route


class MutualAidRoutes(Edge):
    mutual_aid = RpcProxy("mutual_aid")
    events = EventPublisher()

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
            503: "the broker did not confirm the bill: nothing was accepted, send it again",
        },
    )
    def discharge_bill(self, request, hospital_code):
        found, webhook_id = self._partner(request, hospital_code, "hospital")
        partner = {"code": hospital_code, "kind": found["kind"], "level": found["level"]}
        # Checked here against the contract and the hospital as we registered it (its level is
        # ours, not the bill's), then handed to mutual_aid through a durable queue: a valid bill
        # is accepted while mutual_aid or its store is down, as long as the broker is up
        # (README "Bills while mutual_aid is down"). Its claim id follows from (hospital, bill
        # number), so a repeat is answered the same id and mutual_aid inserts the claim once.
        data = validated(BILL_SCHEMA, read_json(request))
        check_hospital_level(partner, data["hospital_level"])
        self._check_single_disease(partner, data["single_disease_code"], data["discharge_date"])
        submitted_on = submission_date(
            data["submitted_on"], data["discharge_date"], self.settings.allow_backdated_input
        )
        payload = sealed_bill(vault_of(self.settings), partner, webhook_id, data, submitted_on)
        event = make_event(
            "bill_submitted", payload, producer="gateway", correlation_id=self.correlation_id
        )
        try:
            self.events.publish(event)
        except Exception as exc:  # noqa: BLE001 - not confirmed by the broker: not accepted
            log.warning(
                "discharge bill not confirmed by the broker",
                extra={"claim_id": payload["claim_id"], "error": repr(exc)},
            )
            raise ApiError(
                503, "service_unavailable", "The bill could not be queued; send it again."
            ) from None
        return json_response(202, {"claim_id": payload["claim_id"], "status": "received"})

    def _check_single_disease(self, partner: dict, code: str | None, discharge_date) -> None:
        """A billed single-disease group must be in the table of the policy in force on the
        discharge date (a 400 now rather than a claim that cannot use it). The tables are
        mutual_aid's, kept here a while; with mutual_aid unreachable and none kept yet, the bill
        goes on and adjudication traces the group as not in the table (the formula applies)."""
        if not code:
            return
        table = table_in_force(self._single_disease_tables(partner), discharge_date)
        # Matched by ICD-10 category (the schema let only a well-formed code through).
        if table is not None and code.split(".", 1)[0] not in table["codes"]:
            raise single_disease_error(code, table["version"], table["codes"])

    def _single_disease_tables(self, partner: dict) -> list[dict]:
        now = time.monotonic()
        if now - _TABLES["at"] < TABLES_CACHE_SECONDS:
            return _TABLES["tables"]
        try:
            tables = self._call(
                "mutual_aid",
                "single_disease_tables",
                mint_partner_assertion(partner, self.settings),
                timeout=TABLES_TIMEOUT_SECONDS,
            )["tables"]
        except ApiError:
            # mutual_aid is down: keep what we had (or nothing) and ask again only later, so a
            # bill never waits for it more than once per TABLES_CACHE_SECONDS.
            tables = _TABLES["tables"]
        _TABLES.update(at=now, tables=tables)
        return tables

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
        return csv_attachment(text, f"{batch_id}.csv")

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
