"""The notifications nameko service: tells workers what happened, on the channels they chose,
at a decent hour, once per channel."""

from __future__ import annotations

from datetime import datetime

from services.notifications.application import contacts
from services.notifications.application.inbox import (
    deliveries_about,
    figures,
    inbox_lookups,
    inbox_messages,
    mark_read,
    own_messages,
)
from services.notifications.application.notices import (
    Outlets,
    notify,
    notify_each,
    release_due,
)
from services.notifications.channels import Channels, Clock, ClockProvider
from services.notifications.domain.policy import SERVICE, NotificationsPolicy
from services.notifications.store import NotificationStore
from shared.auth import authorized, authorized_partner
from shared.contracts.notifications import (
    MESSAGE_ID,
    CityContactsRequestSchema,
    ContactsRequestSchema,
    InboxQuerySchema,
    StatsQuerySchema,
)
from shared.dead_letters import DeadLetterRpc
from shared.errors import not_found, validated
from shared.event_handler import event_handler
from shared.events import Event
from shared.heartbeat import Heartbeat
from shared.identity import WholeMatch
from shared.lease import leased_timer
from shared.policy import policy_in_force
from shared.providers import Correlation, SettingsProvider, Store, VaultProvider
from shared.rpc import rpc

# How often the timer sends what is due (deferred through quiet hours, or waiting to retry).
RELEASE_SECONDS = 1
_MESSAGE_ID = WholeMatch(MESSAGE_ID)


class NotificationsService(Heartbeat, DeadLetterRpc):
    name = "notifications"

    store: NotificationStore = Store(NotificationStore)
    providers = Channels()
    clock: Clock = ClockProvider()
    vault = VaultProvider()
    settings = SettingsProvider()
    correlation_id = Correlation()

    def _outlets(self) -> Outlets:
        policy = policy_in_force(
            self.settings.policy_dir,
            SERVICE,
            self.clock.now().date(),
            NotificationsPolicy.from_document,
        )
        return Outlets(
            providers=self.providers,
            clock=self.clock,
            policy=policy,
            retry_delays_ms=self.settings.event_retry_delays_ms,
            vault=self.vault,
        )

    def _notify(self, event: Event) -> None:
        notify(self.store, self._outlets(), event)

    @rpc
    def ping(self) -> str:
        return "ok"

    # ---- events -------------------------------------------------------------------------

    @event_handler("mutual_aid", "claim_decided")
    def on_claim_decided(self, event: Event) -> None:
        self._notify(event)

    @event_handler("mutual_aid", "claim_paid")
    def on_claim_paid(self, event: Event) -> None:
        self._notify(event)

    @event_handler("dossiers", "dossier_established")
    def on_dossier_established(self, event: Event) -> None:
        # The phone taken at intake, sealed, is bound first: the first message reaches it.
        contacts.bind_from_event(
            self.store,
            self.vault,
            event.payload["head_id_hash"],
            event.payload.get("mobile_encrypted"),
            _occurred(event),
            "dossiers.intake",
        )
        self._notify(event)

    @event_handler("dossiers", "dossier_tier_changed")
    def on_dossier_tier_changed(self, event: Event) -> None:
        self._notify(event)

    @event_handler("dossiers", "verification_overdue")
    def on_verification_overdue(self, event: Event) -> None:
        self._notify(event)

    @event_handler("dossiers", "dossier_exited")
    def on_dossier_exited(self, event: Event) -> None:
        self._notify(event)

    @event_handler("dossiers", "assistance_granted")
    def on_assistance_granted(self, event: Event) -> None:
        self._notify(event)  # a condolence only: other types have no text

    @event_handler("student_aid", "eligibility_decided")
    def on_eligibility_decided(self, event: Event) -> None:
        self._notify(event)

    @event_handler("student_aid", "awards_approved")
    def on_awards_approved(self, event: Event) -> None:
        """One event per approvals run: each award is told as its own ``award_approved``
        notice (exactly once per award, parent and channel, however often it arrives)."""
        notify_each(self.store, self._outlets(), event, "award_approved", "awards")

    @event_handler("student_aid", "award_disbursed")
    def on_award_disbursed(self, event: Event) -> None:
        self._notify(event)

    @event_handler("jobs", "seeker_registered")
    def on_seeker_registered(self, event: Event) -> None:
        """Nothing to tell: the seeker's phone, sealed, becomes their mobile."""
        contacts.bind_from_event(
            self.store,
            self.vault,
            event.payload["id_hash"],
            event.payload.get("mobile_encrypted"),
            _occurred(event),
            "jobs.seeker_registration",
        )

    @event_handler("jobs", "fair_registered")
    def on_fair_registered(self, event: Event) -> None:
        self._notify(event)

    @event_handler("jobs", "intent_recorded")
    def on_intent_recorded(self, event: Event) -> None:
        self._notify(event)

    @event_handler("jobs", "seeker_hired")
    def on_seeker_hired(self, event: Event) -> None:
        self._notify(event)

    @event_handler("jobs", "follow_up_due")
    def on_follow_up_due(self, event: Event) -> None:
        self._notify(event)

    @leased_timer(interval=RELEASE_SECONDS)
    def release(self) -> None:
        """Send what is due: safe on several replicas at once (each row claimed by one)."""
        release_due(self.store, self._outlets())

    # ---- staff --------------------------------------------------------------------------

    @rpc
    def inbox(self, principal: str, id_number: str) -> dict:
        """The worker's messages in the caller's org scope, newest first (404 when none)."""
        staff = authorized(principal, "notifications.inbox")
        return {"messages": inbox_messages(self.store, staff, id_number)}

    @rpc
    def deliveries(self, principal: str, ref: str) -> dict:
        """Deliveries about one business object, in the caller's org scope (else 404)."""
        staff = authorized(principal, "notifications.inbox")
        return {"deliveries": deliveries_about(self.store, staff, ref)}

    @rpc
    def inbox_lookups(self, principal: str, id_number: str) -> dict:
        """The audit log of lookups of one worker's inbox made by staff in the caller's scope."""
        staff = authorized(principal, "notifications.lookup_audit")
        return {"entries": inbox_lookups(self.store, staff, id_number)}

    @rpc
    def set_contacts(self, principal: str, request: dict) -> None:
        staff = authorized(principal, "notifications.contacts")
        data = validated(ContactsRequestSchema(), request)
        contacts.set_by_staff(self.store, self.vault, staff, data, self.clock.now())

    @rpc
    def contacts(self, principal: str, request: dict) -> dict:
        staff = authorized(principal, "notifications.contacts")
        data = validated(InboxQuerySchema(), request)
        return contacts.contacts_of(self.store, staff, data["id_number"])

    @rpc
    def stats(self, principal: str, query: dict) -> dict:
        staff = authorized(principal, "notifications.figures")
        data = validated(StatsQuerySchema(), query)
        return figures(self.store, staff, data["from_"], data["to"])

    # ---- the city portal (a city platform the gateway verified) -------------------------

    @rpc
    def city_contacts(self, partner: str, webhook_id: str, request: dict) -> None:
        platform = authorized_partner(partner, "city_platform")
        data = validated(CityContactsRequestSchema(), request)
        contacts.bind_from_city(
            self.store, self.vault, platform["code"], webhook_id, data, self.clock.now()
        )

    @rpc
    def city_inbox(self, partner: str, request: dict) -> dict:
        platform = authorized_partner(partner, "city_platform")
        data = validated(InboxQuerySchema(), request)
        return {"messages": own_messages(self.store, platform["code"], data["id_number"])}

    @rpc
    def city_read(self, partner: str, message_id: str, request: dict) -> None:
        authorized_partner(partner, "city_platform")
        data = validated(InboxQuerySchema(), request)
        if _MESSAGE_ID.regex.fullmatch(message_id) is None:
            raise not_found("this message in the worker's inbox")
        mark_read(self.store, data["id_number"], message_id, self.clock.now())


def _occurred(event: Event) -> datetime:
    return datetime.fromisoformat(event.occurred_at)
