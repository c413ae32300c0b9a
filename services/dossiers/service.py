"""The dossiers nameko service: who the union treats as a household in hardship (困难职工档案).

The door: each RPC checks who calls (principal, role, scope), validates the request and hands
it to a use case in ``application/``; the clock (``today_shanghai``) is read here only."""

from __future__ import annotations

import logging
from datetime import date

from services.dossiers.application import (
    campaigns,
    condolence,
    grants,
    hires,
    intake,
    moves,
    referrals,
    views,
    visits,
)
from services.dossiers.application.dossiers import audit, policy_on, visible
from services.dossiers.application.schedule import run_schedule
from services.dossiers.domain.policy import SERVICE
from services.dossiers.schemas import AuditFilterSchema
from services.dossiers.store import DossierStore
from shared import orgs
from shared.auth import StaffPrincipal, authorized, authorized_partner
from shared.business_dates import BusinessDate, business_date
from shared.contracts.dossiers import (
    LIST_LIMIT,
    CampaignRequestSchema,
    CondolenceBatchKeySchema,
    CondolenceBatchRequestSchema,
    CondolenceBatchSchema,
    ConfirmSchema,
    DossierFilterSchema,
    DossierListQuerySchema,
    DossierRequestSchema,
    DossierStatsSchema,
    ExitSchema,
    FundRequestSchema,
    FundSchema,
    GrantRequestSchema,
    GrantResultSchema,
    IntakeRequestCloseSchema,
    IntakeRequestFilterSchema,
    IntakeRequestListSchema,
    IntakeRequestSchema,
    ReevaluationTaskFilterSchema,
    ReevaluationTaskListSchema,
    TransferSchema,
    VisitDecisionSchema,
    VisitSchema,
)
from shared.contracts.referrals import ReferralSchema, ReferralTakenSchema
from shared.dead_letters import DeadLetterRpc
from shared.errors import ApiError, answering, not_found, validated
from shared.event_handler import event_handler
from shared.events import Event, today_shanghai
from shared.heartbeat import Heartbeat
from shared.lease import leased_timer
from shared.providers import (
    Correlation,
    OutboxRelayRunner,
    SettingsProvider,
    Store,
    VaultProvider,
)
from shared.rpc import rpc

log = logging.getLogger(__name__)

# The scheduler wakes often enough to open a campaign early on its day; the work is idempotent.
SCHEDULE_SECONDS = 600


def county_in_scope(staff: StaffPrincipal, county: str | None) -> None:
    """Asking for a county outside one's own is refused (403), not silently emptied."""
    if county and not (staff.can_see(county) or orgs.county_of(staff.org) == county):
        raise ApiError(403, "forbidden", f"county {county} is outside your org unit")


class DossiersService(Heartbeat, DeadLetterRpc):
    name = SERVICE

    store: DossierStore = Store(DossierStore)
    outbox_relay = OutboxRelayRunner("dossiers")
    settings = SettingsProvider()
    vault = VaultProvider()
    correlation_id = Correlation()

    @rpc
    def ping(self) -> str:
        return "ok"

    # ---- intake and confirmation ---------------------------------------------------------------

    @rpc
    @answering
    def submit(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.casework")
        data = validated(DossierRequestSchema(), request)
        if not staff.can_see(data["org"]):
            raise ApiError(403, "forbidden", "org is outside your org unit")
        stated = self._business_date(staff, data, "intake_date")
        return intake.submit(
            self.store,
            self.settings.policy_dir,
            self.vault,
            staff,
            data,
            stated,
            today_shanghai(),
        )

    @rpc
    @answering
    def preview(self, principal: str, request: dict) -> dict:
        """What intake would propose for this household; nothing is stored or audited."""
        staff = authorized(principal, "dossiers.casework")
        data = validated(DossierRequestSchema(), request)
        if not staff.can_see(data["org"]):
            raise ApiError(403, "forbidden", "org is outside your org unit")
        stated = self._business_date(staff, data, "intake_date")
        return intake.preview(self.settings.policy_dir, data, stated)

    @rpc
    @answering
    def confirm(self, principal: str, dossier_id: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.casework")
        data = validated(ConfirmSchema(), request)
        return intake.confirm(
            self.store,
            self.settings.policy_dir,
            staff,
            dossier_id,
            data["tier"],
            today_shanghai(),
            self.correlation_id,
        )

    # ---- reads ------------------------------------------------------------------------------------

    @rpc
    @answering
    def get_dossier(self, principal: str, dossier_id: str, reveal: bool = False) -> dict:
        staff = authorized(principal, "dossiers.reveal_ids" if reveal else "dossiers.read")
        dossier = visible(self.store, self.settings.policy_dir, staff, dossier_id, today_shanghai())
        if reveal:
            return views.reveal(self.store, self.vault, staff, dossier)
        return views.dossier_view(self.vault, dossier)

    @rpc
    @answering
    def list_dossiers(
        self,
        principal: str,
        *,
        county: str | None = None,
        status: str | None = None,
        tier: str | None = None,
        limit: int = LIST_LIMIT,
        offset: int = 0,
    ) -> dict:
        staff = authorized(principal, "dossiers.read")
        filters = self._filters(staff, county, status, tier)
        page = validated(DossierListQuerySchema(), {"limit": limit, "offset": offset})
        return views.list_dossiers(
            self.store, self.vault, staff, filters, page["limit"], page["offset"]
        )

    @rpc
    @answering
    def stats(self, principal: str) -> dict:
        staff = authorized(principal, "dossiers.figures")
        return DossierStatsSchema().dump(views.open_household_figures(self.store, staff))

    @rpc
    @answering
    def export(
        self,
        principal: str,
        *,
        county: str | None = None,
        status: str | None = None,
        tier: str | None = None,
    ) -> dict:
        staff = authorized(principal, "dossiers.export")
        filters = self._filters(staff, county, status, tier)
        return views.export(self.store, staff, filters)

    @staticmethod
    def _filters(staff: StaffPrincipal, county, status, tier) -> dict:
        filters = validated(
            DossierFilterSchema(), {"county": county, "status": status, "tier": tier}
        )
        county_in_scope(staff, filters["county"])
        return filters

    # ---- visits, exit, transfer ------------------------------------------------------------------

    @rpc
    @answering
    def record_visit(self, principal: str, dossier_id: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.casework")
        data = validated(VisitSchema(), request)
        return visits.record_visit(
            self.store,
            self.settings.policy_dir,
            self.vault,
            staff,
            dossier_id,
            data,
            today_shanghai(),
        )

    @rpc
    @answering
    def confirm_visit(self, principal: str, dossier_id: str, visit_id: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.casework")
        data = validated(VisitDecisionSchema(), request)
        return visits.confirm_visit(
            self.store,
            self.settings.policy_dir,
            staff,
            dossier_id,
            visit_id,
            data["accept"],
            today_shanghai(),
            self.correlation_id,
        )

    @rpc
    @answering
    def exit_dossier(self, principal: str, dossier_id: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.casework")
        data = validated(ExitSchema(), request)
        stated = self._business_date(staff, data, "exited_on")
        return moves.exit_dossier(
            self.store,
            self.settings.policy_dir,
            staff,
            dossier_id,
            data["reason"],
            stated,
            today_shanghai(),
            self.correlation_id,
        )

    @rpc
    @answering
    def transfer(self, principal: str, dossier_id: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.casework")
        data = validated(TransferSchema(), request)
        stated = self._business_date(staff, data, "transferred_on")
        return moves.transfer(
            self.store,
            self.settings.policy_dir,
            staff,
            dossier_id,
            data["county"],
            data["org"],
            stated,
            today_shanghai(),
            self.correlation_id,
        )

    # ---- funds and grants ----------------------------------------------------------------------------

    @rpc
    @answering
    def set_fund(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.set_budget")
        data = validated(FundRequestSchema(), request)
        fund = grants.set_fund(self.store, staff, data["fund"], data["year"], data["budget"])
        return FundSchema().dump(fund)

    @rpc
    @answering
    def get_fund(self, principal: str, fund: str, year: int) -> dict:
        authorized(principal, "dossiers.read")
        doc = self.store.fund(fund, year)
        if doc is None:
            raise not_found("fund")
        return FundSchema().dump(views.fund_view(doc))

    @rpc
    @answering
    def grant(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.grant")
        data = validated(GrantRequestSchema(), request)
        stated = self._business_date(staff, data, "granted_on")
        result = grants.grant(
            self.store,
            self.settings.policy_dir,
            staff,
            data,
            stated,
            today_shanghai(),
            self.correlation_id,
        )
        return GrantResultSchema().dump(result)

    @event_handler("mutual_aid", "claim_paid")
    def on_claim_paid(self, event: Event) -> None:
        """Mutual aid paid a member: if they head an open dossier, it goes on the household's
        ledger, once (the ledger key is the claim)."""
        recorded = grants.record_mutual_aid_grant(self.store, event.payload, event.correlation_id)
        if recorded is not None:
            log.info(
                "mutual aid grant recorded",
                extra={"claim_id": event.payload["claim_id"], "new": recorded},
            )

    @event_handler("student_aid", "award_disbursed")
    def on_award_disbursed(self, event: Event) -> None:
        """Student aid paid a child's award: if the parent heads an open dossier, an education
        grant goes on the household's ledger, once (the ledger key is the award)."""
        recorded = grants.record_student_aid_grant(self.store, event.payload, event.correlation_id)
        if recorded is not None:
            log.info(
                "student aid grant recorded",
                extra={"application_id": event.payload["application_id"], "new": recorded},
            )

    @rpc
    @answering
    def condolence_batch(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.condolence")
        data = validated(CondolenceBatchRequestSchema(), request)
        year = int(data["festival"][:4])
        result = condolence.run_condolence_batch(
            self.store,
            policy_on(self.settings.policy_dir, date(year, 1, 1)),
            festival=data["festival"],
            fund=data["fund"],
            scope=condolence.Scope(staff.org),
            actor=staff.to_claims(),
            paid_on=today_shanghai(),
            correlation_id=self.correlation_id,
        )
        audit(
            self.store, staff, "grant", result["batch_id"], staff.org, {"condolence_batch": result}
        )
        return CondolenceBatchSchema().dump(result)

    @rpc
    @answering
    def condolence_batch_progress(self, principal: str, festival: str) -> dict:
        """The caller's scope's batch of ``festival``: polled while a run pays, read after."""
        staff = authorized(principal, "dossiers.condolence")
        data = validated(CondolenceBatchKeySchema(), {"festival": festival})
        found = condolence.batch_progress(self.store, data["festival"], condolence.Scope(staff.org))
        return CondolenceBatchSchema().dump(found)

    # ---- verification campaigns ----------------------------------------------------------------------------

    @rpc
    @answering
    def open_campaign(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.campaign")
        opened_on = validated(CampaignRequestSchema(), request)["opened_on"]
        policy = policy_on(self.settings.policy_dir, opened_on)
        campaign, created = campaigns.open_campaign(self.store, policy, opened_on, staff.sub)
        return {**campaigns.campaign_view(campaign), "created": created}

    @rpc
    @answering
    def get_campaign(self, principal: str, campaign_id_: str) -> dict:
        authorized(principal, "dossiers.read")
        return campaigns.campaign_view(campaigns.find_campaign(self.store, campaign_id_))

    @rpc
    @answering
    def close_campaign(self, principal: str, campaign_id_: str) -> dict:
        authorized(principal, "dossiers.campaign")
        closed = campaigns.close_by_staff(self.store, campaign_id_, self.correlation_id)
        return closed

    @rpc
    @answering
    def overdue(self, principal: str, campaign_id_: str, county: str | None = None) -> dict:
        staff = authorized(principal, "dossiers.read")
        campaigns.find_campaign(self.store, campaign_id_)
        county_in_scope(staff, county)
        return views.overdue(self.store, staff, campaign_id_, county)

    @leased_timer(interval=SCHEDULE_SECONDS)
    def scheduled(self) -> None:
        """Open, resume and close campaigns, expire unconfirmed proposals, purge old closed
        dossiers (application/schedule.py): safe on several replicas at once."""
        run_schedule(self.store, self.settings.policy_dir, today_shanghai(), self.correlation_id)

    # ---- audit ----------------------------------------------------------------------------

    @rpc
    @answering
    def audit_log(
        self,
        principal: str,
        *,
        action: str | None = None,
        target: str | None = None,
        limit: int = 100,
        actor: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> dict:
        staff = authorized(principal, "dossiers.audit_log")
        filters = validated(
            AuditFilterSchema(),
            {
                "action": action,
                "target": target,
                "limit": limit,
                "actor": actor,
                "date_from": date_from,
                "date_to": date_to,
            },
        )
        return views.audit_log(self.store, staff, filters)

    # ---- 12345 hardship referrals and hires: the county's queues -------------------------------

    @rpc
    @answering
    def take_referral(self, assertion: str, referral: dict) -> dict:
        """A 12345 hardship referral into the county's intake-request queue: ``assertion`` is
        the gateway's word for the city platform it verified. The same ``case_no`` again (or at
        once) answers the same ``referral_id`` with ``created: false`` and no second effect."""
        platform = authorized_partner(assertion, "city_platform")
        data = validated(ReferralSchema(), referral)
        taken = referrals.take_referral(self.store, self.vault, platform, data, today_shanghai())
        return ReferralTakenSchema().dump(taken)

    @rpc
    @answering
    def list_intake_requests(
        self, principal: str, *, county: str | None = None, status: str | None = None
    ) -> dict:
        staff = authorized(principal, "dossiers.intake_requests")
        filters = validated(IntakeRequestFilterSchema(), {"county": county, "status": status})
        county_in_scope(staff, filters["county"])
        found = referrals.list_intake_requests(self.store, staff, filters)
        return IntakeRequestListSchema().dump(found)

    @rpc
    @answering
    def close_intake_request(self, principal: str, request_id: str, request: dict) -> dict:
        staff = authorized(principal, "dossiers.intake_requests")
        data = validated(IntakeRequestCloseSchema(), request)
        closed = referrals.close_intake_request(
            self.store, self.settings.policy_dir, staff, request_id, data, today_shanghai()
        )
        return IntakeRequestSchema().dump(closed)

    @rpc
    @answering
    def list_reevaluation_tasks(
        self, principal: str, *, county: str | None = None, status: str | None = None
    ) -> dict:
        staff = authorized(principal, "dossiers.read")
        filters = validated(ReevaluationTaskFilterSchema(), {"county": county, "status": status})
        county_in_scope(staff, filters["county"])
        return ReevaluationTaskListSchema().dump(hires.list_tasks(self.store, staff.org, filters))

    @event_handler("jobs", "dossier_holder_hired")
    def on_dossier_holder_hired(self, event: Event) -> None:
        """A dossier head hired through jobs: a re-evaluation task when the dossier (open, the
        same head) records unemployment among its causes; otherwise ignored with its reason.
        Once per event id (application/hires.py)."""
        hires.on_holder_hired(self.store, event.event_id, event.payload, today_shanghai())

    def _business_date(self, staff: StaffPrincipal, data: dict, field: str) -> BusinessDate:
        return business_date(
            data[field],
            field,
            staff.role,
            allow_backdated=self.settings.allow_backdated_input,
        )
