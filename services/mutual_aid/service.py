"""The mutual_aid nameko service: enrolment, bills, adjudication, review, payouts, figures."""

from __future__ import annotations

import logging

from services.mutual_aid.application.bills import accept_bill
from services.mutual_aid.application.claims import decide_claim, decide_submitted_bill
from services.mutual_aid.application.enrolment import (
    audit_backdated_enrolment,
    enroll_rows,
    window_error,
)
from services.mutual_aid.application.payouts import confirm_batch, payout_batch, payout_file
from services.mutual_aid.application.policies import PolicyBook
from services.mutual_aid.application.reviews import apply_review
from services.mutual_aid.domain.payout import period_figures
from services.mutual_aid.domain.review import approvals_needed
from services.mutual_aid.store import MutualAidStore
from shared import orgs
from shared.auth import authorized, authorized_partner, may
from shared.business_dates import business_date
from shared.contracts.mutual_aid import (
    ClaimSchema,
    ContributionsSchema,
    EnrollmentRequestSchema,
    PayoutBatchRequestSchema,
    PeriodStatsSchema,
    PolicyUploadSchema,
    ReviewRequestSchema,
)
from shared.dead_letters import DeadLetterRpc
from shared.domain_errors import DomainError
from shared.errors import ApiError, answer, not_found, validated, validation_error
from shared.event_handler import event_handler
from shared.events import Event
from shared.heartbeat import Heartbeat
from shared.money import format_fen
from shared.providers import (
    Correlation,
    OutboxRelayRunner,
    SettingsProvider,
    Store,
    VaultProvider,
)
from shared.rpc import rpc

log = logging.getLogger(__name__)

SERVICE = "mutual_aid"
# What roles that may not read diagnoses (mutual_aid.read_diagnoses) read for a reason code
# that would tell the illness (excluded_self_harm, ...).
DIAGNOSIS_EXCLUDED = "excluded_diagnosis"
# A bill from someone we never enrolled: visible at city level only.
UNKNOWN_MEMBER_ORG = orgs.city_root()


def audit_view(entries: list[dict]) -> dict:
    return {
        "entries": [{"id": e["_id"], **{k: v for k, v in e.items() if k != "_id"}} for e in entries]
    }


class MutualAidService(Heartbeat, DeadLetterRpc):
    name = SERVICE

    store: MutualAidStore = Store(MutualAidStore)
    outbox_relay = OutboxRelayRunner("claims")
    settings = SettingsProvider()
    vault = VaultProvider()
    correlation_id = Correlation()

    @rpc
    def ping(self) -> str:
        return "ok"

    # ---- enrolment -------------------------------------------------------------------------

    @rpc
    def enroll(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "mutual_aid.enroll")
        data = validated(EnrollmentRequestSchema(), request)
        if not staff.can_see(data["employer_org"]):
            raise ApiError(403, "forbidden", "employer_org is outside your org unit")
        stated = business_date(
            data["enrolled_on"],
            "enrolled_on",
            staff.role,
            allow_backdated=self.settings.allow_backdated_input,
        )
        enrolled_on = stated.day
        policy = self.policies.for_period(data["period"])
        if data["plan"] not in policy.plans:
            raise validation_error({"plan": [f"must be one of {', '.join(policy.plans)}"]})
        closed = window_error(policy, data["period"], enrolled_on)
        if closed:
            raise closed
        if stated.backdated_by_role:
            audit_backdated_enrolment(
                self.store,
                stated,
                by=staff.sub,
                role=staff.role,
                org=staff.org,
                period=data["period"],
                employer_org=data["employer_org"],
            )
        outcome = enroll_rows(
            self.store,
            self.vault,
            policy=policy,
            period=data["period"],
            plan=data["plan"],
            employer_org=data["employer_org"],
            enrolled_on=enrolled_on,
            rows=data["members"],
        )
        return outcome.as_dict()

    @rpc
    def contributions(self, principal: str, period: int) -> dict:
        """Contributions per member summed per employer, for the employers the caller sees."""
        staff = authorized(principal, "mutual_aid.contributions")
        employers = [
            {
                "employer_org": row["_id"],
                "members": row["members"],
                "contributions": row["contributions"],
            }
            for row in self.store.contributions(period)
            if staff.can_see(row["_id"])
        ]
        return ContributionsSchema().dump(
            {
                "period": period,
                "employers": employers,
                "total": sum(e["contributions"] for e in employers),
            }
        )

    # ---- policy versions -------------------------------------------------------------------

    @property
    def policies(self) -> PolicyBook:
        return PolicyBook(self.store, self.settings.policy_dir)

    @rpc
    def load_policy(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "mutual_aid.load_policy")
        data = validated(PolicyUploadSchema(), request)
        entry, created = self.policies.load(data["document"], loaded_by=staff.sub)
        return {**entry, "created": created}

    @rpc
    def list_policies(self, principal: str) -> dict:
        authorized(principal, "mutual_aid.read")
        return {"versions": self.policies.versions()}

    # ---- bills and claims ------------------------------------------------------------------

    @rpc
    def submit_bill(self, partner: str, webhook_id: str, bill: dict) -> dict:
        """Durably accept a discharge bill; adjudication follows from its event. ``partner`` is
        the gateway's assertion of the hospital it verified, checked before anything else: the
        hospital as registered, ``{"code", "kind", "level"}``."""
        hospital = authorized_partner(partner, "hospital")
        claim_id, status, created = accept_bill(
            self.store,
            self.policies,
            hospital,
            webhook_id,
            bill,
            self.correlation_id,
            allow_backdated=self.settings.allow_backdated_input,
        )
        log.info("discharge bill accepted", extra={"claim_id": claim_id, "new_claim": created})
        return {"claim_id": claim_id, "status": status, "created": created}

    @rpc
    def get_claim(self, principal: str, claim_id: str) -> dict:
        staff = authorized(principal, "mutual_aid.read")
        claim = self.store.claim(claim_id)
        # Existence must not leak across org units: outside your scope reads as not found.
        if claim is None or not staff.can_see(claim.get("member_org") or UNKNOWN_MEMBER_ORG):
            raise not_found("claim")
        show_diagnoses = may(staff.role, "mutual_aid.read_diagnoses")
        view = {
            "claim_id": claim["_id"],
            "bill_no": claim["bill_no"],
            "hospital_code": claim["hospital_code"],
            "member_id_number_masked": claim["member_id_masked"],
            "status": claim["status"],
            "amount": claim.get("amount_fen"),
            "reason_code": self._reason_code(claim, show_diagnoses),
            "trace": self.store.trace_text(claim.get("trace", []), show_diagnoses=show_diagnoses),
            "policy_version": claim.get("policy_version"),
        }
        return ClaimSchema().dump(view)

    def _reason_code(self, claim: dict, show_diagnoses: bool) -> str | None:
        reason = claim.get("reason_code")
        if show_diagnoses or reason is None:
            return reason
        policy = self.policies.by_version(claim["policy_version"], claim.get("policy_digest"))
        return DIAGNOSIS_EXCLUDED if reason in policy.diagnosis_reason_codes else reason

    @event_handler("gateway", "bill_submitted")
    def decide_bill(self, event: Event) -> None:
        """A bill the gateway checked, answered 202 and queued (while this service may have
        been down): decided and stored once under the claim id it was answered."""
        decision, inserted = decide_submitted_bill(
            self.store, self.policies, event.payload, event.correlation_id
        )
        log.info(
            "claim decided",
            extra={
                "claim_id": event.payload["claim_id"],
                "status": decision.status,
                "recorded": inserted,
            },
        )

    @rpc
    def single_disease_tables(self, partner: str) -> dict:
        """The single-disease group codes of every policy version, oldest first, for the gateway
        to refuse a bill naming a group not in the table in force (API.md: 400)."""
        authorized_partner(partner, "hospital")
        return {"tables": self.policies.single_disease_tables()}

    @event_handler(SERVICE, "claim_received")
    def adjudicate_claim(self, event: Event) -> None:
        claim = self.store.claim(event.payload["claim_id"])
        if claim is None:
            raise LookupError(
                f"claim {event.payload['claim_id']} of event {event.event_id} not found"
            )
        if claim["status"] != "received":
            return  # decided already: this is a redelivery
        decision, recorded = decide_claim(self.store, self.policies, claim, event.correlation_id)
        log.info(
            "claim decided",
            extra={"claim_id": claim["_id"], "status": decision.status, "recorded": recorded},
        )

    # ---- dossier read model (hardship ratio) -----------------------------------------------

    @event_handler("dossiers", "dossier_established")
    def on_dossier_established(self, event: Event) -> None:
        self.store.open_dossier_head(event, tier=event.payload["tier"])

    @event_handler("dossiers", "dossier_tier_changed")
    def on_dossier_tier_changed(self, event: Event) -> None:
        self.store.open_dossier_head(event, tier=event.payload["tier"])

    @event_handler("dossiers", "dossier_transferred")
    def on_dossier_transferred(self, event: Event) -> None:
        self.store.open_dossier_head(event)

    @event_handler("dossiers", "dossier_exited")
    def on_dossier_exited(self, event: Event) -> None:
        self.store.close_dossier_head(event)

    # ---- review ----------------------------------------------------------------------------

    @rpc
    def review_queue(self, principal: str) -> dict:
        """Claims awaiting review whose member belongs to the reviewer's org scope, each with
        its maker-checker state: who approved the current amount and how many must."""
        staff = authorized(principal, "mutual_aid.review_queue")
        claims = []
        for claim in self.store.needs_review():
            if not staff.can_see(claim.get("member_org") or UNKNOWN_MEMBER_ORG):
                continue
            amount = claim.get("amount_fen") or 0
            rule_amount = claim.get("rule_amount_fen") or 0
            threshold = self.policies.by_version(
                claim["policy_version"], claim.get("policy_digest")
            ).review_threshold
            claims.append(
                {
                    "claim_id": claim["_id"],
                    "bill_no": claim["bill_no"],
                    "hospital_code": claim["hospital_code"],
                    "member_id_number_masked": claim["member_id_masked"],
                    "member_org": claim.get("member_org"),
                    "amount": format_fen(amount),
                    "rule_amount": format_fen(rule_amount),
                    "reason_code": claim.get("reason_code"),
                    "approvals_needed": approvals_needed(amount, rule_amount, threshold),
                    "approved_by": claim.get("approvals", []),
                    "decided_at": claim.get("decided_at"),
                }
            )
        return {"claims": claims}

    @rpc
    def review(self, principal: str, claim_id: str, request: dict) -> dict:
        staff = authorized(principal, "mutual_aid.review")
        data = validated(ReviewRequestSchema(), request)
        claim = self.store.claim(claim_id)
        if claim is None or not staff.can_see(claim.get("member_org") or UNKNOWN_MEMBER_ORG):
            raise not_found("claim")
        try:
            final = apply_review(self.store, self.policies, claim, staff, data, self.correlation_id)
        except DomainError as refused:
            raise answer(refused) from None
        log.info("claim reviewed", extra={"claim_id": claim_id, "final": final})
        return self.get_claim(principal, claim_id)

    @rpc
    def audit_log(self, principal: str, claim_id: str) -> dict:
        authorized(principal, "mutual_aid.audit_log")
        return audit_view(self.store.audit_entries(claim_id))

    # ---- payout ----------------------------------------------------------------------------

    @rpc
    def create_payout_batch(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "mutual_aid.payout")
        data = validated(PayoutBatchRequestSchema(), request)
        return payout_batch(self.store, data["month"], staff.sub)

    @rpc
    def payout_file(self, principal: str, batch_id: str) -> str:
        staff = authorized(principal, "mutual_aid.payout_file")
        return payout_file(self.store, batch_id, staff.sub)

    @rpc
    def confirm_payout_batch(self, principal: str, batch_id: str) -> dict:
        staff = authorized(principal, "mutual_aid.payout")
        return confirm_batch(self.store, batch_id, staff.sub, self.correlation_id)

    @rpc
    def payout_audit(self, principal: str, batch_id: str) -> dict:
        """Who downloaded the batch's bank file and who confirmed it, when."""
        authorized(principal, "mutual_aid.audit_log")
        return audit_view(self.store.batch_audit_entries(batch_id))

    # ---- figures ---------------------------------------------------------------------------

    @rpc
    def period_stats(self, principal: str, period: int) -> dict:
        staff = authorized(principal, "mutual_aid.figures")
        figures = period_figures(
            c
            for c in self.store.period_claims(period)
            if staff.can_see(c.get("member_org") or UNKNOWN_MEMBER_ORG)
        )
        return PeriodStatsSchema().dump(figures)
