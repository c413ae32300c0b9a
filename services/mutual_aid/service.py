"""The mutual_aid nameko service: enrolment and discharge bills in, claim decisions out."""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache
from pathlib import Path

from marshmallow import ValidationError
from nameko.rpc import rpc

from services.mutual_aid.domain.adjudication import (
    ClaimContext,
    DischargeBill,
    Membership,
    adjudicate,
)
from services.mutual_aid.domain.policy import MutualAidPolicy
from services.mutual_aid.schemas import (
    ClaimSchema,
    DischargeBillSchema,
    EnrollmentMemberSchema,
    EnrollmentRequestSchema,
)
from services.mutual_aid.store import MutualAidStore, NewMember
from shared.auth import StaffPrincipal
from shared.errors import ApiError, not_found, validation_error
from shared.events import Event, make_event, now_shanghai
from shared.messaging import Correlation, DeadLetterRpc, OutboxRelayRunner, Store, event_handler
from shared.policy import PolicyError, PolicyStore

log = logging.getLogger(__name__)

SERVICE = "mutual_aid"
ENROLLING_ROLES = ("city_admin", "county_staff", "grassroots_staff")
READING_ROLES = ("city_admin", "county_staff", "grassroots_staff", "reviewer", "finance", "auditor")
UNKNOWN_MEMBER_ORG = "LY"  # a bill from someone we never enrolled: visible at city level only


@lru_cache(maxsize=4)
def policy_store(policy_dir: str) -> PolicyStore:
    """Policy files are read once per process; a new version file needs a restart to be seen."""
    return PolicyStore.for_service(Path(policy_dir), SERVICE)


@lru_cache(maxsize=32)
def _parsed_policy(policy_dir: str, version: str) -> MutualAidPolicy:
    return MutualAidPolicy.from_document(policy_store(policy_dir).by_version(version))


def policy_on(policy_dir: str, day: date) -> MutualAidPolicy:
    """The policy version in force on ``day`` (the earliest one for days before any)."""
    store = policy_store(policy_dir)
    try:
        document = store.in_force_on(day)
    except PolicyError:
        document = store.versions()[0]
    return _parsed_policy(policy_dir, document.version)


def principal_from(data: dict) -> StaffPrincipal:
    return StaffPrincipal(sub=data["sub"], role=data["role"], org=data["org"])


def require(principal: StaffPrincipal, roles: tuple[str, ...]) -> None:
    if principal.role not in roles:
        raise ApiError(403, "forbidden", f"role {principal.role} may not do this")


def today() -> date:
    return now_shanghai().date()


class MutualAidService(DeadLetterRpc):
    name = SERVICE

    store: MutualAidStore = Store(MutualAidStore)
    wake_relay = OutboxRelayRunner("claims")
    correlation_id = Correlation()

    @property
    def policy_dir(self) -> str:
        return self.store.settings.policy_dir

    @rpc
    def ping(self) -> str:
        return "ok"

    # ---- enrolment -------------------------------------------------------------------------

    @rpc
    def enroll(self, principal: dict, request: dict) -> dict:
        staff = principal_from(principal)
        require(staff, ENROLLING_ROLES)
        try:
            data = EnrollmentRequestSchema().load(request)
        except ValidationError as exc:
            raise validation_error(exc.messages) from None
        if not staff.can_see(data["employer_org"]):
            raise ApiError(403, "forbidden", "employer_org is outside your org unit")
        enrolled_on = data["enrolled_on"] or today()
        policy = self._policy_for_period(data["period"])
        if data["plan"] not in policy.plans:
            raise validation_error({"plan": [f"must be one of {', '.join(policy.plans)}"]})
        opens, closes = policy.enrolment_window(data["period"])
        if not opens <= enrolled_on <= closes:
            raise ApiError(
                422,
                "enrolment_closed",
                f"period {data['period']} enrols from {opens} to {closes}; enrolled_on is {enrolled_on}",
                {"enrolled_on": [f"must be within {opens}..{closes}"]},
            )
        year = policy.year_of(data["period"])
        accepted, rejected = [], []
        member_schema = EnrollmentMemberSchema()
        for index, raw in enumerate(data["members"]):
            try:
                member = member_schema.load(raw)
            except ValidationError as exc:
                rejected.append(
                    {"index": index, "error": validation_error(exc.messages).body()["error"]}
                )
                continue
            start = member["coverage_start"]
            problem = None
            if start.year != year:
                problem = f"must be inside period {data['period']} ({year})"
            elif start < enrolled_on:
                problem = "must not be before enrolled_on (no backdating)"
            if problem:
                rejected.append(
                    {
                        "index": index,
                        "error": validation_error({"coverage_start": [problem]}).body()["error"],
                    }
                )
                continue
            accepted.append(member)
        renewals = self.store.enrolled_hashes(
            data["period"] - 1, [self.store.vault.lookup_hash(m["id_number"]) for m in accepted]
        )
        new_members = [
            NewMember(
                id_number=m["id_number"],
                name=m["name"],
                coverage_start=m["coverage_start"],
                renewal=self.store.vault.lookup_hash(m["id_number"]) in renewals,
            )
            for m in accepted
        ]
        enrolled, already = self.store.enroll(
            period=data["period"],
            plan=data["plan"],
            employer_org=data["employer_org"],
            enrolled_on=enrolled_on,
            members=new_members,
        )
        return {"enrolled": enrolled, "already_enrolled": already, "rejected": rejected}

    def _policy_for_period(self, period: int) -> MutualAidPolicy:
        newest = policy_on(self.policy_dir, date.max)
        try:
            year = newest.year_of(period)
        except PolicyError:
            raise validation_error({"period": [f"period {period} is not in the policy"]}) from None
        return policy_on(self.policy_dir, date(year, 1, 1))

    # ---- bills and claims ------------------------------------------------------------------

    @rpc
    def submit_bill(self, hospital_code: str, webhook_id: str, bill: dict) -> dict:
        """Durably accept a discharge bill; adjudication follows from its event."""
        try:
            data = DischargeBillSchema().load(bill)
        except ValidationError as exc:
            raise validation_error(exc.messages) from None
        stored = {
            "bill_no": data["bill_no"],
            "patient_id_number": data["patient_id_number"],
            "patient_name": data["patient_name"],
            "hospital_level": data["hospital_level"],
            "admission_date": data["admission_date"].isoformat(),
            "discharge_date": data["discharge_date"].isoformat(),
            "diagnoses": list(data["diagnoses"]),
            "total_cost": data["total_cost"],
            "fund_paid": data["fund_paid"],
            "self_pay_in_catalogue": data["self_pay_in_catalogue"],
            "self_pay_out_of_catalogue": data["self_pay_out_of_catalogue"],
            "single_disease_code": data["single_disease_code"],
            "submitted_on": (data["submitted_on"] or today()).isoformat(),
            "flags": data["flags"],
        }
        claim_id, status, created = self.store.accept_bill(
            hospital_code,
            webhook_id,
            stored,
            lambda claim_id: make_event(
                "claim_received",
                {"claim_id": claim_id, "hospital_code": hospital_code, "bill_no": data["bill_no"]},
                producer=SERVICE,
                correlation_id=self.correlation_id,
            ),
        )
        self.wake_relay()
        log.info("discharge bill accepted", extra={"claim_id": claim_id, "new_claim": created})
        return {"claim_id": claim_id, "status": status, "created": created}

    @rpc
    def get_claim(self, principal: dict, claim_id: str) -> dict:
        staff = principal_from(principal)
        require(staff, READING_ROLES)
        claim = self.store.claim(claim_id)
        # Existence must not leak across org units: outside your scope reads as not found.
        if claim is None or not staff.can_see(claim.get("member_org") or UNKNOWN_MEMBER_ORG):
            raise not_found("claim")
        view = {
            "claim_id": claim["_id"],
            "bill_no": claim["bill_no"],
            "hospital_code": claim["hospital_code"],
            "member_id_number_masked": claim["member_id_masked"],
            "status": claim["status"],
            "amount": claim.get("amount_fen"),
            "reason_code": claim.get("reason_code"),
            "trace": claim.get("trace", []),
            "policy_version": claim.get("policy_version"),
        }
        return ClaimSchema().dump(view)

    @event_handler(SERVICE, "claim_received")
    def adjudicate_claim(self, event: Event) -> None:
        claim = self.store.claim(event.payload["claim_id"])
        if claim is None:
            raise LookupError(
                f"claim {event.payload['claim_id']} of event {event.event_id} not found"
            )
        if claim["status"] != "received":
            return  # decided already: this is a redelivery
        bill = DischargeBill(
            hospital_code=claim["hospital_code"],
            bill_no=claim["bill_no"],
            hospital_level=claim["hospital_level"],
            patient_id_hash=claim["member_id_hash"],
            admission_date=date.fromisoformat(claim["admission_date"]),
            discharge_date=date.fromisoformat(claim["discharge_date"]),
            diagnoses=tuple(claim["diagnoses"]),
            total_cost=claim["total_cost"],
            fund_paid=claim["fund_paid"],
            self_pay_in_catalogue=claim["self_pay_in_catalogue"],
            self_pay_out_of_catalogue=claim["self_pay_out_of_catalogue"],
            single_disease_code=claim["single_disease_code"],
            submitted_on=date.fromisoformat(claim["submitted_on"]),
            drunk_driving=claim["flags"].get("drunk_driving", False),
            crime=claim["flags"].get("crime", False),
            third_party_liable=claim["flags"].get("third_party_liable", False),
        )
        policy = policy_on(self.policy_dir, bill.discharge_date)
        period = policy.period_for_date(bill.discharge_date)
        overlapping = self.store.overlapping_bill_nos(claim)
        # Two bills of one member decided at once race for the same cap: the reservation is a
        # conditional update, and the loser adjudicates again against what is left.
        for _ in range(5):
            member = self.store.membership(period, bill.patient_id_hash) if period else None
            membership, remaining = None, 0
            if member is not None:
                membership = Membership(
                    period=member["period"],
                    plan=member["plan"],
                    coverage_start=date.fromisoformat(member["coverage_start"]),
                    renewal=member["renewal"],
                )
                cap = policy.plan(member["plan"]).period_cap
                already_reserved = member["cap_claims"].get(claim["_id"], 0)
                remaining = cap - (member["cap_used"] - already_reserved)
            context = ClaimContext(
                membership=membership,
                remaining_cap=remaining,
                overlapping_bill_nos=overlapping,
                heads_open_dossier=False,  # the dossier read model arrives with the dossiers issue
            )
            decision = adjudicate(bill, context, policy)
            if decision.amount == 0 or claim["_id"] in member["cap_claims"]:
                break
            if self.store.reserve_cap(
                period, bill.patient_id_hash, claim["_id"], decision.amount, cap
            ):
                break
        else:
            raise RuntimeError(f"could not reserve the cap for claim {claim['_id']}; will retry")
        decided = make_event(
            "claim_decided",
            {
                "claim_id": claim["_id"],
                "member_id_hash": claim["member_id_hash"],
                "member_id_masked": claim["member_id_masked"],
                "status": decision.status,
                "amount_fen": decision.amount,
                "reason_code": decision.reason_code,
                "period": period,
                "policy_version": decision.policy_version,
            },
            producer=SERVICE,
            correlation_id=event.correlation_id,
        )
        recorded = self.store.record_decision(
            claim["_id"],
            {
                "status": decision.status,
                "amount_fen": decision.amount,
                "rule_amount_fen": decision.rule_amount,
                "reason_code": decision.reason_code,
                "reviews_required": decision.reviews_required,
                "trace": list(decision.trace),
                "policy_version": decision.policy_version,
                "period": period,
                "plan": membership.plan if membership else None,
                "member_org": member["employer_org"] if member else None,
                "decided_at": now_shanghai().isoformat(timespec="milliseconds"),
            },
            decided,
        )
        self.wake_relay()
        log.info(
            "claim decided",
            extra={"claim_id": claim["_id"], "status": decision.status, "recorded": recorded},
        )
