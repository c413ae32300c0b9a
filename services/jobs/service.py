"""The jobs nameko service (就业超市): employers, vacancies, seekers, fairs, matching both ways
from an in-memory index, intents to hires and follow-ups, 12345 job-seeking referrals, figures,
and the read model of dossier heads the hardship priority rests on."""

from __future__ import annotations

import logging
from datetime import date

from services.jobs.application import figures, hires, referrals, registry
from services.jobs.application.dossier_heads import follow_dossier
from services.jobs.application.matching import seekers_for_vacancy, vacancies_for_seeker
from services.jobs.domain.errors import SeekerIncomplete
from services.jobs.domain.policy import SERVICE, JobsPolicy
from services.jobs.match_index import MatchIndexProvider
from services.jobs.store import JobsStore
from shared.auth import authorized, authorized_partner
from shared.business_dates import business_date
from shared.contracts.jobs import (
    EmployerRequestSchema,
    EmployerSchema,
    FairRegistrationRequestSchema,
    FairRequestSchema,
    FairSchema,
    FollowUpQuerySchema,
    FollowUpRequestSchema,
    FollowUpsSchema,
    HireRequestSchema,
    IntentRequestSchema,
    JobStatsSchema,
    MatchQuerySchema,
    MatchSchema,
    ReferralSchema,
    SeekerCompletionSchema,
    SeekerListQuerySchema,
    SeekerListSchema,
    SeekerRequestSchema,
    SeekerSchema,
    StatsQuerySchema,
    VacancyRequestSchema,
    VacancySchema,
)
from shared.dead_letters import DeadLetterRpc
from shared.errors import answering, validated
from shared.event_handler import event_handler
from shared.events import Event, today_shanghai
from shared.heartbeat import Heartbeat
from shared.lease import leased_timer
from shared.policy import policy_in_force
from shared.providers import Correlation, OutboxRelayRunner, SettingsProvider, Store
from shared.rpc import rpc

log = logging.getLogger(__name__)

FOLLOW_UP_POLL_SECONDS = 60


class JobsService(Heartbeat, DeadLetterRpc):
    name = SERVICE

    store: JobsStore = Store(JobsStore)
    matches = MatchIndexProvider()
    # seeker_registered leaves from the seekers, fair_registered from the registrations, the
    # intent, hire, follow-up and dossier-holder events from the intents.
    outbox_relay = OutboxRelayRunner("seekers", "registrations", "intents")
    settings = SettingsProvider()
    correlation_id = Correlation()

    @rpc
    def ping(self) -> str:
        return "ok"

    def _policy(self) -> JobsPolicy:
        return policy_in_force(
            self.settings.policy_dir, SERVICE, today_shanghai(), JobsPolicy.from_document
        )

    def _business_date(self, stated: date | None, field: str, role: str) -> date:
        return business_date(
            stated, field, role, allow_backdated=self.settings.allow_backdated_input
        ).day

    # ---- employers, vacancies --------------------------------------------------------------

    @rpc
    @answering
    def register_employer(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.register")
        data = validated(EmployerRequestSchema(), request)
        return {"employer_id": registry.register_employer(self.store, staff, data)}

    @rpc
    def get_employer(self, principal: str, employer_id: str) -> dict:
        staff = authorized(principal, "jobs.read")
        employer = registry.visible_employer(self.store, staff, employer_id)
        return EmployerSchema().dump(registry.employer_view(employer))

    @rpc
    @answering
    def post_vacancy(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.register")
        data = validated(VacancyRequestSchema(), request)
        vacancy = registry.post_vacancy(self.store, staff, data, today_shanghai())
        return {
            "vacancy_id": vacancy["_id"],
            "status": vacancy["status"],
            "open_headcount": vacancy["open_headcount"],
        }

    @rpc
    def get_vacancy(self, principal: str, vacancy_id: str) -> dict:
        staff = authorized(principal, "jobs.read")
        vacancy = registry.visible_vacancy(self.store, staff, vacancy_id)
        return VacancySchema().dump(registry.vacancy_view(vacancy))

    # ---- seekers ---------------------------------------------------------------------------

    @rpc
    @answering
    def register_seeker(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.register")
        data = validated(SeekerRequestSchema(), request)
        seeker_id = registry.register_seeker(self.store, staff, data, self.correlation_id)
        return {"seeker_id": seeker_id}

    @rpc
    def get_seeker(self, principal: str, seeker_id: str) -> dict:
        staff = authorized(principal, "jobs.read")
        seeker = registry.visible_seeker(self.store, staff, seeker_id)
        return SeekerSchema().dump(registry.seeker_view(seeker))

    @rpc
    @answering
    def complete_seeker(self, principal: str, seeker_id: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.register")
        data = validated(SeekerCompletionSchema(), request)
        seeker = registry.complete_seeker(self.store, staff, seeker_id, data)
        return SeekerSchema().dump(registry.seeker_view(seeker))

    @rpc
    def list_seekers(self, principal: str, query: dict) -> dict:
        staff = authorized(principal, "jobs.read")
        data = validated(SeekerListQuerySchema(), query)
        rows = registry.list_seekers(self.store, staff, data["status"], data["county"])
        return SeekerListSchema().dump({"seekers": [registry.seeker_view(s) for s in rows]})

    # ---- fairs -----------------------------------------------------------------------------

    @rpc
    @answering
    def open_fair(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.register")
        data = validated(FairRequestSchema(), request)
        return {"fair_id": registry.open_fair(self.store, staff, data)}

    @rpc
    def get_fair(self, principal: str, fair_id: str) -> dict:
        staff = authorized(principal, "jobs.read")
        fair = registry.visible_fair(self.store, staff, fair_id)
        return FairSchema().dump(registry.fair_view(self.store, fair))

    @rpc
    @answering
    def register_at_fair(self, principal: str, fair_id: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.register")
        data = validated(FairRegistrationRequestSchema(), request)
        registration, _ = registry.register_at_fair(
            self.store, staff, fair_id, data, self.correlation_id
        )
        return registration

    # ---- matching --------------------------------------------------------------------------

    @rpc
    @answering
    def seeker_matches(self, principal: str, seeker_id: str, query: dict) -> list:
        staff = authorized(principal, "jobs.match")
        limit = validated(MatchQuerySchema(), query)["limit"]
        seeker = registry.visible_seeker(self.store, staff, seeker_id)
        if seeker["status"] != "active":
            raise SeekerIncomplete("the seeker is incomplete: complete the profile first", None)
        rows = vacancies_for_seeker(self.matches, seeker, today_shanghai(), limit)
        return MatchSchema(many=True).dump(rows)

    @rpc
    @answering
    def vacancy_matches(self, principal: str, vacancy_id: str, query: dict) -> list:
        staff = authorized(principal, "jobs.match")
        limit = validated(MatchQuerySchema(), query)["limit"]
        vacancy = registry.visible_vacancy(self.store, staff, vacancy_id)
        rows = seekers_for_vacancy(self.matches, vacancy, today_shanghai(), limit)
        return MatchSchema(many=True).dump(rows)

    # ---- intents, hires, follow-ups --------------------------------------------------------

    @rpc
    @answering
    def record_intent(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.hire")
        data = validated(IntentRequestSchema(), request)
        agreed_on = self._business_date(data["agreed_on"], "agreed_on", staff.role)
        intent_id = hires.record_intent(self.store, staff, data, agreed_on, self.correlation_id)
        return {"intent_id": intent_id, "status": "intent"}

    @rpc
    @answering
    def hire(self, principal: str, intent_id: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.hire")
        data = validated(HireRequestSchema(), request)
        hired_on = self._business_date(data["hired_on"], "hired_on", staff.role)
        intent = hires.hire(
            self.store,
            self._policy(),
            staff,
            intent_id,
            hired_on,
            today_shanghai(),
            self.correlation_id,
        )
        return {"intent_id": intent["_id"], "status": intent["status"]}

    @rpc
    @answering
    def record_follow_up(self, principal: str, intent_id: str, request: dict) -> dict:
        staff = authorized(principal, "jobs.hire")
        data = validated(FollowUpRequestSchema(), request)
        return hires.record_follow_up(self.store, staff, intent_id, data)

    @rpc
    def follow_ups(self, principal: str, query: dict) -> dict:
        staff = authorized(principal, "jobs.read")
        data = validated(FollowUpQuerySchema(), query)
        tasks = hires.due_follow_ups(
            self.store, self._policy(), staff, data["county"], data["due_before"]
        )
        return FollowUpsSchema().dump({"follow_ups": tasks})

    @leased_timer(interval=FOLLOW_UP_POLL_SECONDS, eager=True)
    def announce_follow_ups(self) -> None:
        sent = hires.announce_due_follow_ups(
            self.store, self._policy(), today_shanghai(), self.correlation_id
        )
        if sent:
            log.info("follow-ups fell due", extra={"count": sent})

    # ---- figures ---------------------------------------------------------------------------

    @rpc
    def stats(self, principal: str, query: dict) -> dict:
        staff = authorized(principal, "jobs.figures")
        data = validated(StatsQuerySchema(), query)
        return JobStatsSchema().dump(figures.stats(self.store, staff, data["from_"], data["to"]))

    # ---- 12345 referrals -------------------------------------------------------------------

    @rpc
    @answering
    def take_referral(self, partner: str, referral: dict) -> dict:
        """A job-seeking referral of the 12345 hotline, as the gateway validated it
        (ReferralSchema): ``partner`` is its assertion of the city platform it verified."""
        platform = authorized_partner(partner, "city_platform")
        data = validated(ReferralSchema(), referral)
        referral_id, created = referrals.take_referral(
            self.store, platform["code"], data, self.correlation_id
        )
        return {"referral_id": referral_id, "created": created}

    # ---- dossier read model (hardship priority) --------------------------------------------

    @event_handler("dossiers", "dossier_established")
    def on_dossier_established(self, event: Event) -> None:
        self.store.open_dossier_head(event, tier=event.payload["tier"])
        follow_dossier(self.store, event.payload["head_id_hash"])

    @event_handler("dossiers", "dossier_tier_changed")
    def on_dossier_tier_changed(self, event: Event) -> None:
        self.store.open_dossier_head(event, tier=event.payload["tier"])
        follow_dossier(self.store, event.payload["head_id_hash"])

    @event_handler("dossiers", "dossier_transferred")
    def on_dossier_transferred(self, event: Event) -> None:
        self.store.open_dossier_head(event)
        follow_dossier(self.store, event.payload["head_id_hash"])

    @event_handler("dossiers", "dossier_exited")
    def on_dossier_exited(self, event: Event) -> None:
        self.store.close_dossier_head(event)
        follow_dossier(self.store, event.payload["head_id_hash"])
