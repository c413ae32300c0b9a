"""The dossiers nameko service: who the union treats as a household in hardship (困难职工档案)."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import date

from nameko.timer import timer

from services.dossiers.application.campaigns import campaign_view, close_campaign, open_campaign
from services.dossiers.application.condolence import Scope, run_condolence_batch
from services.dossiers.application.grants import grant_from_fund, record_mutual_aid_grant
from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.tiers import TIER_RANK, Assets, Household, propose_tier
from services.dossiers.domain.verification import (
    ProposalExpiry,
    campaign_due_on,
    evaluate_visit,
    proposal_expiry,
    retention_cutoff,
)
from services.dossiers.schemas import (
    MAX_MEMBERS,
    AuditFilterSchema,
    CampaignRequestSchema,
    CondolenceBatchRequestSchema,
    CondolenceBatchSchema,
    ConfirmSchema,
    DossierFilterSchema,
    DossierRequestSchema,
    DossierSchema,
    ExitSchema,
    FundRequestSchema,
    FundSchema,
    GrantRequestSchema,
    GrantResultSchema,
    TransferSchema,
    VisitDecisionSchema,
    VisitSchema,
)
from services.dossiers.store import DossierStore, MemberAlreadyInDossier, now_iso
from shared import orgs
from shared.auth import StaffPrincipal, authorized, authorized_at_city
from shared.business_dates import BusinessDate, business_date
from shared.dead_letters import DeadLetterRpc
from shared.errors import ApiError, conflict, not_found, rule_violation, validated, validation_error
from shared.event_handler import event_handler
from shared.events import Event, make_event, today_shanghai
from shared.heartbeat import Heartbeat
from shared.identity import mask_id_number
from shared.money import format_fen
from shared.policy import policy_in_force
from shared.providers import Correlation, OutboxRelayRunner, Store
from shared.rpc import rpc

log = logging.getLogger(__name__)

SERVICE = "dossiers"
INTAKE_ROLES = ("city_admin", "county_staff", "grassroots_staff")
READING_ROLES = ("city_admin", "county_staff", "grassroots_staff", "reviewer", "finance", "auditor")
FULL_ID_ROLES = ("city_admin", "county_staff", "grassroots_staff")
GRANT_ROLES = ("city_admin", "county_staff", "finance")
BUDGET_ROLES = ("finance",)  # at the city org only
CONDOLENCE_ROLES = ("city_admin", "finance")
CAMPAIGN_ROLES = ("city_admin",)
EXPORT_ROLES = ("city_admin", "county_staff", "grassroots_staff", "auditor")
AUDIT_ROLES = ("auditor",)
# The scheduler wakes often enough to open a campaign early on its day; the work is idempotent.
SCHEDULE_SECONDS = 600
LIST_LIMIT = 500


def policy_on(policy_dir: str, day: date) -> DossierPolicy:
    return policy_in_force(policy_dir, SERVICE, day, DossierPolicy.from_document)


def scope_query(staff: StaffPrincipal, county: str | None) -> dict:
    """The filter of what ``staff`` may see: the subtree of their org unit (nothing at all for
    an org the tree does not know), narrowed to ``county`` when asked. Asking for a county
    outside one's own is refused (403), not silently emptied."""
    query = orgs.scope_filter(staff.org)
    if county:
        if not (staff.can_see(county) or orgs.county_of(staff.org) == county):
            raise ApiError(403, "forbidden", f"county {county} is outside your org unit")
        query["county"] = county
    return query


def household_of(doc: dict) -> Household:
    return Household(
        county=doc["county"],
        member_incomes=tuple(m["monthly_income_fen"] for m in doc["members"]),
        monthly_rigid_expenditure=doc["monthly_rigid_expenditure_fen"],
        months_below_line=doc["months_below_line"],
        causes=frozenset(doc["causes"]),
        assets=Assets(**doc["assets"]),
    )


class DossiersService(Heartbeat, DeadLetterRpc):
    name = SERVICE

    store: DossierStore = Store(DossierStore)
    wake_relay = OutboxRelayRunner("dossiers")
    correlation_id = Correlation()

    @property
    def policy_dir(self) -> str:
        return self.store.settings.policy_dir

    @rpc
    def ping(self) -> str:
        return "ok"

    # ---- intake and confirmation ---------------------------------------------------------------

    @rpc
    def submit(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, INTAKE_ROLES)
        data = validated(DossierRequestSchema(), request)
        if not staff.can_see(data["org"]):
            raise ApiError(403, "forbidden", "org is outside your org unit")
        intake = self._business_date(staff, data, "intake_date")
        data["intake_date"] = intake.day
        policy = policy_on(self.policy_dir, data["intake_date"])
        vault = self.store.vault
        members = [self._member_record(m) for m in data["members"]]
        doc = {
            "_id": uuid.uuid4().hex,
            "status": "proposed",
            "county": data["county"],
            "org": data["org"],
            "category": data["category"],
            "head_id_hash": vault.lookup_hash(data["head_id_number"]),
            "head_id_enc": vault.encrypt(data["head_id_number"]),
            "head_id_masked": mask_id_number(data["head_id_number"]),
            "employment_status": data["employment_status"],
            "employer": data["employer"],
            "members": members,
            "monthly_rigid_expenditure_fen": data["monthly_rigid_expenditure"],
            "months_below_line": data["months_below_line"],
            "causes": sorted(set(data["causes"])),
            "assets": dict(data["assets"]),
            "address": data["address"],
            "phone_enc": vault.encrypt(data["phone"]) if data["phone"] else None,
            "intake_date": data["intake_date"].isoformat(),
            "revision": 1,
            "verification_overdue": False,
            "ledger": {},
            "assistance_total_fen": 0,
            "visits": {},
            "submitted_by": staff.sub,
            "created_at": now_iso(),
        }
        try:
            proposal = propose_tier(household_of(doc), policy, data["intake_date"].year)
        except LookupError as exc:
            raise rule_violation(str(exc), {"county": [str(exc)]}) from None
        doc.update(
            proposed_tier=proposal.tier,
            proposed_rule=proposal.rule,
            trace=list(proposal.trace),
            policy_version=proposal.policy_version,
            tier=None,
        )
        try:
            self.store.create_dossier(doc, [m["id_hash"] for m in members], self._expiry())
        except MemberAlreadyInDossier as exc:
            raise self._member_conflict(staff, exc, members, "members") from None
        self._audit_backdating(staff, intake, "intake_date", doc["_id"], doc["org"])
        log.info("dossier proposed", extra={"dossier_id": doc["_id"], "tier": proposal.tier})
        return {
            "dossier_id": doc["_id"],
            "status": "proposed",
            "proposed_tier": proposal.tier,
            "trace": list(proposal.trace),
        }

    def _member_record(self, member: dict) -> dict:
        """A household member as stored: the ID number encrypted, hashed for lookup, masked."""
        vault = self.store.vault
        return {
            "id_hash": vault.lookup_hash(member["id_number"]),
            "id_enc": vault.encrypt(member["id_number"]),
            "id_masked": mask_id_number(member["id_number"]),
            "name": member["name"],
            "relation": member["relation"],
            "monthly_income_fen": member["monthly_income"],
            "health": member["health"],
            "school": member["school"],
        }

    def _member_conflict(
        self, staff: StaffPrincipal, exc: MemberAlreadyInDossier, members: list, field: str
    ) -> ApiError:
        """The 409 for a member already in another live dossier, naming ``field.<index>``."""
        index, member = next((i, m) for i, m in enumerate(members) if m["id_hash"] == exc.id_hash)
        # The other dossier's id only for a caller who may read it: its existence and id must
        # not leak to another county.
        holder = self.store.dossier(exc.dossier_id)
        where = (
            f"already in dossier {exc.dossier_id}"
            if holder is not None and staff.can_see(holder["org"])
            else "already in a live dossier outside your org unit"
        )
        return conflict(
            f"household member {member['name']} ({member['id_masked']}) is already in "
            "another open or proposed dossier",
            {f"{field}.{index}.id_number": [where]},
        )

    @rpc
    def confirm(self, principal: str, dossier_id: str, request: dict) -> dict:
        staff = authorized(principal, INTAKE_ROLES)
        data = validated(ConfirmSchema(), request)
        dossier = self._visible(staff, dossier_id)
        if dossier["status"] != "proposed":
            raise conflict(f"dossier is {dossier['status']}, not proposed")
        tier = data["tier"]
        if TIER_RANK[tier] > TIER_RANK[dossier["proposed_tier"]]:
            raise rule_violation(
                f"tier {tier} is above what the rules support ({dossier['proposed_tier'] or 'none'})",
                {"tier": [f"must be at most {dossier['proposed_tier'] or 'null'}"]},
            )
        on = today_shanghai()
        revision = dossier["revision"]
        if tier is None:
            changed = self.store.change(
                dossier_id,
                revision,
                {"$set": {"status": "declined", "closed_on": on.isoformat()}},
                [],
                status="proposed",
            )
            if changed:
                self.store.release_members(dossier_id)
        else:
            established = make_event(
                "dossier_established",
                {
                    "dossier_id": dossier_id,
                    "head_id_hash": dossier["head_id_hash"],
                    "county": dossier["county"],
                    "revision": revision + 1,
                    "tier": tier,
                    "org": dossier["org"],
                    "established_on": on,
                },
                producer=SERVICE,
                correlation_id=self.correlation_id,
            )
            changed = self.store.change(
                dossier_id,
                revision,
                {"$set": {"status": "open", "tier": tier, "opened_on": on.isoformat()}},
                [established],
                status="proposed",
            )
        if changed is None:
            raise conflict("the dossier changed meanwhile; read it again")
        self.wake_relay()
        self._audit(staff, "confirm", dossier_id, dossier["org"], {"tier": tier})
        return {"status": changed["status"], "tier": tier}

    # ---- reads ------------------------------------------------------------------------------------

    @rpc
    def get_dossier(self, principal: str, dossier_id: str, reveal: bool = False) -> dict:
        staff = authorized(principal, FULL_ID_ROLES if reveal else READING_ROLES)
        dossier = self._visible(staff, dossier_id)
        if reveal:
            self._audit(staff, "view_full_id", dossier_id, dossier["org"], {})
        return self._view(dossier, reveal)

    @rpc
    def list_dossiers(
        self,
        principal: str,
        *,
        county: str | None = None,
        status: str | None = None,
        tier: str | None = None,
    ) -> dict:
        staff = authorized(principal, READING_ROLES)
        filters = validated(
            DossierFilterSchema(), {"county": county, "status": status, "tier": tier}
        )
        query = self._list_query(staff, filters)
        return {"dossiers": [self._view(d) for d in self.store.list_dossiers(query, LIST_LIMIT)]}

    @rpc
    def export(
        self,
        principal: str,
        *,
        county: str | None = None,
        status: str | None = None,
        tier: str | None = None,
    ) -> dict:
        """CSV of the dossiers in scope, ID numbers masked; every export is audited."""
        staff = authorized(principal, EXPORT_ROLES)
        filters = validated(
            DossierFilterSchema(), {"county": county, "status": status, "tier": tier}
        )
        query = self._list_query(staff, filters)
        out = io.StringIO()
        writer = csv.writer(out)
        columns = ["dossier_id", "status", "county", "org", "category", "tier"]
        writer.writerow([*columns, "head_id_number", "members", "assistance_total"])
        rows = 0
        projection = {c: 1 for c in columns} | {
            "head_id_masked": 1,
            "members": 1,
            "assistance_total_fen": 1,
        }
        for doc in self.store.iter_dossiers(query, projection):
            writer.writerow(
                [doc["_id"], *(doc.get(c) or "" for c in columns[1:])]
                + [
                    doc["head_id_masked"],
                    len(doc["members"]),
                    format_fen(doc.get("assistance_total_fen", 0)),
                ]
            )
            rows += 1
        scope_org = filters["county"] or staff.org
        named = {key: value for key, value in filters.items() if value}
        self._audit(staff, "export", "dossiers", scope_org, {**named, "rows": rows})
        return {"csv": out.getvalue(), "rows": rows}

    def _list_query(self, staff: StaffPrincipal, filters: dict) -> dict:
        """The store query of validated filters: each a plain string, so never an operator."""
        query = scope_query(staff, filters["county"])
        for key in ("status", "tier"):
            if filters[key]:
                query[key] = filters[key]
        return query

    def _visible(self, staff: StaffPrincipal, dossier_id: str) -> dict:
        dossier = self.store.dossier(dossier_id)
        # Existence must not leak across org units: outside your scope reads as not found.
        if dossier is None or not staff.can_see(dossier["org"]):
            raise not_found("dossier")
        if dossier["status"] == "proposed":
            # Expiry is also evaluated here, so no read or confirmation sees a stale proposal
            # between two scheduler ticks.
            expiry = self._expiry()
            if expiry and expiry.is_due(dossier["created_at"]):
                self.store.expire_proposal(dossier_id, expiry)
                dossier = self.store.dossier(dossier_id)
        return dossier

    def _expiry(self) -> ProposalExpiry | None:
        today = today_shanghai()
        return proposal_expiry(today, policy_on(self.policy_dir, today))

    def _view(self, doc: dict, reveal: bool = False) -> dict:
        vault = self.store.vault

        def id_of(enc: str, masked: str) -> str:
            return vault.decrypt(enc) if reveal else masked

        view = {
            "dossier_id": doc["_id"],
            "status": doc["status"],
            "county": doc["county"],
            "org": doc["org"],
            "category": doc["category"],
            "head_id_number": id_of(doc["head_id_enc"], doc["head_id_masked"]),
            "employment_status": doc["employment_status"],
            "employer": doc.get("employer"),
            "members": [
                {
                    "id_number": id_of(m["id_enc"], m["id_masked"]),
                    "name": m["name"],
                    "relation": m["relation"],
                    "monthly_income": m["monthly_income_fen"],
                    "health": m.get("health"),
                    "school": m.get("school"),
                }
                for m in doc["members"]
            ],
            "monthly_rigid_expenditure": doc["monthly_rigid_expenditure_fen"],
            "months_below_line": doc["months_below_line"],
            "causes": doc["causes"],
            "assets": doc["assets"],
            "address": doc["address"],
            "intake_date": doc["intake_date"],
            "proposed_tier": doc.get("proposed_tier"),
            "tier": doc.get("tier"),
            "trace": doc.get("trace", []),
            "policy_version": doc.get("policy_version"),
            "revision": doc["revision"],
            "opened_on": doc.get("opened_on"),
            "closed_on": doc.get("closed_on"),
            "exit_reason": doc.get("exit_reason"),
            "verification_overdue": doc.get("verification_overdue", False),
            "pending_re_evaluation": doc.get("pending_re_evaluation"),
            "assistance_total": doc.get("assistance_total_fen", 0),
            "ledger": sorted(
                (
                    {**{k: v for k, v in g.items() if k != "amount_fen"}, "amount": g["amount_fen"]}
                    for g in (doc.get("ledger") or {}).values()
                ),
                key=lambda g: (g["granted_on"], g["grant_id"]),
            ),
        }
        return DossierSchema().dump(view)

    # ---- visits, exit, transfer ------------------------------------------------------------------

    @rpc
    def record_visit(self, principal: str, dossier_id: str, request: dict) -> dict:
        """Record a home visit: the household as found (members added, removed or changed,
        incomes, expenditure, causes, assets) is written at once; the re-evaluation is a
        proposal, and a tier change or an exit waits for staff (``confirm_visit``). A later
        visit supersedes a proposal still waiting: the household as last found decides."""
        staff = authorized(principal, INTAKE_ROLES)
        data = validated(VisitSchema(), request)
        dossier = self._open(staff, dossier_id)
        members, added, removed = self._visited_members(dossier, data)
        updated = {
            "members": members,
            "monthly_rigid_expenditure_fen": (
                dossier["monthly_rigid_expenditure_fen"]
                if data["monthly_rigid_expenditure"] is None
                else data["monthly_rigid_expenditure"]
            ),
            "months_below_line": (
                dossier["months_below_line"]
                if data["months_below_line"] is None
                else data["months_below_line"]
            ),
            "causes": dossier["causes"] if data["causes"] is None else sorted(set(data["causes"])),
            "assets": dossier["assets"] if data["assets"] is None else dict(data["assets"]),
        }
        policy = policy_on(self.policy_dir, data["visit_date"])
        proposal = propose_tier(
            household_of({**dossier, **updated}), policy, data["visit_date"].year
        )
        outcome = evaluate_visit(dossier["tier"], proposal)
        task = self.store.pending_task_for(dossier_id)
        visit_id = uuid.uuid4().hex
        pending = None
        if outcome.kind != "unchanged":
            pending = {
                "visit_id": visit_id,
                "visit_date": data["visit_date"].isoformat(),
                "outcome": outcome.kind,
                "tier_from": dossier["tier"],
                "tier": outcome.tier,
                "exit_reason": outcome.exit_reason,
                "trace": list(proposal.trace),
                "policy_version": proposal.policy_version,
                "proposed_by": staff.sub,
            }
        fields = {
            **updated,
            "verification_overdue": False,
            "last_visit_on": data["visit_date"].isoformat(),
            "pending_re_evaluation": pending,
            f"visits.{visit_id}": {
                "visit_date": data["visit_date"].isoformat(),
                "visitor": data["visitor"],
                "findings": data["findings"],
                "outcome": outcome.kind,
                "tier": outcome.tier,
                "trace": list(proposal.trace),
                "campaign_id": task["campaign_id"] if task else None,
                "recorded_by": staff.sub,
                "decision": "pending" if pending else None,
            },
        }
        superseded = dossier.get("pending_re_evaluation")
        if superseded:
            fields[f"visits.{superseded['visit_id']}.decision"] = "superseded"
        if added:
            try:
                self.store.claim_members(dossier_id, [m["id_hash"] for m in added], self._expiry())
            except MemberAlreadyInDossier as exc:
                raise self._member_conflict(staff, exc, added, "add_members") from None
        changed = self.store.change(dossier_id, dossier["revision"], {"$set": fields}, [])
        if changed is None:
            self.store.release_members(dossier_id, [m["id_hash"] for m in added])
            raise conflict("the dossier changed meanwhile; read it again")
        if removed:
            self.store.release_members(dossier_id, [m["id_hash"] for m in removed])
        if task:
            self.store.mark_task_visited(task["_id"], visit_id)
        if added or removed:
            self._audit(
                staff,
                "update_members",
                dossier_id,
                dossier["org"],
                {
                    "visit_id": visit_id,
                    "added": [m["id_masked"] for m in added],
                    "removed": [m["id_masked"] for m in removed],
                },
            )
        return {
            "dossier_id": dossier_id,
            "visit_id": visit_id,
            "outcome": outcome.kind,
            "awaiting_confirmation": pending is not None,
            "status": changed["status"],
            "tier": outcome.tier,
            "exit_reason": outcome.exit_reason,
            "trace": list(proposal.trace),
            "campaign_id": task["campaign_id"] if task else None,
        }

    def _visited_members(self, dossier: dict, data: dict) -> tuple[list, list, list]:
        """The household as the visit found it, and the members it added and removed; a 400
        naming every field that cannot apply."""
        vault = self.store.vault
        members = [dict(m) for m in dossier["members"]]
        by_hash = {m["id_hash"]: m for m in members}
        errors: dict[str, list[str]] = {}
        for index, update in enumerate(data["members"]):
            member = by_hash.get(vault.lookup_hash(update["id_number"]))
            if member is None:
                errors[f"members.{index}.id_number"] = ["is not a member of this household"]
                continue
            member["monthly_income_fen"] = update["monthly_income"]
            for key in ("name", "relation", "health", "school"):
                if key in update:
                    member[key] = update[key]
        removed = []
        for index, id_number in enumerate(data["remove_members"]):
            member = by_hash.get(vault.lookup_hash(id_number))
            if member is None:
                errors[f"remove_members.{index}"] = ["is not a member of this household"]
            elif member["id_hash"] == dossier["head_id_hash"]:
                errors[f"remove_members.{index}"] = [
                    "is the head of the household: exit or transfer the dossier instead"
                ]
            elif member not in removed:
                removed.append(member)
        added = []
        for index, new in enumerate(data["add_members"]):
            record = self._member_record(new)
            if record["id_hash"] in by_hash or any(
                a["id_hash"] == record["id_hash"] for a in added
            ):
                errors[f"add_members.{index}.id_number"] = ["is already a member of this household"]
            else:
                added.append(record)
        household = [m for m in members if m not in removed] + added
        heads = [m for m in household if m["relation"] == "self"]
        if len(heads) != 1 or heads[0]["id_hash"] != dossier["head_id_hash"]:
            errors["members"] = [
                "the household keeps exactly one member with relation self: its head"
            ]
        if len(household) > MAX_MEMBERS:
            errors["add_members"] = [f"a household has at most {MAX_MEMBERS} members"]
        if errors:
            raise validation_error(errors)
        return household, added, removed

    @rpc
    def confirm_visit(self, principal: str, dossier_id: str, visit_id: str, request: dict) -> dict:
        """Accept or reject the tier change or exit a visit proposed; accepting emits the same
        events as a tier change or an exit always has."""
        staff = authorized(principal, INTAKE_ROLES)
        data = validated(VisitDecisionSchema(), request)
        dossier = self._open(staff, dossier_id)
        if visit_id not in (dossier.get("visits") or {}):
            raise not_found("visit")
        pending = dossier.get("pending_re_evaluation")
        if not pending or pending["visit_id"] != visit_id:
            raise conflict("this visit's re-evaluation is not waiting for confirmation")
        accept = data["accept"]
        revision = dossier["revision"]
        visit_date = date.fromisoformat(pending["visit_date"])
        fields = {
            "pending_re_evaluation": None,
            f"visits.{visit_id}.decision": "accepted" if accept else "rejected",
            f"visits.{visit_id}.decided_by": staff.sub,
        }
        events = []
        common = {
            "dossier_id": dossier_id,
            "head_id_hash": dossier["head_id_hash"],
            "county": dossier["county"],
            "revision": revision + 1,
        }
        exits = accept and pending["outcome"] == "exit"
        if accept and pending["outcome"] == "tier_changed":
            fields["tier"] = pending["tier"]
            events.append(
                self._event(
                    "dossier_tier_changed",
                    {
                        **common,
                        "tier_from": dossier["tier"],
                        "tier": pending["tier"],
                        "changed_on": visit_date,
                    },
                )
            )
        elif exits:
            fields.update(
                status="closed",
                closed_on=visit_date.isoformat(),
                exit_reason=pending["exit_reason"],
            )
            events.append(
                self._event(
                    "dossier_exited",
                    {**common, "reason": pending["exit_reason"], "exited_on": visit_date},
                )
            )
        changed = self.store.change(dossier_id, revision, {"$set": fields}, events)
        if changed is None:
            raise conflict("the dossier changed meanwhile; read it again")
        if exits:
            self.store.release_members(dossier_id)
            self._audit(
                staff, "exit", dossier_id, dossier["org"], {"reason": pending["exit_reason"]}
            )
        self._audit(
            staff,
            "confirm_visit",
            dossier_id,
            dossier["org"],
            {"visit_id": visit_id, "accept": accept, "outcome": pending["outcome"]},
        )
        self.wake_relay()
        return {
            "dossier_id": dossier_id,
            "visit_id": visit_id,
            "decision": "accepted" if accept else "rejected",
            "status": changed["status"],
            "tier": changed.get("tier"),
            "exit_reason": changed.get("exit_reason"),
        }

    @rpc
    def exit_dossier(self, principal: str, dossier_id: str, request: dict) -> dict:
        staff = authorized(principal, INTAKE_ROLES)
        data = validated(ExitSchema(), request)
        dossier = self._open(staff, dossier_id)
        exited_on = self._business_date(staff, data, "exited_on")
        on = exited_on.day
        exited = self._event(
            "dossier_exited",
            {
                "dossier_id": dossier_id,
                "head_id_hash": dossier["head_id_hash"],
                "county": dossier["county"],
                "revision": dossier["revision"] + 1,
                "reason": data["reason"],
                "exited_on": on,
            },
        )
        changed = self.store.change(
            dossier_id,
            dossier["revision"],
            {
                "$set": {
                    "status": "closed",
                    "closed_on": on.isoformat(),
                    "exit_reason": data["reason"],
                }
            },
            [exited],
        )
        if changed is None:
            raise conflict("the dossier changed meanwhile; read it again")
        self.store.release_members(dossier_id)
        self.wake_relay()
        self._audit(staff, "exit", dossier_id, dossier["org"], {"reason": data["reason"]})
        self._audit_backdating(staff, exited_on, "exited_on", dossier_id, dossier["org"])
        return {
            "dossier_id": dossier_id,
            "status": "closed",
            "exit_reason": data["reason"],
            "closed_on": on.isoformat(),
        }

    @rpc
    def transfer(self, principal: str, dossier_id: str, request: dict) -> dict:
        """A move inside the city: the dossier changes county and stays open (not an exit)."""
        staff = authorized(principal, INTAKE_ROLES)
        data = validated(TransferSchema(), request)
        dossier = self._open(staff, dossier_id)
        if data["county"] == dossier["county"] and data["org"] == dossier["org"]:
            raise rule_violation("the dossier is already there", {"county": ["unchanged"]})
        transferred_on = self._business_date(staff, data, "transferred_on")
        on = transferred_on.day
        transferred = self._event(
            "dossier_transferred",
            {
                "dossier_id": dossier_id,
                "head_id_hash": dossier["head_id_hash"],
                "county": data["county"],
                "revision": dossier["revision"] + 1,
                "county_from": dossier["county"],
                "org": data["org"],
                "transferred_on": on,
            },
        )
        changed = self.store.change(
            dossier_id,
            dossier["revision"],
            {"$set": {"county": data["county"], "org": data["org"]}},
            [transferred],
        )
        if changed is None:
            raise conflict("the dossier changed meanwhile; read it again")
        self.wake_relay()
        self._audit(
            staff,
            "transfer",
            dossier_id,
            dossier["org"],
            {"county_from": dossier["county"], "county": data["county"]},
        )
        self._audit_backdating(staff, transferred_on, "transferred_on", dossier_id, dossier["org"])
        return {"dossier_id": dossier_id, "county": data["county"], "org": data["org"]}

    def _open(self, staff: StaffPrincipal, dossier_id: str) -> dict:
        dossier = self._visible(staff, dossier_id)
        if dossier["status"] != "open":
            raise conflict(f"dossier is {dossier['status']}: only an open dossier changes")
        return dossier

    def _event(self, event_type: str, payload: dict) -> Event:
        return make_event(event_type, payload, producer=SERVICE, correlation_id=self.correlation_id)

    # ---- funds and grants ----------------------------------------------------------------------------

    @rpc
    def set_fund(self, principal: str, request: dict) -> dict:
        staff = authorized_at_city(principal, BUDGET_ROLES)
        data = validated(FundRequestSchema(), request)
        try:
            fund = self.store.set_fund(data["fund"], data["year"], data["budget"])
        except ValueError as exc:
            raise rule_violation(str(exc), {"budget": [str(exc)]}) from None
        self._audit(staff, "set_fund", fund["_id"], None, {"budget_fen": data["budget"]})
        return FundSchema().dump(self._fund_view(fund))

    @rpc
    def get_fund(self, principal: str, fund: str, year: int) -> dict:
        authorized(principal, READING_ROLES)
        doc = self.store.fund(fund, year)
        if doc is None:
            raise not_found("fund")
        return FundSchema().dump(self._fund_view(doc))

    @staticmethod
    def _fund_view(doc: dict) -> dict:
        return {
            "fund": doc["fund"],
            "year": doc["year"],
            "budget": doc["budget_fen"],
            "spent": doc["spent_fen"],
            "remaining": doc["budget_fen"] - doc["spent_fen"],
        }

    @rpc
    def grant(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, GRANT_ROLES)
        data = validated(GrantRequestSchema(), request)
        dossier = self._open(staff, data["dossier_id"])
        stated = self._business_date(staff, data, "granted_on")
        granted_on = stated.day
        grant = grant_from_fund(
            self.store, dossier, data, staff.sub, granted_on, self.correlation_id
        )
        grant_id, amount, fund, year = (
            grant["grant_id"],
            grant["amount_fen"],
            grant["fund"],
            granted_on.year,
        )
        self.wake_relay()
        self._audit(
            staff,
            "grant",
            dossier["_id"],
            dossier["org"],
            {"grant_id": grant_id, "amount_fen": amount, "fund": fund, "type": data["type"]},
        )
        self._audit_backdating(staff, stated, "granted_on", dossier["_id"], dossier["org"])
        fund_doc = self.store.fund(fund, year)
        return GrantResultSchema().dump(
            {
                "grant_id": grant_id,
                "dossier_id": dossier["_id"],
                "type": data["type"],
                "amount": amount,
                "fund": fund,
                "year": year,
                "fund_remaining": fund_doc["budget_fen"] - fund_doc["spent_fen"],
            }
        )

    @event_handler("mutual_aid", "claim_paid")
    def on_claim_paid(self, event: Event) -> None:
        """Mutual aid paid a member: if they head an open dossier, it goes on the household's
        ledger, once (the ledger key is the claim)."""
        recorded = record_mutual_aid_grant(self.store, event.payload, event.correlation_id)
        if recorded is not None:
            self.wake_relay()
            log.info(
                "mutual aid grant recorded",
                extra={"claim_id": event.payload["claim_id"], "new": recorded},
            )

    # ---- condolence batches ----------------------------------------------------------------------------

    @rpc
    def condolence_batch(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, CONDOLENCE_ROLES)
        data = validated(CondolenceBatchRequestSchema(), request)
        year = int(data["festival"][:4])
        result = run_condolence_batch(
            self.store,
            policy_on(self.policy_dir, date(year, 1, 1)),
            festival=data["festival"],
            fund=data["fund"],
            scope=Scope(staff.org),
            actor=staff.to_claims(),
            paid_on=today_shanghai(),
            correlation_id=self.correlation_id,
        )
        self.wake_relay()
        self._audit(staff, "grant", result["batch_id"], staff.org, {"condolence_batch": result})
        return CondolenceBatchSchema().dump(result)

    # ---- verification campaigns ----------------------------------------------------------------------------

    @rpc
    def open_campaign(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, CAMPAIGN_ROLES)
        data = validated(CampaignRequestSchema(), request)
        opened_on = data["opened_on"]
        campaign, created = open_campaign(
            self.store, policy_on(self.policy_dir, opened_on), opened_on, staff.sub
        )
        return {**campaign_view(campaign), "created": created}

    @rpc
    def get_campaign(self, principal: str, campaign_id_: str) -> dict:
        authorized(principal, READING_ROLES)
        campaign = self.store.campaign(campaign_id_)
        if campaign is None:
            raise not_found("campaign")
        return campaign_view(campaign)

    @rpc
    def close_campaign(self, principal: str, campaign_id_: str) -> dict:
        authorized(principal, CAMPAIGN_ROLES)
        campaign = self.store.campaign(campaign_id_)
        if campaign is None:
            raise not_found("campaign")
        if campaign["status"] == "opening":
            raise conflict("the campaign is still opening")
        return campaign_view(self._close_campaign(campaign))

    @rpc
    def overdue(self, principal: str, campaign_id_: str, county: str | None = None) -> dict:
        staff = authorized(principal, READING_ROLES)
        if self.store.campaign(campaign_id_) is None:
            raise not_found("campaign")
        counties: dict[str, list] = {}
        for task in self.store.overdue_tasks(campaign_id_, scope_query(staff, county)):
            counties.setdefault(task["county"], []).append(
                {"dossier_id": task["dossier_id"], "org": task["org"]}
            )
        return {"campaign_id": campaign_id_, "counties": counties}

    # ---- scheduled work ----------------------------------------------------------------------------

    @timer(interval=SCHEDULE_SECONDS)
    def scheduled(self) -> None:
        """Open the campaign on its day, resume or close campaigns, expire unconfirmed
        proposals, purge old closed dossiers. Every step is idempotent or guarded by a status
        compare-and-set, so several replicas running it at once do each thing once."""
        self.run_schedule(today_shanghai())

    def run_schedule(self, day: date) -> None:
        policy = policy_on(self.policy_dir, day)
        steps = [
            ("open", self._open_due_campaign),
            ("resume", self._resume_openings),
            ("close", self._close_due_campaigns),
            ("expire", self._expire_proposals),
            ("purge", self._purge),
        ]
        for name, step in steps:
            try:
                step(day, policy)
            except Exception:  # noqa: BLE001 - one failing step must not stop the others
                log.exception("scheduled step failed; next run retries", extra={"step": name})

    def _open_due_campaign(self, day: date, policy: DossierPolicy) -> None:
        if campaign_due_on(day, policy):
            open_campaign(self.store, policy, day, "scheduler")

    def _resume_openings(self, day: date, policy: DossierPolicy) -> None:
        """A replica that died while inserting tasks left its campaign ``opening``: finish it."""
        for campaign in self.store.campaigns_in("opening"):
            opened_on = date.fromisoformat(campaign["opened_on"])
            open_campaign(self.store, policy_on(self.policy_dir, opened_on), opened_on, "scheduler")

    def _close_campaign(self, campaign: dict) -> dict:
        closed = close_campaign(self.store, campaign, self.correlation_id)
        self.wake_relay()
        return closed

    def _close_due_campaigns(self, day: date, policy: DossierPolicy) -> None:
        for campaign in self.store.campaigns_in("open") + self.store.campaigns_in("closing"):
            if campaign["closes_on"] <= day.isoformat():
                self._close_campaign(campaign)

    def _expire_proposals(self, day: date, policy: DossierPolicy) -> None:
        expiry = proposal_expiry(day, policy)
        if expiry is None:
            return
        expired = self.store.expire_proposals(expiry)
        if expired:
            log.info("unconfirmed proposals expired", extra={"count": len(expired)})

    def _purge(self, day: date, policy: DossierPolicy) -> None:
        cutoff = retention_cutoff(day, policy)
        purged = self.store.purge_closed(cutoff.isoformat())
        if purged:
            log.info("closed dossiers purged", extra={"count": len(purged)})

    # ---- audit ----------------------------------------------------------------------------

    def _business_date(self, staff: StaffPrincipal, data: dict, field: str) -> BusinessDate:
        return business_date(
            data[field],
            field,
            staff.role,
            allow_backdated=self.store.settings.allow_backdated_input,
        )

    def _audit_backdating(
        self, staff: StaffPrincipal, stated: BusinessDate, field: str, target: str, org
    ) -> None:
        if stated.backdated_by_role:
            self._audit(staff, "backdate", target, org, stated.audit_detail(field))

    def _audit(self, staff: StaffPrincipal, action: str, target: str, org, detail: dict) -> None:
        self.store.audit(
            actor=staff.to_claims(), action=action, target=target, org=org, detail=detail
        )

    @rpc
    def audit_log(
        self,
        principal: str,
        *,
        action: str | None = None,
        target: str | None = None,
        limit: int = 100,
    ) -> dict:
        staff = authorized(principal, AUDIT_ROLES)
        filters = validated(
            AuditFilterSchema(), {"action": action, "target": target, "limit": limit}
        )
        query = {key: filters[key] for key in ("action", "target") if filters[key]}
        limit = max(1, min(filters["limit"], 1000))
        entries = [
            e
            for e in self.store.audit_entries(query, limit)
            if orgs.is_city_root(staff.org) or (e.get("org") and staff.can_see(e["org"]))
        ]
        return {
            "entries": [
                {
                    "audit_id": e["_id"],
                    "at": e["at"],
                    "actor": e["actor"],
                    "role": e["role"],
                    "action": e["action"],
                    "target": e["target"],
                    "org": e.get("org"),
                    "detail": e["detail"],
                }
                for e in entries
            ]
        }
