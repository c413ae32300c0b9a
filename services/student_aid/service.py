"""The student_aid nameko service (金秋助学): campaigns, applications from staff and the city
portal, and the read model of dossier heads its eligibility rests on."""

from __future__ import annotations

import logging
from datetime import date

from services.student_aid.application import awards, disbursements, figures
from services.student_aid.application.applications import (
    Channel,
    accept_application,
    application_org,
    application_view,
    parent_dossier,
    redecide_on_dossier,
    submit_staff_application,
)
from services.student_aid.application.campaigns import campaign_view, open_campaign, raise_budget
from services.student_aid.domain.policy import SERVICE
from services.student_aid.store import StudentAidStore
from shared import orgs
from shared.auth import authorized, authorized_partner
from shared.business_dates import business_date
from shared.contracts.student_aid import (
    AidApplicationRequestSchema,
    AidApplicationSchema,
    AidApprovalsSchema,
    AidCampaignBudgetSchema,
    AidCampaignRequestSchema,
    AidCampaignSchema,
    AidDisbursementRequestSchema,
    AidDisbursementSchema,
    AidNoticeRequestSchema,
    AidNoticeSchema,
    AidObjectionDecisionRequestSchema,
    AidObjectionRequestSchema,
    AidObjectionSchema,
    AidPublicNoticeSchema,
    AidStatsSchema,
)
from shared.dead_letters import DeadLetterRpc
from shared.errors import answering, not_found, validated
from shared.event_handler import event_handler
from shared.events import Event, today_shanghai
from shared.heartbeat import Heartbeat
from shared.providers import Correlation, OutboxRelayRunner, SettingsProvider, Store
from shared.rpc import rpc

log = logging.getLogger(__name__)


class StudentAidService(Heartbeat, DeadLetterRpc):
    name = SERVICE

    store: StudentAidStore = Store(StudentAidStore)
    # award_disbursed (disbursement, to come) leaves from the applications.
    outbox_relay = OutboxRelayRunner("applications", "campaigns")
    settings = SettingsProvider()
    correlation_id = Correlation()

    @rpc
    def ping(self) -> str:
        return "ok"

    # ---- campaigns -------------------------------------------------------------------------

    @rpc
    @answering
    def open_campaign(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "student_aid.campaign")
        data = validated(AidCampaignRequestSchema(), request)
        campaign = open_campaign(self.store, self.settings.policy_dir, data, staff.sub)
        return AidCampaignSchema().dump(campaign_view(campaign))

    @rpc
    @answering
    def set_budget(self, principal: str, year: int, request: dict) -> dict:
        staff = authorized(principal, "student_aid.campaign")
        data = validated(AidCampaignBudgetSchema(), request)
        campaign = raise_budget(self.store, year, data["budget"], staff.sub)
        if campaign is None:
            raise not_found("campaign")
        if "approvals_run_at" in campaign:
            # The approvals have run: the raise approves the waitlist at once, in order.
            awards.run_approvals(self.store, year, staff.sub)
        return AidCampaignSchema().dump(campaign_view(campaign))

    @rpc
    def get_campaign(self, principal: str, year: int) -> dict:
        authorized(principal, "student_aid.read")
        campaign = self.store.campaign(year)
        if campaign is None:
            raise not_found("campaign")
        return AidCampaignSchema().dump(campaign_view(campaign))

    # ---- applications ----------------------------------------------------------------------

    @rpc
    @answering
    def submit_application(self, principal: str, request: dict) -> dict:
        """An application taken by staff, for a parent in their org subtree."""
        staff = authorized(principal, "student_aid.apply")
        data = validated(AidApplicationRequestSchema(), request)
        application = submit_staff_application(
            self.store,
            self.settings.policy_dir,
            staff,
            data,
            allow_backdated=self.settings.allow_backdated_input,
        )
        return AidApplicationSchema().dump(application_view(application))

    @rpc
    @answering
    def submit_portal_application(self, partner: str, webhook_id: str, request: dict) -> dict:
        """An application from the city portal (e·龙岩): ``partner`` is the gateway's assertion
        of the city platform it verified. The application date is the day we received it,
        unless the platform replays past input (ALLOW_BACKDATED_INPUT)."""
        platform = authorized_partner(partner, "city_platform")
        data = validated(AidApplicationRequestSchema(), request)
        applied_on = today_shanghai()
        if self.settings.allow_backdated_input and data["applied_on"] is not None:
            applied_on = data["applied_on"]
        dossier = parent_dossier(self.store, data["parent_id_number"])
        org = application_org(dossier, data["migrant_hardship_certified_by"], orgs.city_root())
        application = accept_application(
            self.store,
            self.settings.policy_dir,
            data,
            applied_on,
            dossier,
            org,
            Channel(
                kind="city_platform",
                by=platform["code"],
                webhook_id=webhook_id,
            ),
        )
        return AidApplicationSchema().dump(application_view(application))

    @rpc
    def get_application(self, principal: str, application_id: str) -> dict:
        staff = authorized(principal, "student_aid.read")
        application = self.store.application(application_id)
        # Existence must not leak across org units: outside your scope reads as not found.
        if application is None or not staff.can_see(application["org"]):
            raise not_found("application")
        return AidApplicationSchema().dump(application_view(application))

    # ---- approvals, notice, objections -----------------------------------------------------

    @rpc
    @answering
    def run_approvals(self, principal: str, year: int) -> dict:
        staff = authorized(principal, "student_aid.approve")
        return AidApprovalsSchema().dump(awards.run_approvals(self.store, year, staff.sub))

    @rpc
    @answering
    def publish_notice(self, principal: str, year: int, request: dict) -> dict:
        staff = authorized(principal, "student_aid.approve")
        data = validated(AidNoticeRequestSchema(), request)
        published_on = self._business_date(data["published_on"], "published_on", staff.role)
        notice = awards.publish_notice(
            self.store, self.settings.policy_dir, year, published_on, staff.sub
        )
        return AidNoticeSchema().dump(notice)

    @rpc
    def public_notice(self, year: int) -> dict:
        """The notice as the public reads it, without a token: masked entries only."""
        notice = awards.public_notice(self.store, year)
        if notice is None:
            raise not_found("notice")
        return AidPublicNoticeSchema().dump(notice)

    @rpc
    @answering
    def record_objection(self, principal: str, application_id: str, request: dict) -> dict:
        staff = authorized(principal, "student_aid.object")
        data = validated(AidObjectionRequestSchema(), request)
        application = self.store.application(application_id)
        if application is None or not staff.can_see(application["org"]):
            raise not_found("application")
        received_on = self._business_date(data["received_on"], "received_on", staff.role)
        objection = awards.record_objection(
            self.store, application_id, data["note"], received_on, staff.sub
        )
        return AidObjectionSchema().dump(objection)

    @rpc
    @answering
    def decide_objection(
        self, principal: str, application_id: str, objection_id: str, request: dict
    ) -> dict:
        staff = authorized(principal, "student_aid.approve")
        data = validated(AidObjectionDecisionRequestSchema(), request)
        decided = awards.decide_objection(
            self.store, application_id, objection_id, data["upheld"], staff.sub
        )
        if decided is None:
            raise not_found("objection")
        return AidObjectionSchema().dump(decided)

    # ---- disbursement and figures ----------------------------------------------------------

    @rpc
    @answering
    def create_disbursement(self, principal: str, year: int, request: dict) -> dict:
        staff = authorized(principal, "student_aid.disburse")
        data = validated(AidDisbursementRequestSchema(), request)
        disbursed_on = self._business_date(data["disbursed_on"], "disbursed_on", staff.role)
        batch, created = disbursements.disbursement_batch(self.store, year, disbursed_on, staff.sub)
        return {**AidDisbursementSchema().dump(batch), "created": created}

    @rpc
    def disbursement_file(self, principal: str, batch_id: str) -> str:
        staff = authorized(principal, "student_aid.disbursement_file")
        return disbursements.bank_file(self.store, batch_id, staff.sub)

    @rpc
    @answering
    def confirm_disbursement(self, principal: str, batch_id: str) -> dict:
        staff = authorized(principal, "student_aid.disburse")
        batch = disbursements.confirm_disbursement(
            self.store, batch_id, staff.sub, self.correlation_id
        )
        return AidDisbursementSchema().dump(batch)

    @rpc
    def campaign_stats(self, principal: str, year: int) -> dict:
        staff = authorized(principal, "student_aid.figures")
        return AidStatsSchema().dump(figures.campaign_stats(self.store, year, staff.org))

    @rpc
    def audit_log(self, principal: str, year: int) -> dict:
        """Approvals, backdated applications, objections, the batch and its file downloads."""
        authorized(principal, "student_aid.audit_log")
        entries = self.store.audit_entries(f"campaign/{year}")
        return {
            "entries": [
                {"id": e["_id"], **{k: v for k, v in e.items() if k != "_id"}} for e in entries
            ]
        }

    def _business_date(self, stated: date | None, field: str, role: str) -> date:
        return business_date(
            stated, field, role, allow_backdated=self.settings.allow_backdated_input
        ).day

    # ---- dossier read model (eligibility by tier) ------------------------------------------

    @event_handler("dossiers", "dossier_established")
    def on_dossier_established(self, event: Event) -> None:
        self.store.open_dossier_head(event, tier=event.payload["tier"])
        self._late_dossier(event)

    @event_handler("dossiers", "dossier_tier_changed")
    def on_dossier_tier_changed(self, event: Event) -> None:
        self.store.open_dossier_head(event, tier=event.payload["tier"])
        self._late_dossier(event)

    @event_handler("dossiers", "dossier_transferred")
    def on_dossier_transferred(self, event: Event) -> None:
        self.store.open_dossier_head(event)
        self._late_dossier(event)

    @event_handler("dossiers", "dossier_exited")
    def on_dossier_exited(self, event: Event) -> None:
        self.store.close_dossier_head(event)

    def _late_dossier(self, event: Event) -> None:
        # Run whether or not the head's row changed now: a redelivery after a failure here
        # finds the row applied and must still decide the applications again.
        changed = redecide_on_dossier(
            self.store, self.settings.policy_dir, event.payload["head_id_hash"]
        )
        if changed:
            log.info("applications decided again on a late dossier", extra={"changed": changed})
